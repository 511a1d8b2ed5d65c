"""In-process GGUF models through llama-cpp-python: ``llamacpp:///abs/path/model.gguf``.

The chat template comes from the GGUF metadata (llama-cpp-python reads ``tokenizer.chat_template``).
Thread count: argument > ``LOCALKB_LLM_THREADS`` > 2; context window: argument > ``LOCALKB_LLM_CTX`` >
4096 (capped by what the model was trained for). ``OMP_WAIT_POLICY=PASSIVE`` is set before the library
loads, because spinning OpenMP threads on a busy 2-core machine slow prompt processing down tenfold.

KV-cache reuse: one loaded model keeps the key/value cache of its last prompt, and llama-cpp-python's
``Llama.generate`` evaluates only the tokens after the longest prefix the new prompt shares with it
(``kv_cache_seq_rm`` drops the rest). ``ask`` puts what never changes first (the system prompt with the
rules, then the fixed opening of the user message), so from the second question on that prefix is not
processed again. ``last_cached_tokens`` says how many prompt tokens the last call reused;
``reuse_prefix=False`` resets the cache before every call (to measure what the reuse saves).
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, LLMError, LLMTimeout, MissingDependency, ModelError
from .base import Message
from .gguf import verify_gguf

if TYPE_CHECKING:
    from ..settings import Settings

DEFAULT_THREADS = 2
DEFAULT_CONTEXT = 4096


def gguf_path_from_uri(uri: str) -> Path:
    """``llamacpp:///abs/model.gguf`` (or ``llamacpp://~/m.gguf``, ``llamacpp://rel/m.gguf``) → a path."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    if not rest:
        raise ConfigError("llamacpp:// needs a path to a .gguf file, e.g. llamacpp:///models/qwen.gguf")
    return Path(rest).expanduser()


def _shared_prefix(before: Sequence[int], now: Any) -> int:
    """Tokens at the start of ``now`` equal to those of ``before`` (what the KV cache kept)."""
    n = 0
    for a, b in zip(before, now):
        if a != b:
            break
        n += 1
    return n


class LlamaCppLLM:
    """A GGUF model loaded in this process. Calls are serialised: a llama context is not thread-safe."""

    def __init__(self, uri: str, *, timeout: float = 120.0, threads: int | None = None,
                 context_window: int | None = None, reuse_prefix: bool = True,
                 settings: Settings | None = None) -> None:
        from ..settings import current

        self.uri = uri
        self.reuse_prefix = reuse_prefix
        #: prompt tokens of the last call taken from the KV cache of the call before (not processed again)
        self.last_cached_tokens: int | None = None
        self.timeout = float(timeout)
        self.path = verify_gguf(gguf_path_from_uri(uri))
        self.model = self.path.stem
        settings = current(settings).merged(llm_threads=threads, llm_ctx=context_window)
        self.threads = settings.llm_threads or DEFAULT_THREADS
        n_ctx = settings.llm_ctx or DEFAULT_CONTEXT
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise MissingDependency(
                "llamacpp:// needs llama-cpp-python: pip install 'localkb[llm]'", scheme="llamacpp") from exc
        try:
            self._llama: Any = Llama(model_path=str(self.path), n_ctx=n_ctx, n_threads=self.threads,
                                     n_threads_batch=self.threads, n_gpu_layers=0, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"Cannot load GGUF model {self.path}: the file is corrupt, truncated or of an "
                             f"unsupported architecture ({exc})", path=str(self.path)) from exc
        trained = int(self._llama._model.n_ctx_train() or n_ctx)
        self.context_window = min(int(self._llama.n_ctx()), trained)
        self._lock = threading.Lock()
        # greedy decoding ignores the seed; sampled replies get a new seed each call (reproducible per
        # process), so asking twice at temperature > 0 can give two different answers (self-consistency)
        self._samples = 0

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes with this model's own tokenizer."""
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def chat(self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0,
             stop: Sequence[str] | None = None) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop))

    def stream(self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0,
               stop: Sequence[str] | None = None) -> Iterator[str]:
        """Yield the answer piece by piece; ``LLMTimeout`` once ``timeout`` seconds have passed."""
        deadline = time.monotonic() + self.timeout
        with self._lock:
            seed = 0
            if temperature > 0:
                self._samples += 1
                seed = self._samples
            if not self.reuse_prefix:
                self._llama.reset()
            before = self._llama._input_ids.tolist()
            self.last_cached_tokens = None
            try:
                chunks = self._llama.create_chat_completion(
                    messages=list(messages), max_tokens=max_tokens, temperature=temperature,
                    top_k=1 if temperature == 0 else 40, stop=list(stop) if stop else None,
                    stream=True, seed=seed)
                for chunk in chunks:
                    if self.last_cached_tokens is None:  # the prompt is evaluated before the first chunk
                        self.last_cached_tokens = _shared_prefix(before, self._llama._input_ids)
                    piece = chunk["choices"][0].get("delta", {}).get("content")
                    if piece:
                        yield piece
                    if time.monotonic() > deadline:
                        raise LLMTimeout(f"{self.model} did not finish within {self.timeout:g} s",
                                         timeout=self.timeout)
            except ValueError as exc:  # e.g. prompt longer than the context window
                raise LLMError(f"{self.model}: {exc}", model=self.model) from exc

    def close(self) -> None:
        llama = getattr(self, "_llama", None)
        if llama is not None:
            llama.close()
            self._llama = None
