"""Logic of the server's thread-safety wrappers (fakes here; the real model is exercised in test_api)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from localkb.server.state import LockedStore, RoutedEmbedder


class SlowFakeEmbedder:
    """Vector of a text = [len(text), first char code]; records each call; refuses concurrent calls."""

    dim = 2
    id = "fake"

    def __init__(self) -> None:
        self.calls: list[int] = []
        self._inside = threading.Lock()

    def embed(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:  # the Embedder Protocol
        assert self._inside.acquire(blocking=False), "embed called concurrently"
        try:
            time.sleep(0.02)
            if any(t == "boom" for t in texts):
                raise RuntimeError("model failed")
            self.calls.append(len(texts))
            return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)
        finally:
            self._inside.release()


def test_concurrent_queries_are_batched_and_each_gets_its_own_vectors() -> None:
    fake = SlowFakeEmbedder()
    routed = RoutedEmbedder(fake, loader=lambda: pytest.fail("only the ingest worker loads a private model"))
    results: dict[str, np.ndarray] = {}

    def ask(text: str) -> None:
        results[text] = routed.embed([text])

    texts = [chr(ord("a") + i) * (i + 1) for i in range(24)]
    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for text in texts:
        assert results[text].tolist() == [[len(text), ord(text[0])]]
    assert sum(fake.calls) == len(texts) and len(fake.calls) < len(texts)  # fewer model calls than queries
    assert routed.dim == 2 and routed.id == "fake"  # everything else is the shared embedder's


def test_coalescing_off_embeds_each_query_alone(monkeypatch) -> None:
    monkeypatch.setenv("LOCALKB_COALESCE_EMBEDS", "false")  # the server benchmark's "before"
    fake = SlowFakeEmbedder()
    routed = RoutedEmbedder(fake, loader=lambda: None)
    results: dict[str, np.ndarray] = {}
    texts = [chr(ord("a") + i) * (i + 1) for i in range(12)]
    threads = [threading.Thread(target=lambda t=t: results.__setitem__(t, routed.embed([t]))) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.calls == [1] * len(texts)  # one model call per query, never two at once (the fake checks)
    assert all(results[t].tolist() == [[len(t), ord(t[0])]] for t in texts)


def test_an_error_reaches_every_caller_of_the_batch_and_the_next_call_works() -> None:
    routed = RoutedEmbedder(SlowFakeEmbedder(), loader=lambda: None)
    with pytest.raises(RuntimeError, match="model failed"):
        routed.embed(["boom"])
    assert routed.embed(["ok"]).shape == (1, 2)


def test_the_ingest_worker_uses_its_own_instance() -> None:
    shared, private = SlowFakeEmbedder(), SlowFakeEmbedder()
    routed = RoutedEmbedder(shared, loader=lambda: private)
    worker = threading.Thread(target=lambda: routed.embed(["from the worker"]))
    routed.worker = worker
    worker.start()
    worker.join()
    routed.embed(["from a search"])
    assert private.calls == [1] and shared.calls == [1]


def test_locked_store_serialises_calls() -> None:
    class Store:
        inside = threading.Lock()
        count_calls = 0

        def count(self) -> int:
            assert self.inside.acquire(blocking=False), "store called concurrently"
            time.sleep(0.005)
            self.inside.release()
            Store.count_calls += 1
            return 0

    store = LockedStore(Store())
    threads = [threading.Thread(target=store.count) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Store.count_calls == 10
