"""One writer at a time per KB folder: an advisory ``fcntl`` lock on ``KB/.lock``."""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from .errors import KBLocked


class WriteLock:
    def __init__(self, kb_dir: Path) -> None:
        self.path = kb_dir / ".lock"
        self._fd: int | None = None

    def acquire(self, timeout: float = 30.0) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise KBLocked(f"Another localkb process is writing to {self.path.parent}; try again later.") from exc
                time.sleep(0.1)

    def try_acquire(self) -> bool:
        try:
            self.acquire(timeout=0)
            return True
        except KBLocked:
            return False

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
