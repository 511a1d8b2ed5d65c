"""Files on disk: writes that are atomic, and the size of a folder.

An atomic write leaves either the old version or the new one, never half a file: it writes a temporary
file beside the target, flushes it to disk, then ``os.replace``s it over the target (atomic on POSIX and
Windows). Every small state file of a KB (manifest, index pointers, migration and tune state,
registries) is written this way, so a crash or a kill at any moment leaves a readable file.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


def _temporary(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically (the folder must exist)."""
    target = Path(path)
    tmp = _temporary(target)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` by ``text`` (UTF-8) atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], data: Any, **dumps: Any) -> None:
    """Replace ``path`` by ``data`` as JSON (UTF-8, non-ASCII kept) atomically; ``dumps`` go to ``json.dumps``."""
    write_text(path, json.dumps(data, ensure_ascii=False, **dumps))


def folder_bytes(path: str | os.PathLike[str] | None) -> int:
    """Total size of the files under ``path`` (0 for None); symlinks are followed (HF cache blobs)."""
    if path is None:
        return 0
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
