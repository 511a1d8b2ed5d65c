"""Ingest jobs: one worker thread runs them in order; each job reports its progress while it runs.

A job is created by an upload or a path request and answered at once with its id (``202``); the page
polls ``GET /api/jobs/{id}``. Searches keep being answered while a job runs (see ``state``).
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LocalKBError

if TYPE_CHECKING:
    from ..kb import KnowledgeBase

log = logging.getLogger("localkb.server")
KEEP_FINISHED = 200


@dataclass
class Job:
    """One ingest run. ``status``: queued → running → done | failed."""

    id: str
    kind: str
    paths: list[str]
    tags: list[str] = field(default_factory=list)
    prune: bool = True
    status: str = "queued"
    phase: str = "queued"
    files_done: int = 0
    files_total: int = 0
    embedded: int = 0
    report: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    #: uploaded files to delete again if ingestion skipped them (they were new and never entered the KB)
    discard_if_skipped: dict[str, Path] = field(default_factory=dict)
    done_event: threading.Event = field(default_factory=threading.Event, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "status": self.status, "phase": self.phase,
                "files_done": self.files_done, "files_total": self.files_total, "embedded": self.embedded,
                "paths": self.paths, "tags": self.tags, "report": self.report, "error": self.error,
                "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at}


class JobRunner:
    """Runs ingest jobs one at a time on a daemon thread (ingests are serialised anyway by the KB's
    write lock; a queue makes the order explicit and the progress readable)."""

    def __init__(self, kb: KnowledgeBase, on_thread: Callable[[threading.Thread], None] | None = None) -> None:
        self.kb = kb
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._thread = threading.Thread(target=self._work, name="localkb-ingest", daemon=True)
        if on_thread is not None:
            on_thread(self._thread)
        self._thread.start()

    def submit(self, kind: str, paths: list[str], *, tags: list[str], prune: bool,
               discard_if_skipped: dict[str, Path] | None = None) -> Job:
        with self._lock:
            job = Job(id=f"{next(self._ids)}-{uuid.uuid4().hex[:8]}", kind=kind, paths=paths,
                      tags=tags, prune=prune, discard_if_skipped=discard_if_skipped or {})
            self._jobs[job.id] = job
            self._trim()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            return list(reversed(self._jobs.values()))

    def busy(self) -> bool:
        with self._lock:
            return any(j.status in ("queued", "running") for j in self._jobs.values())

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _trim(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status in ("done", "failed")]
        for key in finished[:max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[key]

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            self._run(job)

    def _run(self, job: Job) -> None:
        job.status, job.phase, job.started_at = "running", "reading", time.time()

        def progress(phase: str, n: int, total: int) -> None:
            if phase == "read":
                job.phase, job.files_done, job.files_total = "reading", n, total
            elif phase == "embed":
                job.phase = "embedding"
                job.embedded += n

        try:
            report = self.kb.ingest(job.paths, tags=job.tags, prune=job.prune, progress=progress)
            skipped = {s.path for s in report.skipped}
            for source, path in job.discard_if_skipped.items():
                if source in skipped:
                    path.unlink(missing_ok=True)
            job.report = report.to_dict()
            job.status = "done"
        except LocalKBError as exc:
            job.error, job.status = exc.to_dict(), "failed"
        except Exception as exc:  # a job must end with a status, never kill the worker
            log.exception("ingest job %s failed", job.id)
            job.error, job.status = {"error": type(exc).__name__, "message": str(exc)}, "failed"
        finally:
            if job.status == "failed":  # drop new uploads that did not make it into the KB
                for path in job.discard_if_skipped.values():
                    if not self.kb.has_document(path):
                        path.unlink(missing_ok=True)
            job.phase, job.finished_at = job.status, time.time()
            if job.files_total and job.status == "done":
                job.files_done = job.files_total
            job.done_event.set()
