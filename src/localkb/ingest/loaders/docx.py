"""Word documents through python-docx: paragraphs and tables, in document order."""
from __future__ import annotations

import io
import zipfile

from ...errors import LoaderError
from . import Loaded


def load_docx(data: bytes) -> Loaded:
    import docx

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise LoaderError("not a .docx file (not a zip archive)")
    document = docx.Document(io.BytesIO(data))
    parts: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(node.text or "" for node in child.iter() if node.tag.endswith("}t"))
            if text.strip():
                parts.append(text.strip())
        elif tag == "tbl":
            for row in child.iter():
                if row.tag.endswith("}tr"):
                    cells = []
                    for cell in row.iter():
                        if cell.tag.endswith("}tc"):
                            cells.append(" ".join(t.text or "" for t in cell.iter() if t.tag.endswith("}t")).strip())
                    if any(cells):
                        parts.append(" | ".join(cells))
    props = document.core_properties
    meta: dict[str, str | list[str]] = {name: str(value).strip() for name, value in
                                        (("author", props.author), ("subject", props.subject))
                                        if value and str(value).strip()}
    return Loaded(text="\n\n".join(parts), format="docx", title=props.title or None, meta=meta)
