"""Concurrent embed calls share one encoder call (issue 18), on the real packaged MiniLM."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from localkb.embedders.batching import Coalescer

QUESTIONS = [f"Where is the office number {i} and who runs it?" for i in range(24)]


def test_concurrent_calls_are_coalesced_and_each_gets_its_own_rows(embedder):
    single = embedder.embed(QUESTIONS)
    before_calls, before_requests = embedder._combine.calls, embedder._combine.requests
    results: dict[int, np.ndarray] = {}
    start = threading.Barrier(len(QUESTIONS))

    def ask(i: int) -> None:
        start.wait()
        results[i] = embedder.embed([QUESTIONS[i]])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(QUESTIONS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    calls = embedder._combine.calls - before_calls
    assert embedder._combine.requests - before_requests == len(QUESTIONS)
    assert calls < len(QUESTIONS) / 2, calls  # 24 searches, a handful of encoder calls
    for i in range(len(QUESTIONS)):
        assert results[i].shape == (1, 384)
        np.testing.assert_allclose(results[i][0], single[i], atol=1e-5)


def test_an_encoder_error_reaches_every_waiting_caller():
    gate = threading.Event()

    def encode(texts, batch_size):
        gate.wait(5)
        raise ValueError("broken encoder")

    comb = Coalescer(encode)
    errors: list[str] = []

    def call() -> None:
        try:
            comb(["x"], 8)
        except ValueError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(timeout=10)
    assert errors == ["broken encoder"] * 5
    with pytest.raises(ValueError):
        comb(["y"], 8)


@pytest.mark.parametrize("merge", [True, False])
def test_merge_off_encodes_each_caller_alone_one_at_a_time(merge):
    gate, running, seen = threading.Event(), [], []
    lock = threading.Lock()

    def encode(texts, batch_size):
        with lock:
            running.append(1)
            assert len(running) == 1  # never two encodes at once, merged or not
        gate.wait(5)
        seen.append(list(texts))
        with lock:
            running.pop()
        return np.array([[float(t)] for t in texts])

    comb = Coalescer(encode, merge=merge)
    out: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, comb([str(i)], 8))) for i in range(6)]
    for t in threads:
        t.start()
    while comb.requests < 6:  # every caller has queued behind the first, blocked encode
        threading.Event().wait(0.01)
    gate.set()
    for t in threads:
        t.join(timeout=10)
    assert {i: float(v[0, 0]) for i, v in out.items()} == {i: float(i) for i in range(6)}
    assert comb.calls == (2 if merge else 6) and len(seen) == comb.calls
    assert max(len(s) for s in seen) == (5 if merge else 1)


def test_coalescing_follows_the_setting(monkeypatch):
    monkeypatch.setenv("LOCALKB_COALESCE_EMBEDS", "false")
    assert Coalescer(lambda t, b: np.zeros((len(t), 1))).merge is False
    monkeypatch.delenv("LOCALKB_COALESCE_EMBEDS")
    assert Coalescer(lambda t, b: np.zeros((len(t), 1))).merge is True


def test_a_merged_call_never_holds_more_than_max_texts():
    sizes: list[int] = []
    gate = threading.Event()

    def encode(texts, batch_size):
        gate.wait(5)
        sizes.append(len(texts))
        return np.array([[float(t)] for t in texts])

    combine = Coalescer(encode, merge=True, max_texts=5)
    results: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, combine([str(i), str(i)], 8)))
               for i in range(12)]
    for t in threads:
        t.start()
    threading.Timer(0.3, gate.set).start()
    for t in threads:
        t.join(timeout=30)
    assert sum(sizes) == 24 and max(sizes) <= 5 and len(sizes) < 12  # merged, yet capped
    assert all(results[i].ravel().tolist() == [float(i)] * 2 for i in range(12))
