"""Running an exported ONNX file: the session, the model's fast tokenizer, pooling and the probe sentence.

Shared by the embedder (:mod:`.onnx`) and the export (:mod:`.onnx_export`, which checks each file it
writes with the probe), and importing neither, so the two make no import circle.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependency, ModelError
from .runtime import embed_threads

#: embedded by every ONNX file at export and before each use: it must give the vector recorded at export
PROBE = "A man is eating food; the E11.9 ticket was closed in Zürich."


def pooling_mode(model_dir: Path) -> str:
    """"mean" or "cls" from the model's Pooling module; anything else cannot run on the ONNX backend."""
    try:
        cfg = json.loads((model_dir / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "mean"  # a plain transformers folder: sentence-transformers defaults to mean pooling
    if cfg.get("pooling_mode_mean_tokens"):
        return "mean"
    if cfg.get("pooling_mode_cls_token"):
        return "cls"
    raise ModelError(f"{model_dir}: only mean or CLS pooling run on the ONNX backend; use the torch model.")


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """sentence-transformers' pooling + Normalize, in numpy: (batch, seq, d) → L2-normalised (batch, d)."""
    if mode == "cls":
        vec = hidden[:, 0, :]
    else:
        m = mask[:, :, None].astype(np.float32)
        vec = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    vec = vec.astype(np.float32)
    norms = np.linalg.norm(vec, axis=1, keepdims=True)
    return np.ascontiguousarray(vec / np.clip(norms, 1e-12, None))


def load_tokenizer(model_dir: Path, max_length: int | None) -> Any:
    from tokenizers import Tokenizer

    file = model_dir / "tokenizer.json"
    if not file.is_file():
        raise ModelError(f"{model_dir} has no tokenizer.json (a fast tokenizer), which the ONNX backend needs.")
    tok = Tokenizer.from_file(str(file))
    tok.no_padding()
    tok.no_truncation()
    if max_length is not None:
        tok.enable_truncation(max_length)
    return tok


def max_seq_length(model_dir: Path) -> int:
    try:
        return int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError):
        return 512


def open_session(file: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime session on ``file`` with ``threads`` intra-op threads (default: ``embed_threads``)."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise MissingDependency("The ONNX backend needs: pip install 'localkb[onnx]'") from exc
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = embed_threads() if threads is None else threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    # idle threads sleep instead of spinning: on a shared 2-core box spinning steals the other thread's core
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(file), sess_options=opts, providers=["CPUExecutionProvider"])


def encode(session: Any, tok: Any, texts: Sequence[str], names: list[str], mode: str) -> np.ndarray:
    return run_batch(session, tok.encode_batch(list(texts)), names, mode)


def run_batch(session: Any, encs: Sequence[Any], names: list[str], mode: str) -> np.ndarray:
    """Pooled, normalised vectors of tokenized ``encs`` (right-padded to the longest: the fused
    attention reads the mask as "valid up to here")."""
    width = max(len(e.ids) for e in encs)
    ids = np.zeros((len(encs), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, e in enumerate(encs):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    hidden = session.run(None, {n: feed[n] for n in names})[0]
    return pool(hidden, mask, mode)


def run_probe(file: Path, model_dir: Path, mode: str, names: list[str]) -> np.ndarray:
    """The probe sentence's vector from the ONNX file ``file`` (used at export and at every load)."""
    return encode(open_session(file), load_tokenizer(model_dir, max_seq_length(model_dir)), [PROBE], names, mode)[0]
