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
