"""Finding the files to ingest: walk folders, skip hidden and unsupported files, apply size limits."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import IngestError
from .loaders import supported


@dataclass(frozen=True)
class Candidate:
    path: Path  # absolute, resolved
    source: str  # as the user named it (relative to what they typed)
    root: Path  # the folder or file given on the command line


def walk(paths: list[str | os.PathLike[str]]) -> Iterator[Candidate | tuple[str, str]]:
    """Yield candidates, or ``(path, error)`` for a named path that cannot be used."""
    for given in paths:
        raw = os.fspath(given)
        p = Path(raw).expanduser()
        if not p.exists():
            yield raw, "no such file or directory"
            continue
        root = p.resolve()
        if p.is_file():
            yield Candidate(root, raw, root)
            continue
        for dirpath, dirnames, filenames in os.walk(p):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                fp = Path(dirpath) / name
                if not supported(fp):
                    continue
                yield Candidate(fp.resolve(), os.path.normpath(str(fp)), root)


def read_bytes(path: Path, max_bytes: int) -> bytes:
    from ..errors import LoaderError

    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoaderError(f"file too large ({size / 1e6:.1f} MB > limit {max_bytes / 1e6:.0f} MB; "
                              "raise it with --max-file-mb)")
        with open(path, "rb") as fh:
            return fh.read()
    except PermissionError as exc:
        raise LoaderError("permission denied") from exc
    except IsADirectoryError as exc:
        raise LoaderError("is a directory") from exc
    except OSError as exc:
        raise LoaderError(f"cannot read file: {exc.strerror or exc}") from exc


def check_paths(paths: list[str | os.PathLike[str]]) -> None:
    if not paths:
        raise IngestError("Nothing to ingest: give at least one file or folder.")
