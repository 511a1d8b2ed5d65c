"""Fine-tuning a sentence-transformers model on (query, positive, hard negative) triplets, on the CPU.

The loss is sentence-transformers' ``MultipleNegativesRankingLoss`` (in-batch negatives plus the mined
hard negative). The loop is a plain torch loop over that loss rather than ``SentenceTransformerTrainer``
because the trainer's checkpoints pickle the optimizer and RNG state; here a checkpoint is the model in
safetensors plus ``state.json`` (steps done, data hash), so resuming never unpickles anything (the
optimizer starts fresh on resume — a few steps of warm-up, documented).

Defaults are CPU-sized: batch 16, 1 epoch, learning rate 2e-5, texts cut to 128 tokens while training
(the saved model keeps its full window), at most ``max_minutes``; each step's
pairs are fixed by the seed, so a resumed run continues with the pairs the killed one had not reached.
"""
from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECKPOINT = ".checkpoint"
CHECKPOINT_EVERY = 20


@dataclass
class TrainResult:
    steps: int
    total_steps: int
    resumed_from: int
    seconds: float
    stopped_by_budget: bool
    final_loss: float | None


def triplets_order(n: int, epochs: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    order: list[int] = []
    for _ in range(max(1, epochs)):
        block = list(range(n))
        rng.shuffle(block)
        order.extend(block)
    return order


def train_sentence_transformer(base: Path, triplets: Sequence[tuple[str, str, str | None]], out: Path, *,
                               data_hash: str, max_minutes: float, batch_size: int = 16, epochs: int = 1,
                               lr: float = 2e-5, max_steps: int | None = None, seed: int = 15,
                               max_seq_length: int = 128,
                               progress: Callable[[int, int, float], None] | None = None) -> TrainResult:
    """Train a copy of the model at ``base`` and save it to ``out`` (safetensors); resumes from
    ``out/.checkpoint`` when it holds the same ``data_hash``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    started = time.perf_counter()
    torch.manual_seed(seed)
    ckpt = out / CHECKPOINT
    state = _read_state(ckpt)
    resumed = int(state["steps"]) if state and state.get("data_hash") == data_hash else 0
    model = SentenceTransformer(str(ckpt if resumed else base), device="cpu", local_files_only=True)
    window = model.max_seq_length
    model.max_seq_length = min(int(model.max_seq_length or max_seq_length), max_seq_length)  # CPU: halves a step
    loss_fn = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    order = triplets_order(len(triplets), epochs, seed)
    total = max(1, len(order) // batch_size)
    if max_steps is not None:
        total = min(total, max(1, max_steps))
    with_negatives = all(t[2] for t in triplets)
    model.train()
    step, last = resumed, None
    budget = max_minutes * 60.0
    stopped = False
    while step < total:
        if time.perf_counter() - started > budget:
            stopped = True
            break
        batch = [triplets[i] for i in order[step * batch_size:(step + 1) * batch_size]]
        columns = [[t[0] for t in batch], [t[1] for t in batch]]
        if with_negatives:
            columns.append([str(t[2]) for t in batch])
        features = [_to_device(model.tokenize(col)) for col in columns]
        loss = loss_fn(features, torch.empty(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        last = float(loss.detach())
        if progress:
            progress(step, total, last)
        if step % CHECKPOINT_EVERY == 0 and step < total:
            _save_checkpoint(model, ckpt, data_hash, step, total)
    model.eval()
    model.max_seq_length = window
    if stopped and step < total:
        _save_checkpoint(model, ckpt, data_hash, step, total)  # the next run continues from here
    model.save(str(out), safe_serialization=True)
    if not stopped:
        shutil.rmtree(ckpt, ignore_errors=True)
    return TrainResult(step, total, resumed, round(time.perf_counter() - started, 2), stopped, last)


def _to_device(features: dict[str, Any]) -> dict[str, Any]:
    return {k: v.to("cpu") if hasattr(v, "to") else v for k, v in features.items()}


def _read_state(ckpt: Path) -> dict[str, Any] | None:
    try:
        return json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _save_checkpoint(model: Any, ckpt: Path, data_hash: str, step: int, total: int) -> None:
    tmp = ckpt.with_name(CHECKPOINT + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(str(tmp), safe_serialization=True)
    (tmp / "state.json").write_text(json.dumps({"steps": step, "total_steps": total, "data_hash": data_hash}),
                                    encoding="utf-8")
    shutil.rmtree(ckpt, ignore_errors=True)
    tmp.rename(ckpt)
