"""What a KB records about how it was built, in ``manifest.json`` beside its data.

Opening a KB with a different embedder is an error (``ModelMismatch``), never silently mixed vectors.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import KBError, ModelMismatch
from .ingest.chunking import DEFAULT_OVERLAP, DEFAULT_SIZE, LEGACY_RECIPE, LEGACY_UNIT, RECIPE, UNIT

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"


@dataclass
class Manifest:
    model_id: str
    model_backend: str
    dim: int
    normalize: bool
    store: str  # URI, e.g. "faiss://index" (relative paths are inside the KB folder)
    metric: str = "cosine"
    chunk_size: int = DEFAULT_SIZE
    chunk_overlap: int = DEFAULT_OVERLAP
    #: what chunk_size counts: "model-tokens" (the embedder's tokenizer, enrichment prefix included) or
    #: "words" (KBs built before chunks were measured in model tokens; re-ingesting re-chunks them)
    chunk_unit: str = UNIT
    #: version of the splitting rules (``ingest.chunking.RECIPE``) the chunks were made with
    chunk_recipe: str = RECIPE
    #: how to find the model again: an absolute folder for a model given by path, else its name ("" = model_id)
    model_spec: str = ""
    #: which document tags / metadata fields are prepended to the text that is embedded and indexed
    enrich: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    created_at: float = field(default_factory=time.time)
    localkb_version: str = ""
    #: free-form records later subsystems add (e.g. calibrated thresholds, lexical index settings)
    extra: dict[str, Any] = field(default_factory=dict)

    def check_model(self, model_id: str) -> None:
        if model_id != self.model_id:
            raise ModelMismatch(
                f"This KB was built with model '{self.model_id}' ({self.dim}-d); refusing to mix in vectors "
                f"from '{model_id}'. Open it without --model, or build a new KB for the other model.",
                kb_model=self.model_id, requested=model_id,
            )

    def chunking(self) -> dict[str, Any]:
        """The chunking recipe: unit, size, overlap, recipe version, and documents still to re-chunk."""
        pending = self.extra.get("rechunk_pending") or []
        current = (self.chunk_unit, self.chunk_recipe) == (UNIT, RECIPE)
        note = None
        if not current:
            note = (f"chunks were made with an older recipe ({self.chunk_size} {self.chunk_unit}, "
                    f"{self.chunk_recipe}); search works, and the next ingest re-chunks every document")
        elif pending:
            note = f"{len(pending)} document(s) still have chunks from an older recipe: ingest them again"
        return {"unit": self.chunk_unit, "size": self.chunk_size, "overlap": self.chunk_overlap,
                "recipe": self.chunk_recipe, "tokenizer": self.model_id if current else None,
                "current": current and not pending, "documents_to_rechunk": len(pending), "note": note}

    def save(self, kb_dir: Path) -> None:
        from .disk import write_json

        write_json(kb_dir / MANIFEST, asdict(self), indent=2)

    @classmethod
    def load(cls, kb_dir: Path) -> Manifest:
        path = kb_dir / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise KBError(f"Cannot read {path}: {exc}") from exc
        if data.get("schema_version", 0) > SCHEMA_VERSION:
            raise KBError(f"{path} was written by a newer localkb (schema {data['schema_version']}).")
        known = {f for f in cls.__dataclass_fields__}
        if "chunk_unit" not in data:  # written before chunks were measured in model tokens
            data["chunk_unit"], data["chunk_recipe"] = LEGACY_UNIT, LEGACY_RECIPE
        return cls(**{k: v for k, v in data.items() if k in known})
