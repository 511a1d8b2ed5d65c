"""Where uploads may go and which server-side paths may be ingested.

Uploads are written under ``KB/uploads/`` only: the client's file name is reduced to a plain base name
(no folders, no ``..``, no control, bidi-override or invisible characters, no leading dots), and every file is written to a
temporary name in that folder and renamed into place, so nothing outside it is ever created or
overwritten. Re-uploading a name replaces that upload (and re-ingests it: the document is updated).
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from ..errors import ConfigError
from .errors import AccessDenied, NotFound

MAX_NAME_BYTES = 180
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")
#: Unicode categories never kept in a stored name: controls, format characters (the bidi overrides that
#: make ``invoice\u202efdp.exe`` display as ``invoiceexe.pdf``, zero-width characters, BOM), line and
#: paragraph separators, surrogates, private-use and unassigned code points
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def safe_filename(name: str | None) -> str:
    """A client-supplied file name made safe to use as one path component in the uploads folder.

    ``../../etc/passwd`` → ``passwd``; ``C:\\docs\\a.txt`` → ``a.txt``; ``.bashrc`` → ``bashrc``.

    Raises:
        ConfigError: nothing usable is left of the name.
    """
    raw = unicodedata.normalize("NFC", name or "")
    base = re.split(r"[/\\]", raw)[-1]
    base = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in base
                   if unicodedata.category(ch) not in _INVISIBLE)
    base = _UNSAFE.sub("", base).strip().lstrip(".").strip()
    if not base or base in (".", ".."):
        raise ConfigError(f"Unusable upload file name {name!r}.")
    stem, ext = os.path.splitext(base)
    while len(base.encode("utf-8")) > MAX_NAME_BYTES and stem:
        stem = stem[:-1]
        base = stem + ext
    return base


def unique_names(names: Sequence[str | None]) -> list[str]:
    """Sanitise every name; two files with the same name in one request get ``-2``, ``-3``… suffixes."""
    out: list[str] = []
    for name in names:
        base = safe_filename(name)
        candidate, n = base, 2
        while candidate in out:
            stem, ext = os.path.splitext(base)
            candidate, n = f"{stem}-{n}{ext}", n + 1
        out.append(candidate)
    return out


def save_upload(folder: Path, name: str, data: BinaryIO) -> tuple[Path, bool]:
    """Copy ``data`` to ``folder/name`` atomically. Returns (path, existed before)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    root = folder.resolve()
    if target.parent.resolve() != root or name != target.name:  # belt and braces after safe_filename
        raise AccessDenied(f"Refusing to write {name!r} outside {folder}.")
    existed = target.exists()
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(data, out, 1 << 20)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; an upload is an ordinary file
        os.replace(tmp, target)  # replaces a symlink itself, never what it points to
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target.resolve(), existed


def check_server_path(raw: str, roots: Sequence[Path]) -> str:
    """A server-side path is ingestible only if it exists and resolves inside one of ``roots``.

    Raises:
        AccessDenied: no roots configured, or the path is outside all of them.
        NotFound: the path does not exist.
    """
    if not roots:
        raise AccessDenied("Ingest by server-side path is off: start the server with --root DIR "
                           "to allow folders under DIR.")
    if not raw or "\x00" in raw:
        raise ConfigError("Empty or invalid path.")
    try:
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = roots[0] / path  # relative paths are relative to the first root
        resolved = path.resolve()
        inside = _inside(resolved, roots)
        exists = inside and resolved.exists()
    except (OSError, RuntimeError, ValueError) as exc:  # name too long, symlink loop, bad ~user
        raise ConfigError(f"Unusable path {raw[:200]!r}: {getattr(exc, 'strerror', None) or exc}.") from exc
    if not inside:
        raise AccessDenied(f"{raw} is outside the folders this server may read "
                           f"({', '.join(str(r) for r in roots)}).")
    if not exists:
        raise NotFound(f"No such file or folder: {raw}")
    if resolved.is_dir():
        _refuse_escaping_links(resolved, roots)
    return str(resolved)


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root.resolve() or root.resolve() in path.parents for root in roots)


def _refuse_escaping_links(folder: Path, roots: Sequence[Path]) -> None:
    """Ingesting a folder follows symlinked files: refuse a folder holding a link that leads outside."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in (*dirnames, *filenames):
            entry = Path(dirpath) / name
            if not entry.is_symlink():
                continue
            try:
                target = entry.resolve()
            except (OSError, RuntimeError):  # a loop or an unreadable link: the ingest reports it as skipped
                continue
            if not _inside(target, roots):
                raise AccessDenied(f"{entry} is a link to a place outside the folders this server may read; "
                                   "remove it or ingest the folder's other files by name.")
