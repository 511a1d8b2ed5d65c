"""Finding the files to ingest: walk folders, skip hidden and unsupported files, apply size limits.

Nothing here raises for one bad path: a symlink loop, a dangling link, a FIFO or device file, a folder
that cannot be listed, a file that vanishes between the walk and the read — each becomes a
``(path, reason)`` item (the pipeline lists it in ``skipped``) and the walk goes on.
"""
from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import IngestError, LoaderError
from .loaders import supported, unsupported_reason


@dataclass(frozen=True)
class Candidate:
    path: Path  # absolute, resolved
    source: str  # as the user named it (relative to what they typed)
    root: Path  # the folder or file given on the command line


def reason(exc: BaseException) -> str:
    """A short reason, for people, why a path could not be used."""
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "symlink loop"
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory (it vanished, or is a dangling symlink)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, NotADirectoryError):
        return "not a directory"
    return f"cannot read: {getattr(exc, 'strerror', None) or exc}"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _given(raw: str) -> tuple[Path, Path, int] | str:
    """A path given on the command line: ``(as given, resolved, st_mode)``, or why it cannot be used."""
    p = Path(raw).expanduser()
    try:
        mode = p.stat().st_mode
        root = p.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        return "no such file or directory" if isinstance(exc, FileNotFoundError) and not p.is_symlink() \
            else reason(exc)
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return f"{_kind(mode)}, not a file to read"
    return p, root, mode


def walk(paths: list[str | os.PathLike[str]]) -> Iterator[Candidate | tuple[str, str]]:
    """Yield candidates, or ``(path, reason)`` for a path that cannot be used."""
    for given in paths:
        raw = os.fspath(given)
        found = _given(raw)
        if isinstance(found, str):
            yield raw, found
            continue
        p, root, mode = found
        if stat.S_ISREG(mode):
            yield Candidate(root, raw, root)
        else:
            yield from _walk_folder(p, root)


def check_ingestible(paths: list[str | os.PathLike[str]]) -> None:
    """``IngestError`` naming each path and its reason when not one of ``paths`` can be ingested: missing, a
    dangling symlink or a loop, a FIFO or device, or a file of a type no loader reads. A folder counts (the
    walk finds its files). ``localkb ingest`` asks this before it creates a NEW KB, so a run that could
    only skip everything creates nothing (and fixes no model)."""
    check_paths(paths)
    problems = []
    for given in paths:
        raw = os.fspath(given)
        found = _given(raw)
        if not isinstance(found, str):
            _, root, mode = found
            if stat.S_ISDIR(mode) or supported(root):
                return
            found = unsupported_reason(root)
        problems.append(f"{raw}: {found}")
    raise IngestError(f"Nothing to ingest: {'; '.join(problems)}")


def _walk_folder(p: Path, root: Path) -> Iterator[Candidate | tuple[str, str]]:
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(p, onerror=errors.append):
        while errors:
            err = errors.pop(0)
            yield os.path.normpath(str(err.filename or dirpath)), reason(err)
        keep = []
        for d in sorted(dirnames):
            if d.startswith(".") or d == "__pycache__":
                continue
            if os.path.islink(os.path.join(dirpath, d)):  # os.walk does not follow them: say so
                yield (os.path.normpath(os.path.join(dirpath, d)),
                       "symbolic link to a folder, not followed (ingest its target directly)")
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            fp = Path(dirpath) / name
            if not supported(fp):
                continue
            try:
                resolved = fp.resolve(strict=True)
            except (OSError, RuntimeError) as exc:
                yield os.path.normpath(str(fp)), reason(exc)
                continue
            yield Candidate(resolved, os.path.normpath(str(fp)), root)
    while errors:
        err = errors.pop(0)
        yield os.path.normpath(str(err.filename or p)), reason(err)


def read_file(path: Path, max_bytes: int) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file and its ``stat`` (taken on the open file, so they agree).

    Raises:
        LoaderError: the file is too large, not a regular file (FIFO, device), vanished, or unreadable.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, RuntimeError) as exc:
        raise LoaderError(reason(exc)) from exc
    with os.fdopen(fd, "rb") as fh:
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise LoaderError("is a directory")
            if not stat.S_ISREG(st.st_mode):
                raise LoaderError(f"{_kind(st.st_mode)}, not a file to read")
            if st.st_size > max_bytes:
                raise LoaderError(f"file too large ({st.st_size / 1e6:.1f} MB > limit {max_bytes / 1e6:.0f} MB; "
                                  "raise it with --max-file-mb)")
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise LoaderError(reason(exc)) from exc
    if len(data) > max_bytes:
        raise LoaderError(f"file too large (grew past the limit of {max_bytes / 1e6:.0f} MB while being read)")
    return data, st


def check_paths(paths: list[str | os.PathLike[str]]) -> None:
    """``IngestError`` when there is nothing to ingest: no paths, or not one of them exists (a typo).
    Some missing among existing ones are skipped and listed by the walk instead."""
    if not paths:
        raise IngestError("Nothing to ingest: give at least one file or folder.")
    if not any(os.path.lexists(Path(os.fspath(p)).expanduser()) for p in paths):
        missing = ", ".join(os.fspath(p) for p in paths)
        raise IngestError(f"Nothing to ingest: no such file or folder: {missing}")
