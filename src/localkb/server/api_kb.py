"""What the KB holds and how things get in: stats, documents, chunks, uploads, server-side paths, jobs."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..errors import ConfigError
from .context import ctx
from .errors import NotFound
from .jobs import Job
from .uploads import check_server_path, save_upload, unique_names

router = APIRouter(prefix="/api", tags=["knowledge base"])
WAIT_LIMIT_S = 600.0


@router.get("/health", summary="Liveness check")
def health() -> dict[str, Any]:
    return {"ok": True, "version": __version__}


@router.get("/stats", summary="Model, store, counts and size of the KB, and what this server can do")
def stats(request: Request) -> dict[str, Any]:
    c = ctx(request)
    from ..search import engine

    out = c.kb.stats()
    out["server"] = {
        "version": __version__,
        "search_modes": list(getattr(engine, "MODES", ("dense",))),
        "llm": c.llm.label(),
        "databases": sorted(c.settings.databases),
        "ingest_roots": [str(r) for r in c.settings.upload_roots],
        "max_upload_mb": c.settings.max_upload_mb,
        "ingest_running": c.jobs.busy(),
    }
    return out


@router.get("/documents", summary="List documents, a page at a time")
def documents(request: Request, offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    kb = ctx(request).kb
    return {"total": kb.document_count(), "offset": offset, "limit": limit,
            "documents": kb.documents(offset=offset, limit=limit)}


def _document(request: Request, doc_id: int) -> dict[str, Any]:
    doc = ctx(request).kb.document(doc_id)
    if doc is None:
        raise NotFound(f"No document with id {doc_id}.", doc_id=doc_id)
    return doc


#: a document id: any integer SQLite can hold (a larger one is a 422, not a crash in the driver)
DocId = Annotated[int, PathParam(ge=-(2**63), le=2**63 - 1, description="The document's id")]


@router.get("/documents/{doc_id}", summary="One document and its chunks, in order")
def document(request: Request, doc_id: DocId) -> dict[str, Any]:
    doc = _document(request, doc_id)
    return {**doc, "chunk_list": ctx(request).kb.document_chunks(doc_id)}


@router.get("/documents/{doc_id}/chunks", summary="A document's chunks, in order")
def document_chunks(request: Request, doc_id: DocId) -> dict[str, Any]:
    _document(request, doc_id)
    return {"doc_id": doc_id, "chunks": ctx(request).kb.document_chunks(doc_id)}


@router.delete("/documents/{doc_id}", summary="Remove a document, its chunks and vectors (and its upload)")
def delete_document(request: Request, doc_id: DocId) -> dict[str, Any]:
    c = ctx(request)
    doc = _document(request, doc_id)
    if not c.kb.delete_document(doc_id):
        raise NotFound(f"No document with id {doc_id}.", doc_id=doc_id)
    path = Path(doc["path"])
    uploads = c.settings.uploads_dir.resolve()
    if path.parent == uploads:  # our own copy of an upload: remove it too, nothing else is touched
        path.unlink(missing_ok=True)
    return {"deleted": True, "id": doc_id, "source": doc["source"]}


@router.get("/chunks/{chunk_id}", summary="One chunk: text, embedded text, sources, tags")
def chunk(request: Request, chunk_id: str) -> dict[str, Any]:
    rec = ctx(request).kb.get_chunk(chunk_id)
    if rec is None:
        raise NotFound(f"No chunk with id {chunk_id}.", chunk_id=chunk_id)
    return rec


def _answer_job(request: Request, response: Response, job: Job, wait: bool) -> dict[str, Any]:
    if wait:
        job.done_event.wait(WAIT_LIMIT_S)
    response.status_code = 200 if job.done_event.is_set() else 202
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return job.to_dict()


@router.post("/ingest/upload", summary="Upload files (multipart, field 'files') and ingest them",
             status_code=202)
def ingest_upload(request: Request, response: Response,
                  files: Annotated[list[UploadFile], File(description="One or more files")],
                  tags: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI reads the default
                  wait: Annotated[bool, Query(description="Answer when the ingest has finished")] = False,
                  ) -> dict[str, Any]:
    c = ctx(request)
    if not files:
        raise ConfigError("No files in the upload (use the multipart field 'files').")
    names = unique_names([f.filename for f in files])
    folder = c.settings.uploads_dir
    paths: list[str] = []
    new: dict[str, Path] = {}
    for upload, name in zip(files, names):
        path, existed = save_upload(folder, name, upload.file)
        paths.append(str(path))
        if not existed:
            new[str(path)] = path
    job = c.jobs.submit("upload", paths, tags=_clean_tags(tags), prune=False, discard_if_skipped=new)
    return _answer_job(request, response, job, wait)


class PathIngest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(min_length=1, max_length=1000, description="Files or folders under a --root")
    tags: list[str] = Field(default_factory=list)
    prune: bool = Field(True, description="Remove documents whose files were deleted from an ingested folder")
    wait: bool = Field(False, description="Answer when the ingest has finished")


@router.post("/ingest/path", summary="Ingest server-side files or folders (only under the configured roots)",
             status_code=202)
def ingest_path(request: Request, response: Response, body: PathIngest) -> dict[str, Any]:
    c = ctx(request)
    paths = [check_server_path(p, c.settings.upload_roots) for p in body.paths]
    job = c.jobs.submit("path", paths, tags=_clean_tags(body.tags), prune=body.prune)
    return _answer_job(request, response, job, body.wait)


@router.get("/jobs", summary="Recent ingest jobs, newest first")
def jobs(request: Request) -> dict[str, Any]:
    return {"jobs": [j.to_dict() for j in ctx(request).jobs.list()]}


@router.get("/jobs/{job_id}", summary="One ingest job: status, progress, report")
def job(request: Request, job_id: str) -> dict[str, Any]:
    found = ctx(request).jobs.get(job_id)
    if found is None:
        raise NotFound(f"No job with id {job_id}.", job_id=job_id)
    return found.to_dict()


def _clean_tags(tags: list[str]) -> list[str]:
    out = sorted({t.strip() for raw in tags for t in raw.split(",") if t.strip()})
    if any(len(t) > 100 for t in out):
        raise ConfigError("Tags are at most 100 characters.")
    return out
