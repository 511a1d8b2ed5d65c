"""PDF text through pypdf; a PDF with no text layer (a scan) is reported, not silently empty."""
from __future__ import annotations

import io
import logging

from ...errors import LoaderError
from . import Loaded


def load_pdf(data: bytes) -> Loaded:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not data.startswith(b"%PDF"):
        raise LoaderError("not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise LoaderError("encrypted PDF")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except PdfReadError as exc:
        raise LoaderError(f"corrupt PDF: {exc}") from exc
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise LoaderError("PDF has no text layer (scanned image?)")
    title = None
    meta: dict[str, str | list[str]] = {"pages": str(len(pages))}
    try:
        info = reader.metadata
        if info:
            title = info.title
            for name, value in (("author", info.author), ("subject", info.subject)):
                if value and str(value).strip():
                    meta[name] = str(value).strip()
    except Exception:  # noqa: BLE001 - metadata is optional
        title = None
    return Loaded(text=text, format="pdf", title=title, meta=meta, pages=pages)
