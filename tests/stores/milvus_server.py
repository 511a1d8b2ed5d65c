"""Start a real Milvus Lite server process (its standalone gRPC server mode) on 127.0.0.1 for tests.

``milvus-lite server`` binds 0.0.0.0 by default: we always pass ``--host 127.0.0.1``.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ..procs import free_port, stop_process

HERE = Path(__file__).resolve().parent


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Milvus Lite server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"Milvus Lite server did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


@contextlib.contextmanager
def milvus_lite_server(data_dir: Path, *, token: str | None = None) -> Iterator[int]:
    """Run a Milvus Lite server on 127.0.0.1; yields its port. With ``token``, run ``auth_server.py``
    instead: the same servicer behind an interceptor that checks the token as a secured Milvus does."""
    port = free_port()
    if token is None:
        cmd = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir),
               "--host", "127.0.0.1", "--port", str(port), "--max-workers", "4"]
    else:
        cmd = [sys.executable, str(HERE / "auth_server.py"), str(data_dir), str(port), token]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        wait_for_port(port, proc)
        yield port
    finally:
        stop_process(proc)
