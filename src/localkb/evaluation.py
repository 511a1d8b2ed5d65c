"""The evaluation harness's own KB: build (or reopen) a KB holding a dataset's corpus.

An application of the facade, as the CLI is (``localkb eval retrieval``, the benchmarks): the search
subsystem's ``search.eval`` loads datasets and scores runs and never imports the facade.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .errors import DatasetError
from .kb import KnowledgeBase
from .search.eval import Dataset, corpus_digest, write_corpus


def prepare_kb(
    ds: Dataset,
    kb_path: Path,
    *,
    model: str | None = None,
    store: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[KnowledgeBase, dict[str, str]]:
    """Open (or build) a KB holding the dataset's corpus; returns it and file name → corpus id.

    The corpus is written to ``KB/eval-corpus/`` (file → id map in ``KB/eval-ids.json``) and ingested.
    A KB built earlier from the same corpus (same digest) is reused: ingestion is idempotent, so only what
    an interrupted build missed is embedded. Another corpus's KB, or a KB not built by eval, is refused.

    Raises:
        DatasetError: ``kb_path`` holds a KB of another corpus or one not built by eval.
    """
    files = kb_path / "eval-corpus"
    ids_file = kb_path / "eval-ids.json"
    names: dict[str, str] | None = None
    if ids_file.is_file():
        saved = json.loads(ids_file.read_text(encoding="utf-8"))
        if saved.get("digest") != corpus_digest(ds):
            raise DatasetError(
                f"The KB at {kb_path} was built from another corpus; give a new --kb folder.",
                path=str(kb_path),
            )
        names = dict(saved["names"])
    elif (kb_path / "manifest.json").exists():
        raise DatasetError(
            f"{kb_path} is a KB that was not built by 'localkb eval'; give a new --kb folder.",
            path=str(kb_path),
        )
    kb = KnowledgeBase.open(kb_path, create=True, model=model, store=store)
    if names is None:
        names = write_corpus(ds, files, ids_file)
    kb.ingest([files], progress=progress)
    return kb, names
