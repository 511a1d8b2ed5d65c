"""One writer at a time per KB folder: an OS file lock on ``KB/.lock`` (the ``filelock`` library).

``filelock`` uses ``fcntl.flock`` on POSIX and ``msvcrt.locking`` on Windows; the OS drops the lock when
the holder dies (even by SIGKILL), so a crashed writer never leaves the KB locked. The lock file itself is
kept: deleting it on release would let a third process lock a new inode while a second one waits on the
old one. A "soft" lock (a file whose mere existence means locked) is refused for the same reason: it
would outlive a killed writer.
"""
from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from .errors import KBError, KBLocked

LOCK_FILE = ".lock"


class WriteLock:
    """The KB's write lock. Not reentrant across instances: each instance is one claim on the folder."""

    def __init__(self, kb_dir: Path) -> None:
        self.path = Path(kb_dir) / LOCK_FILE
        self._lock = FileLock(self.path, thread_local=False, fallback_to_soft=False, preserve_lock_file=True)

    @property
    def held(self) -> bool:
        return bool(self._lock.is_locked)

    def acquire(self, timeout: float = 30.0) -> None:
        """Wait up to ``timeout`` seconds for the lock.

        Raises:
            KBLocked: another process (or another claim in this one) holds it.
            KBError: the lock file cannot be created or opened (a read-only folder).
        """
        try:
            self._lock.acquire(timeout=max(0.0, timeout), poll_interval=0.05)
        except Timeout as exc:
            raise KBLocked(f"Another localkb process is writing to {self.path.parent}; try again later.") from exc
        except OSError as exc:
            raise KBError(f"Cannot take the write lock {self.path}: {exc.strerror or exc}") from exc

    def try_acquire(self) -> bool:
        """Take the lock if it is free right now; False if it is held or cannot be taken (read-only KB)."""
        try:
            self.acquire(timeout=0)
            return True
        except KBError:
            return False

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
