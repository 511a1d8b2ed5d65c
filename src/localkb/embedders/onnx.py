"""sentence-transformers models on ONNX Runtime (fp32 or int8), behind the same Embedder Protocol.

``--model minilm-onnx`` is the packaged MiniLM in fp32: the same vectors as torch (within 1e-5), so it
searches and extends KBs built with torch. ``--model minilm-int8`` is its int8 version: different
vectors, hence its own model id (``…@int8``) recorded at KB creation. Any model folder takes the
suffix: ``--model PATH@onnx`` / ``PATH@int8``.

Only onnxruntime and tokenizers are imported here (no torch): loading takes a fraction of a second.
The ONNX files come from :mod:`.onnx_export`, built automatically on first use, or ahead of time by
``localkb models optimize NAME``. Before use, each file embeds a probe sentence and must give the vector
recorded at export: a file that does not belong to its model is refused with the command that rebuilds it.

Threads: ``LOCALKB_EMBED_THREADS`` (default min(2, cores)) intra-op threads, one inter-op thread; a batch
of at most :data:`SMALL_TOKENS` padded tokens (a search's query) runs on a one-thread session of the same
file (each session opened on first use, so a process that only searches holds one). The same vectors, and
less CPU than two threads handing ten tokens back and forth, in about the same wall time; the other core
is left to the search's BM25 part (``search.overlap``).
Batches: the texts are tokenized once, sorted by token count and cut into batches of at most
``batch_size`` texts and :data:`BATCH_TOKENS` padded tokens, so a batch pads little and stays in cache
(measured in docs/benchmarks.md, "Encoder speed": 16 long texts a batch beat 64).
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import MissingDependency, ModelError
from .batching import Coalescer
from .onnx_export import FILES, FORMAT, export, fingerprint, onnx_dir, read_meta
from .onnx_run import PROBE, encode, load_tokenizer, max_seq_length, open_session, run_batch
from .resolve import ModelRef
from .runtime import embed_threads

#: how far a probe vector may move from the one recorded at export (same file, same runtime: ~1e-7)
PROBE_TOLERANCE = 1e-4
#: padded tokens per batch at most (16 texts of 256 tokens); short texts get larger batches
BATCH_TOKENS = 4096
#: a batch of at most this many padded tokens (a query, or a few) runs on a one-thread session: splitting so
#: little work over two threads costs more CPU in hand-offs than it saves in wall time
SMALL_TOKENS = 64


class OnnxEmbedder:
    normalize = True

    def __init__(self, ref: ModelRef) -> None:
        if ref.path is None:
            raise ModelError(f"Model {ref.id} has no folder on disk to run on ONNX Runtime.")
        variant = ref.variant or "fp32"
        self.variant = variant
        self.backend = f"onnx-{variant}"
        self.id = ref.id
        self.path = ref.path
        folder = onnx_dir(ref.path)
        meta = read_meta(folder)
        if meta is None or meta.get("source") != fingerprint(ref.path) or meta.get("format") != FORMAT \
                or not (folder / FILES[variant]).is_file():
            folder = export(ref.path)  # first use (or the source weights changed): build once, seconds
            meta = read_meta(folder) or {}
        self.onnx_file = folder / FILES[variant]
        rebuild = f"localkb models optimize {ref.spec} --force"
        #: sessions of the file by intra-op threads, each opened on first use (:meth:`session`): a process
        #: that only searches holds the one-thread session alone (~36 MiB less than holding both)
        self._sessions: dict[int, Any] = {}
        self._threads = embed_threads()
        self._sessions_lock = threading.Lock()
        try:
            first = self.session(1)
        except MissingDependency:
            raise
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ModelError(f"Cannot load the ONNX file {self.onnx_file}: {exc}. Rebuild it with: {rebuild}") from exc
        #: "fused" (onnxruntime's transformer fusions) or "plain" (the graph as exported); see onnx_export
        self.graph = str(meta.get("graph", "plain"))
        self._mode = str(meta.get("pooling", "mean"))
        self._names = list(meta.get("inputs", ["input_ids", "attention_mask", "token_type_ids"]))
        limit = max_seq_length(ref.path)
        self._tok = load_tokenizer(ref.path, limit)
        self._counter = load_tokenizer(ref.path, None)
        self.max_tokens = limit - 2  # [CLS] … [SEP]
        out = first.get_outputs()[0].shape
        self.dim = int(out[-1]) if isinstance(out[-1], int) else len(meta.get("reference", []))
        self._combine = Coalescer(self._encode_sorted)  # one encode at a time; concurrent calls share it
        self._check_probe(meta, rebuild)

    def _check_probe(self, meta: dict[str, Any], rebuild: str) -> None:
        expected = np.asarray((meta.get("probes") or {}).get(self.variant, []), dtype=np.float32)
        try:
            got = encode(self.session(1), self._tok, [PROBE], self._names, self._mode)[0]
        except Exception as exc:  # noqa: BLE001 - a graph with other inputs/outputs fails here
            raise ModelError(f"The ONNX file {self.onnx_file} does not run as model {self.id}: {exc}. "
                             f"Rebuild it with: {rebuild}") from exc
        if expected.shape != got.shape or float(np.max(np.abs(expected - got))) > PROBE_TOLERANCE:
            raise ModelError(f"The ONNX file {self.onnx_file} does not match model {self.id} (its probe vector "
                             f"differs from the one recorded at export). Rebuild it with: {rebuild}")

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._combine(texts, batch_size)

    def _encode_sorted(self, texts: list[str], batch_size: int) -> np.ndarray:
        encs = self._tok.encode_batch(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx in length_batches([len(e.ids) for e in encs], batch_size, BATCH_TOKENS):
            batch = [encs[i] for i in idx]
            out[idx] = run_batch(self._session_for(len(batch) * len(batch[0].ids)), batch, self._names, self._mode)
        return out

    def _session_for(self, padded_tokens: int) -> Any:
        """The session for a batch of ``padded_tokens``: one thread for a small one (:data:`SMALL_TOKENS`)."""
        return self.session(1 if padded_tokens <= SMALL_TOKENS else self._threads)

    def session(self, threads: int) -> Any:
        """The session of the file with ``threads`` intra-op threads (opened on first use)."""
        with self._sessions_lock:
            if threads not in self._sessions:
                self._sessions[threads] = open_session(self.onnx_file, threads=threads)
            return self._sessions[threads]

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` (no [CLS]/[SEP]), as the model's tokenizer splits it."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)


def length_batches(lengths: Sequence[int], batch_size: int, max_tokens: int) -> list[list[int]]:
    """Indexes of ``lengths`` longest first, cut into batches of ≤ ``batch_size`` items and ≤ ``max_tokens``
    padded tokens (the first item of a batch is its longest); every item is in exactly one batch."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < batch_size \
                and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= max_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches
