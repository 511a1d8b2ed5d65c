"""File loaders: one module per family of formats; ``load(path)`` picks one by extension.

Every loader returns plain text with paragraphs separated by blank lines (the chunker follows them),
or raises ``LoaderError`` with a reason a person can act on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...errors import LoaderError

#: extension → ``module:function`` (resolved by ``registry.resolve``, as stores, embedders and LLMs are)
LOADERS: dict[str, str] = {
    ".txt": "localkb.ingest.loaders.text:load_text",
    ".text": "localkb.ingest.loaders.text:load_text",
    ".md": "localkb.ingest.loaders.text:load_markdown",
    ".markdown": "localkb.ingest.loaders.text:load_markdown",
    ".rst": "localkb.ingest.loaders.text:load_text",
    ".pdf": "localkb.ingest.loaders.pdf:load_pdf",
    ".docx": "localkb.ingest.loaders.docx:load_docx",
    ".html": "localkb.ingest.loaders.markup:load_html",
    ".htm": "localkb.ingest.loaders.markup:load_html",
    ".csv": "localkb.ingest.loaders.tabular:load_csv",
    ".tsv": "localkb.ingest.loaders.tabular:load_csv",
    ".json": "localkb.ingest.loaders.tabular:load_json",
    ".jsonl": "localkb.ingest.loaders.tabular:load_jsonl",
}

SUPPORTED = tuple(sorted(LOADERS))


#: the document metadata each loader records (``Loaded.meta``), beside ``title``: what ``--enrich meta.X``
#: accepts and what ``--where`` knows by bare name. CSV column values and JSON keys are per file
#: (``--where meta.COLUMN=value``) and so not listed here.
META_FIELDS: dict[str, tuple[str, ...]] = {
    "author": ("pdf", "docx", "html"),
    "pages": ("pdf",),
    "subject": ("pdf", "docx"),
}
#: how many distinct values of one CSV column / JSON key are recorded for filtering
MAX_FIELD_VALUES = 200


@dataclass
class Loaded:
    text: str
    format: str
    title: str | None = None
    #: document metadata: name → one value (``author``, ``pages``) or several (a CSV column's values, a
    #: JSON key's values); stored in ``doc_meta`` for ``--where`` and used by ``--enrich meta.NAME``
    meta: dict[str, str | list[str]] = field(default_factory=dict)
    #: the text page by page (PDF), when the format has pages: each page is chunked on its own, so every
    #: chunk knows its page (``--where page=3``); ``text`` is these joined by blank lines
    pages: list[str] | None = None


def supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def unsupported_reason(path: Path) -> str:
    """Why ``path`` is not loaded: its extension names no loader (the one message, for the walk and ``load``)."""
    return f"unsupported file type '{path.suffix}' (supported: {', '.join(SUPPORTED)})"


def load(path: Path, data: bytes) -> Loaded:
    """Turn a file's bytes into text. ``data`` is read once by the caller (it is also hashed)."""
    from ...registry import resolve

    suffix = path.suffix.lower()
    if suffix not in LOADERS:
        raise LoaderError(unsupported_reason(path))
    if not data.strip():
        raise LoaderError("empty file")
    fn = resolve("loader", suffix, LOADERS)
    try:
        loaded: Loaded = fn(data)
    except LoaderError:
        raise
    except Exception as exc:  # noqa: BLE001 - a third-party parser failed on a broken file
        raise LoaderError(f"cannot parse {path.suffix.lstrip('.')} file: {type(exc).__name__}: {exc}") from exc
    if not loaded.text.strip():
        raise LoaderError("no text found in file")
    return loaded
