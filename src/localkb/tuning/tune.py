"""``kb.tune(...)`` / ``localkb tune``: adapt the KB's embedder to its own chunks, offline, no labels.

Pairs (:mod:`.pairs`) → hard negatives mined from the KB and the audit's collisions as explicit
negatives → a fine-tune (:mod:`.train`, sentence-transformers models) or a linear adapter on frozen
embeddings (:mod:`.adapter`, the multilingual USE) → a model folder recording base model, recipe, pair
count and data hash (``models list`` shows it; ``--model PATH`` or its name loads it) → with ``apply``
the KB is re-embedded with it atomically (:mod:`.apply`).

Running the same command again resumes: a folder holding a checkpoint of the same training data
continues from it; a folder holding the finished model of the same data is reused (``apply`` then
only re-embeds). A folder holding anything else is refused.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..embedders.base import embed_queries
from ..errors import TuneError
from .pairs import (
    FINETUNE_SENTENCES,
    QUERY_KINDS,
    Pair,
    collision_pairs,
    corpus_pairs,
    data_hash,
    llm_pairs,
    mine_negatives,
    positive_text,
)

if TYPE_CHECKING:
    from ..parts import KBReader
    from ..settings import Settings

#: fewer chunks than this give too few distinct pairs for a ranking loss to learn anything but the KB by heart
MIN_CHUNKS = 20
METHODS = ("auto", "finetune", "adapter")
#: collisions after tuning are measured by re-embedding the chunks only up to this size (unless applied)
RECHECK_MAX_CHUNKS = 5000
ADAPTER_STEPS = 300
Progress = Callable[[str, int, int], None]


@dataclass
class TuneReport:
    model_dir: str
    model_id: str
    base_model: str
    method: str
    queries: str
    pairs: int
    pair_kinds: dict[str, int]
    negatives: int
    data_hash: str
    dry_run: bool = False
    reused: bool = False
    train: dict[str, Any] = field(default_factory=dict)
    collisions_before: int | None = None
    collisions_after: int | None = None
    #: per collision pair "A~B": {"before": cosine, "after": cosine}
    collision_cosines: dict[str, dict[str, float | None]] = field(default_factory=dict)
    applied: dict[str, Any] | None = None
    #: the calibrated cut-off (English bank) under the old and the new model: the audit's bar follows it
    cutoff: dict[str, float] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _method_for(backend: str, method: str, model_id: str) -> str:
    if method not in METHODS:
        raise TuneError(f"Unknown tuning method '{method}' (use {', '.join(METHODS)}).")
    trainable = backend == "sentence-transformers"  # fine-tunable in-process
    if backend == "adapter":
        raise TuneError(f"The KB's model {model_id} is already a tuned adapter and cannot be trained again; "
                        "tune the KB built with its base model instead.")
    if backend not in ("sentence-transformers", "usem"):
        raise TuneError(f"Model {model_id} (backend '{backend}') cannot be trained by localkb.")
    if method == "finetune" and not trainable:
        raise TuneError(f"Model {model_id} cannot be fine-tuned in-process (it is numpy inference only); "
                        "use --method adapter (a linear map on its frozen embeddings).")
    if method == "auto":  # the adapter is what measurably separates collisions on a small KB (docs/tuning.md)
        return "adapter"
    return method


def _check_out(out: Path, digest: str) -> str:
    """"new", "resume" (a checkpoint of the same data) or "reuse" (the finished model of the same data)."""
    import json

    from ..embedders.resolve import tune_info
    from .train import CHECKPOINT

    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return "new"
    info = tune_info(out)
    if info and info.get("data_hash") == digest:
        return "reuse"
    try:
        state = json.loads((out / CHECKPOINT / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    if state.get("data_hash") == digest:
        return "resume"
    raise TuneError(f"{out} already exists and is not an unfinished or finished tune of this KB's training "
                    "data; choose another --out (nothing was changed).")


def tune(kb: KBReader, *, out: str | Path | None = None, queries: str = "corpus", max_minutes: float = 20.0,
         apply: bool = False, dry_run: bool = False, method: str = "auto", max_steps: int | None = None,
         batch_size: int = 16, epochs: int = 1, lr: float | None = None, llm: str | None = None,
         progress: Progress | None = None) -> TuneReport:
    """Tune the KB's embedder on its chunks (see the module docstring).

    Raises:
        TuneError: empty or too small KB (fewer than :data:`MIN_CHUNKS` chunks), a model that cannot be
            trained, ``max_minutes`` ≤ 0, an output folder holding something else. Nothing is changed.
    """
    from ..config import user_data_dir
    from ..mapping.data import load_vectors
    from ..search.thresholds import calibration_record, for_query
    from .audit import find_collisions, kb_texts

    started = time.perf_counter()
    if not max_minutes or max_minutes <= 0:
        raise TuneError(f"--max-minutes must be more than 0 (got {max_minutes}): training needs some time.")
    if queries not in QUERY_KINDS:
        raise TuneError(f"Unknown --queries '{queries}' (use {' or '.join(QUERY_KINDS)}).")
    kb.sync()
    texts, sources = kb_texts(kb)
    if not texts:
        raise TuneError("The knowledge base is empty: nothing to tune on. Ingest documents first.")
    if len(texts) < MIN_CHUNKS:
        raise TuneError(f"The knowledge base holds {len(texts)} chunks; tuning needs at least {MIN_CHUNKS} "
                        "(fewer teach the model the KB by heart). Ingest more documents first.",
                        chunks=len(texts), minimum=MIN_CHUNKS)
    embedder = kb.embedder
    chosen = _method_for(embedder.backend, method, embedder.id)
    notes: list[str] = []
    ids = list(texts)
    vectors = load_vectors(kb.store, ids)
    cutoff = float((for_query(calibration_record(kb), "IBE") or {"cutoff": 0.0})["cutoff"])
    before, _, _ = find_collisions(texts, vectors, partial(embed_queries, embedder), cutoff, sources=sources)

    if queries == "llm":
        pairs = _llm_pairs(texts, llm, max_minutes / 2, notes, progress, kb.settings)
    else:
        pairs = corpus_pairs(texts, sentences_per_chunk=FINETUNE_SENTENCES if chosen == "finetune" else 1)
    pairs.extend(collision_pairs(before, texts))
    if not pairs:
        raise TuneError("No training pairs could be made from this KB's chunks.")
    negatives = mine_negatives(pairs, ids, vectors, embed_queries(embedder, [p.query for p in pairs]))
    digest = data_hash(pairs, texts)
    folder = Path(out).expanduser().resolve() if out else user_data_dir(kb.settings) / "models" / f"tuned-{kb.path.name}-{digest[:8]}"
    state = _check_out(folder, digest)
    kinds = dict(Counter(p.kind for p in pairs))
    model_id = f"tuned/{folder.name}"
    report = TuneReport(str(folder), model_id, embedder.id, chosen, queries, len(pairs), kinds,
                        negatives, digest, dry_run=dry_run, collisions_before=len(before),
                        samples=[_sample(p, texts) for p in _spread(pairs, 8)], notes=notes)
    if dry_run:
        report.seconds = round(time.perf_counter() - started, 2)
        return report
    recipe = {"queries": queries, "method": chosen, "loss": "MultipleNegativesRankingLoss" if chosen == "finetune"
              else "in-batch ranking cross-entropy + identity regulariser", "batch_size": batch_size,
              "epochs": epochs, "lr": lr, "max_minutes": max_minutes, "max_steps": max_steps,
              "hard_negatives": f"mined from the KB (rank ≥ 1, score < 0.95 × positive), {negatives} pairs",
              "collision_pairs": kinds.get("collision", 0)}
    info = {"id": model_id, "base_model": embedder.id, "base_spec": kb.manifest.model_spec or embedder.id,
            "recipe": recipe, "pairs": len(pairs), "pair_kinds": kinds, "data_hash": digest,
            "kb": str(kb.path), "created_at": time.time()}
    if state == "reuse":
        report.reused = True
        notes.append(f"{folder} already holds the finished model of this training data: reused, not retrained")
    else:
        report.train = _train(chosen, embedder, pairs, texts, folder, digest, info, max_minutes, max_steps,
                              batch_size, epochs, lr, progress, resume=state == "resume")
        if report.train.get("stopped_by_budget"):
            notes.append(f"the --max-minutes budget ended training after {report.train['steps']} of "
                         f"{report.train['total_steps']} steps; run the same command again to continue")
    from ..embedders import load_embedder
    from ..embedders.resolve import register

    tuned = load_embedder(str(folder), shared=False)
    register(folder.name, folder, tuned.dim, tuned.backend)
    if apply:
        record = {k: info[k] for k in ("base_model", "recipe", "pairs", "data_hash")} | {"model_dir": str(folder)}
        report.applied = kb.apply_tuned(tuned, folder, record,
                                        progress=(lambda d, t: progress("re-embed", d, t)) if progress else None)
        kb.sync(force=True)  # the facade follows the swapped manifest: new store, new model
        after_vectors = load_vectors(kb.store, ids)
    elif len(texts) <= RECHECK_MAX_CHUNKS:
        after_vectors = _reorder(kb, ids, tuned)
    else:
        after_vectors = None
        notes.append(f"collisions after tuning not measured ({len(texts)} chunks > {RECHECK_MAX_CHUNKS}); "
                     "run localkb audit after --apply")
    if after_vectors is not None:
        report.cutoff = {"before": round(cutoff, 4), "after": round(bank_cutoff(tuned, after_vectors), 4)}
        after, _, _ = find_collisions(texts, after_vectors, tuned.embed, report.cutoff["after"], sources=sources)
        report.collisions_after = len(after)
        was = {"~".join(c.terms): c.cosine for c in before}
        now = {"~".join(c.terms): c.cosine for c in after}
        for key in was:
            report.collision_cosines[key] = {"before": round(was[key], 4),
                                             "after": _pair_cosine(key, after_vectors, texts, before)}
        for key in now:
            report.collision_cosines.setdefault(key, {"before": None, "after": round(now[key], 4)})
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def bank_cutoff(embedder: Any, vectors: np.ndarray) -> float:
    """The English bank's calibrated cut-off (``search.thresholds``) for ``embedder`` on ``vectors``."""
    from ..search.thresholds import BANK_EN, cutoff_from

    best = (embed_queries(embedder, list(BANK_EN)) @ vectors.T).max(axis=1)  # the bank stands in for queries
    return cutoff_from(np.asarray(best, dtype=np.float64))


def _reorder(kb: KBReader, ids: list[str], embedder: Any) -> np.ndarray:
    rows = kb.db.chunks_text(ids)
    out = [embedder.embed([str(rows[c]["embed_text"]) for c in ids[i:i + 256]]) for i in range(0, len(ids), 256)]
    return np.vstack(out)


def _pair_cosine(key: str, vectors: np.ndarray, texts: dict[str, str], before: list[Any]) -> float:
    """The cosine, under the new vectors, of the chunk pair a collision was reported on before tuning."""
    ids = list(texts)
    pos = {c: n for n, c in enumerate(ids)}
    c = next(c for c in before if "~".join(c.terms) == key)
    return round(float(vectors[pos[c.chunks[0]["id"]]] @ vectors[pos[c.chunks[1]["id"]]]), 4)


def _train(method: str, embedder: Any, pairs: list[Pair], texts: dict[str, str], folder: Path,
           digest: str, info: dict[str, Any], max_minutes: float, max_steps: int | None, batch_size: int,
           epochs: int, lr: float | None, progress: Progress | None, *, resume: bool) -> dict[str, Any]:
    from ..disk import write_json
    from ..embedders.resolve import TUNE_INFO

    folder.mkdir(parents=True, exist_ok=True)
    if method == "adapter":
        from ..embedders.adapter import save_adapter
        from .adapter import train_adapter

        with_neg = [p for p in pairs if p.negative]
        used = with_neg if len(with_neg) * 2 >= len(pairs) else pairs  # one layout: all with a negative, or none
        q = embed_queries(embedder, [p.query for p in used])
        pos = embedder.embed([positive_text(p, texts) for p in used])
        neg = embedder.embed([texts[str(p.negative)] for p in used]) if used is with_neg else None
        fitted = train_adapter(q, pos, neg, max_minutes=max_minutes, steps=max_steps or ADAPTER_STEPS, lr=lr or 1e-3)
        save_adapter(folder, fitted.weight, fitted.bias, {**info, "train": {"steps": fitted.steps,
                                                                           "seconds": fitted.seconds}})
        return {"steps": fitted.steps, "total_steps": max_steps or ADAPTER_STEPS, "seconds": fitted.seconds,
                "stopped_by_budget": fitted.stopped_by_budget, "final_loss": fitted.final_loss, "resumed_from": 0,
                "triplets": len(used)}
    from .train import train_sentence_transformer

    base = getattr(embedder, "path", None)
    if base is None:
        raise TuneError(f"Model {embedder.id} has no local folder to train from.")
    triplets = [(p.query, positive_text(p, texts), texts[p.negative] if p.negative else None) for p in pairs]
    if not all(t[2] for t in triplets):  # MNRL takes one column layout per batch: drop the few without a negative
        triplets = [t for t in triplets if t[2]] or [(t[0], t[1], None) for t in triplets]
    result = train_sentence_transformer(
        Path(base), triplets, folder, data_hash=digest, max_minutes=max_minutes, batch_size=batch_size,
        epochs=epochs, max_steps=max_steps, lr=lr or 2e-5,
        progress=(lambda s, t, _loss: progress("train", s, t)) if progress else None)
    info = {**info, "train": {"steps": result.steps, "total_steps": result.total_steps,
                              "triplets": len(triplets), "seconds": result.seconds}}
    write_json(folder / TUNE_INFO, info, indent=2)
    return {"steps": result.steps, "total_steps": result.total_steps, "seconds": result.seconds,
            "stopped_by_budget": result.stopped_by_budget, "final_loss": result.final_loss,
            "resumed_from": result.resumed_from, "triplets": len(triplets)}


def _llm_pairs(texts: dict[str, str], llm: str | None, minutes: float, notes: list[str],
               progress: Progress | None, settings: Settings) -> list[Pair]:
    from ..llm.base import open_llm
    from ..llm.gguf import default_llm_uri

    model = open_llm(llm or default_llm_uri(settings=settings), threads=2, settings=settings)
    deadline = time.perf_counter() + minutes * 60.0
    todo: dict[str, str] = {}
    try:
        out: list[Pair] = []
        for n, (cid, text) in enumerate(texts.items(), 1):
            if time.perf_counter() > deadline:
                notes.append(f"the LLM wrote questions for {n - 1} of {len(texts)} chunks within half the "
                             "time budget; the other chunks got corpus pairs")
                todo = {c: texts[c] for c in list(texts)[n - 1:]}
                break
            out.extend(llm_pairs({cid: text}, model))
            if progress:
                progress("questions", n, len(texts))
    finally:
        model.close()
    return out + (corpus_pairs(todo) if todo else [])


def _spread(pairs: list[Pair], n: int) -> list[Pair]:
    by_kind: dict[str, list[Pair]] = {}
    for p in pairs:
        by_kind.setdefault(p.kind, []).append(p)
    out: list[Pair] = []
    while len(out) < n and any(by_kind.values()):
        for group in by_kind.values():
            if group and len(out) < n:
                out.append(group.pop(0))
    return out


def _sample(p: Pair, texts: dict[str, str]) -> dict[str, Any]:
    from ..mapping.data import snippet

    return {"kind": p.kind, "query": p.query, "positive": snippet(texts[p.positive], 120),
            "negative": snippet(texts[p.negative], 120) if p.negative else None}
