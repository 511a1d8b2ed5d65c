"""Finding stored documents by what a person types (an id, a source, a path, a folder), for ``show``,
``chunks`` and ``rm`` — every interface resolves a document the same way, with close matches when
nothing fits. Takes the KB's ``Database`` (its collaborator), not the facade."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import KBError

if TYPE_CHECKING:
    from .db import Database


class DocumentNotFound(KBError):
    """No stored document (or chunk) is what was named; ``data["close_matches"]`` lists near spellings."""

    http_status = 404


def is_chunk_id(value: str) -> bool:
    """A chunk id or a prefix of one: at least 8 hex digits (a document id is all digits and shorter)."""
    return len(value) >= 8 and all(c in "0123456789abcdef" for c in value.lower())


def document_matcher(value: str) -> Callable[[Any], bool]:
    """A test of a ``documents`` row (anything with ``source`` and ``path``): is ``value`` its source as
    ingested, or its path (absolute, or relative to the current folder)?"""
    absolute = str(Path(value).expanduser().resolve()) if value else ""
    normal = os.path.normpath(value) if value else ""
    return lambda r: value in (r["source"], r["path"]) or absolute == r["path"] or normal == r["source"]


def find_documents(db: Database, ref: str | int, *, folders: bool = False) -> list[dict[str, Any]]:
    """The documents ``ref`` names: a document id, its source as ingested, its path (relative or absolute),
    or with ``folders`` every document under a folder. Rows: id, source, path, format.

    Raises:
        DocumentNotFound: nothing matches (with close matches).
    """
    rows = [dict(r) for r in db.query("SELECT id, source, path, format FROM documents ORDER BY source")]
    value = str(ref).strip()
    if isinstance(ref, int) or value.isdigit():
        found = [r for r in rows if r["id"] == int(value)]
        if found:
            return found
    found = [r for r in rows if document_matcher(value)(r)]
    if not found and folders and value:
        absolute = str(Path(value).expanduser().resolve())
        found = [r for r in rows if r["path"].startswith(absolute.rstrip(os.sep) + os.sep)]
    if found:
        return found
    from .suggest import close_paths
    from .suggest import hint as suggestion

    close = close_paths(value, [str(r["source"]) for r in rows])
    hint = suggestion(close)
    raise DocumentNotFound(f"No document '{value}' in this knowledge base.{hint} "
                           "(See `localkb documents` for what is stored.)", target=value, close_matches=close)


def find_chunk(db: Database, prefix: str) -> str:
    """The chunk id that starts with ``prefix``; ``DocumentNotFound`` when none or several do."""
    rows = db.query("SELECT id FROM chunks WHERE id >= ? AND id < ? LIMIT 2", (prefix.lower(), prefix.lower() + "g"))
    if len(rows) > 1:
        raise DocumentNotFound(f"The chunk id prefix '{prefix}' matches several chunks; give more of it.",
                               target=prefix)
    if not rows:
        raise DocumentNotFound(f"No chunk '{prefix}' in this knowledge base.", target=prefix)
    return str(rows[0]["id"])


def document_meta(db: Database, doc_id: int) -> dict[str, str | list[str]]:
    """A document's loader metadata (``doc_meta``): one value, or a list for a many-valued field."""
    out: dict[str, list[str]] = {}
    for r in db.query("SELECT key, value FROM doc_meta WHERE doc_id = ? ORDER BY key, rowid", (doc_id,)):
        out.setdefault(r["key"], []).append(r["value"])
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


@dataclass
class DeleteReport:
    """What ``KnowledgeBase.delete`` removed (or, with ``dry_run``, would remove)."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    #: chunks no remaining document uses (they leave the vector store and the BM25 index)
    chunks: int = 0
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "chunks": self.chunks, "dry_run": self.dry_run}


def chunks_only_in(db: Database, doc_ids: list[int]) -> int:
    """How many chunks belong to these documents and to no other one."""
    if not doc_ids:
        return 0
    marks = ",".join("?" * len(doc_ids))
    return int(db.scalar(
        f"SELECT COUNT(DISTINCT chunk_id) FROM doc_chunks WHERE doc_id IN ({marks}) AND chunk_id NOT IN "
        f"(SELECT chunk_id FROM doc_chunks WHERE doc_id NOT IN ({marks}))", (*doc_ids, *doc_ids)) or 0)
