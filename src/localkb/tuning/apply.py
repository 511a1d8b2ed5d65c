"""``tune --apply``: re-embed a KB with the tuned model beside the old index, then swap in one step.

1. Under the KB's write lock (held by the facade), ``.tune-apply.json`` records the new index folder (``index-<tag>``) first;
2. every chunk's ``embed_text`` is embedded with the new model into that new store, flushed;
3. the manifest (model, dimension, model folder, store URI, ``extra["tuned"]``) is replaced with
   ``os.replace`` — the only moment the KB changes; then the old index is deleted.

A run killed before step 3 leaves the old manifest pointing at the old, untouched index: the KB opens
and searches with the old model. The next run removes the half-built folder (named in the state file)
and starts again. Local stores only (faiss, chroma, exact); a Milvus KB is refused with a reason.
"""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..disk import write_json
from ..errors import TuneError
from ..manifest import Manifest

if TYPE_CHECKING:
    from ..db import Database
    from ..embedders import Embedder
    from ..settings import Settings

STATE = ".tune-apply.json"
LOCAL_STORES = ("faiss", "chroma", "exact")
BATCH = 256


def _index_dir(kb_path: Path, uri: str) -> Path:
    from ..registry import split_uri
    from ..stores.base import store_path

    return Path(store_path(split_uri(uri)[1], str(kb_path)))


def clean_leftover(kb_path: Path) -> str | None:
    """Remove the half-built index of a killed ``--apply`` (named in the state file); its path or None."""
    state_file = kb_path / STATE
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    current = Manifest.load(kb_path).store
    leftover = None
    if state.get("store") and state["store"] != current:
        folder = _index_dir(kb_path, state["store"])
        if folder.exists() and folder.resolve() != _index_dir(kb_path, current).resolve():
            shutil.rmtree(folder, ignore_errors=True)
            leftover = str(folder)
    state_file.unlink(missing_ok=True)
    return leftover


def apply_model(folder: Path, db: Database, embedder: Embedder, model_dir: Path, record: dict[str, Any], *,
                settings: Settings, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Re-embed the KB in ``folder`` (its ``chunks.sqlite`` is ``db``) with ``embedder`` (loaded from
    ``model_dir``) and swap atomically; what was done. The caller holds the KB's write lock (the facade's
    ``KnowledgeBase.apply_tuned``)."""
    from ..registry import split_uri
    from ..stores.base import open_store

    old = Manifest.load(folder)
    scheme = split_uri(old.store)[0]
    if scheme not in LOCAL_STORES:
        raise TuneError(f"--apply re-embeds local stores only ({', '.join(LOCAL_STORES)}); this KB uses "
                        f"'{old.store}'. Build a new KB with --model {model_dir} instead.")
    delay = settings.tune_apply_delay or 0.0  # tests: make a run killable mid-way
    batch_size = settings.tune_apply_batch or BATCH
    started = time.perf_counter()
    leftover = clean_leftover(folder)
    tag = time.strftime("%Y%m%d%H%M%S")
    new_uri = f"{scheme}://index-tuned-{tag}"
    write_json(folder / STATE, {"store": new_uri, "model": str(model_dir)})
    ids = [str(r["id"]) for r in db.query("SELECT id FROM chunks ORDER BY id")]
    target = open_store(new_uri, embedder.dim, base_dir=str(folder))
    try:
        for start in range(0, len(ids), batch_size):
            batch = ids[start:start + batch_size]
            rows = db.chunks_text(batch)
            vectors = embedder.embed([str(rows[c]["embed_text"]) for c in batch])
            target.add(batch, vectors)
            if progress:
                progress(min(start + batch_size, len(ids)), len(ids))
            if delay:
                time.sleep(delay)
        target.flush()
        if target.count() != len(ids):
            raise TuneError(f"The new index holds {target.count()} vectors, expected {len(ids)}; "
                            "the KB is unchanged.")
    finally:
        target.close()
    extra = {k: v for k, v in old.extra.items() if k != "calibration"}  # measured again for the new model
    extra["tuned"] = {**record, "applied_at": time.time(), "previous": {"model": old.model_id,
                                                                         "model_spec": old.model_spec,
                                                                         "store": old.store}}
    new = Manifest(**{**asdict(old), "model_id": embedder.id, "model_backend": embedder.backend,
                      "dim": embedder.dim, "model_spec": str(model_dir.resolve()), "store": new_uri,
                      "extra": extra})
    new.save(folder)  # the swap: one os.replace
    old_dir = _index_dir(folder, old.store)
    if old_dir.resolve() != folder.resolve():
        shutil.rmtree(old_dir, ignore_errors=True)
    (folder / STATE).unlink(missing_ok=True)
    db.bump_generation()  # a server holding this KB open reloads
    return {"store": new_uri, "previous_store": old.store, "chunks": len(ids), "removed_leftover": leftover,
            "seconds": round(time.perf_counter() - started, 2)}
