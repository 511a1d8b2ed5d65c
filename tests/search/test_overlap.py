"""``search.overlap``: the query's embedding runs on a worker thread while BM25 scores it (logic), and a real
search gives the same hits with the overlap on and off (the real MiniLM, FAISS and BM25)."""

from __future__ import annotations

import os
import threading

import pytest

from localkb import KnowledgeBase
from localkb.search.overlap import beside
from localkb.settings import load_settings


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: beside runs the call at once")
def test_beside_runs_on_another_thread_and_returns_its_result():
    seen = []
    wait = beside(lambda x: seen.append(threading.current_thread().name) or x * 2, 21)
    assert wait() == 42 and seen[0].startswith("localkb-search")


def test_beside_reraises_the_workers_exception():
    def boom():
        raise ValueError("no encoder")

    wait = beside(boom)
    with pytest.raises(ValueError, match="no encoder"):
        wait()


def test_beside_off_runs_in_the_callers_thread():
    seen = []
    wait = beside(lambda: seen.append(threading.current_thread().name) or "done", enabled=False)
    assert seen == [threading.current_thread().name] and wait() == "done"


def test_the_same_hits_with_the_overlap_on_and_off(warehouse_kb, monkeypatch):
    monkeypatch.setenv("LOCALKB_SEARCH_OVERLAP", "off")
    with KnowledgeBase.open(warehouse_kb.path, settings=load_settings()) as off:
        assert off.settings.search_overlap is False
        for query in ("What must forklift drivers check before lifting?", "how cold must chilled goods be"):
            for mode in ("hybrid", "dense"):
                a, b = warehouse_kb.search(query, k=5, mode=mode), off.search(query, k=5, mode=mode)
                assert [h.id for h in a.hits] == [h.id for h in b.hits] and a.hits
                assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], abs=1e-6)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: beside runs the call at once")
def test_a_second_call_while_the_worker_is_busy_runs_in_its_callers_thread():
    gate, names = threading.Event(), []
    first = beside(lambda: gate.wait(5) and names.append(threading.current_thread().name))
    second = beside(lambda: names.append(threading.current_thread().name))  # the worker is still busy
    assert names == [threading.current_thread().name]
    gate.set()
    first(), second()
    assert names[1].startswith("localkb-search")
    third = beside(lambda: threading.current_thread().name)  # free again once the first call finished
    assert third().startswith("localkb-search")
