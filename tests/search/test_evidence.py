"""The refusal rule of ``auto`` in hybrid and dense mode: dense + lexical evidence on the KB's own scale
(``search.evidence``). Pure pieces, then the real MiniLM, FAISS and BM25 on a 40-passage English KB, the
Python API and ``localkb search --json`` (the KB: ``warehouse_kb`` of tests/search/conftest.py)."""

from __future__ import annotations

import json

import pytest

from localkb.search import evidence
from localkb.search.thresholds import auto_answers, calibration_record

from ..conftest import run_cli

SCALE = {"dense": [0.2, 0.6], "terms": [0.25, 1.0], "threshold": 0.65}


def test_term_share_weighs_rare_words_and_needs_them_in_one_chunk():
    weights = {"forklift": 3.0, "brake": 2.0, "site": 0.5}
    assert evidence.term_share(weights, [["forklift", "brake", "site", "other"]]) == pytest.approx(1.0)
    # the rare words spread over two chunks are not found together: the best single chunk counts
    assert evidence.term_share(weights, [["forklift"], ["brake", "site"]]) == pytest.approx(3.0 / 5.5)
    assert evidence.term_share(weights, [["site"]]) == pytest.approx(0.5 / 5.5)
    assert evidence.term_share(weights, []) == 0.0 and evidence.term_share({}, [["x"]]) == 0.0


def test_best_chunks_are_the_top_by_each_signal_without_repeats():
    dense = {f"d{i}": 1 - i / 100 for i in range(30)} | {"both": 0.995}
    lexical = {"both": 9.0, "l1": 5.0, "zero": 0.0}
    got = evidence.best_chunks(dense, lexical, n=3)
    assert got == ["d0", "both", "d1", "l1"]


@pytest.mark.parametrize(("best", "share", "answered"), [
    (0.6, 0.25, True),    # dense alone as strong as the KB's own sentences
    (0.2, 1.0, True),     # every query word in one chunk, cosine at the level of unrelated text
    (0.35, 0.6, True),    # some of each: 0.375 + 0.467
    (0.3, 0.4, False),    # a little of each: 0.25 + 0.2
    (0.45, 0.25, False),  # a half-related cosine and no words of its own
])
def test_either_signal_or_both_together_answer(best, share, answered):
    score = evidence.score(best, share, SCALE)
    cal = {"cutoff": 0.3, "strict": 0.4, "kb_cutoff": 0.5, "evidence": SCALE}
    assert auto_answers(best, cal, exact=False, lexical_strong=True, words_found=True, evidence=score) is answered
    assert auto_answers(best, cal, exact=True, lexical_strong=False, words_found=False, evidence=score)  # a code


def test_the_kb_records_its_scale_from_its_bank_and_its_own_sentences(warehouse_kb):
    kb = warehouse_kb
    lang = calibration_record(kb)["languages"]["en"]
    scale = lang["evidence"]
    assert scale["dense"] == [lang["bank_scores"]["median"], lang["pseudo_queries"]["quantiles"]["50"]]
    assert scale["dense"][0] < scale["dense"][1]  # its own sentences score above everyday text
    assert 0.0 <= scale["terms"][0] < scale["terms"][1] == 1.0
    assert "evidence" not in calibration_record(kb)["languages"]["zh"]  # no Chinese chunks here


def test_answers_and_refusals_say_what_evidence_they_had(warehouse_kb):
    kb = warehouse_kb
    res = kb.search("What must forklift drivers check before lifting?", k=3)
    assert res.hits and "Forklift" in res.hits[0].text
    ev = res.calibration["evidence"]
    assert ev["threshold"] == evidence.THRESHOLD and ev["score"] >= ev["threshold"]
    assert ev["score"] == pytest.approx(ev["dense_part"] + ev["terms_part"], abs=1e-3)
    assert ev["terms_share"] > 0.5 and "bank" in ev["from"]
    # unrelated, though it shares a word with the KB ("site"): refused, and the reason gives the evidence
    refused = kb.search("Which site has the best hiking trails in the mountains?", k=3)
    assert refused.hits == [] and refused.calibration["evidence"]["score"] < evidence.THRESHOLD
    assert "evidence" in refused.reason and "--min-score none" in refused.reason
    assert kb.search("Which site has the best hiking trails in the mountains?", min_score="none").hits
    assert kb.search("红烧肉怎么做才好吃？").calibration["evidence"] is None  # Chinese: the bank's rule


def test_search_json_shows_the_evidence(warehouse_kb):
    kb = warehouse_kb
    out = run_cli("search", "Who signs the log every evening?", "--kb", str(kb.path), "--json")
    assert out.returncode == 0, out.stderr
    cal = json.loads(out.stdout)["calibration"]
    assert set(cal["evidence"]) >= {"score", "threshold", "dense_part", "terms_part", "dense", "terms", "from"}
    human = run_cli("search", "Who signs the log every evening?", "--kb", str(kb.path))
    assert human.returncode == 0 and f"of the {evidence.THRESHOLD:.2f} asked" in human.stdout


@pytest.mark.parametrize("question", [
    "what do I wear as a guest",  # in other words: cosine 0.33, below the KB's own bar (kb_cutoff 0.47)
    "how often are bins counted",
    "Which site has the best hiking trails in the mountains?",  # unrelated: refused by both
    "How do I bake sourdough bread?",
])
def test_dense_mode_answers_and_refuses_as_hybrid_does(warehouse_kb, question):
    kb = warehouse_kb
    dense, hybrid = kb.search(question, k=3, mode="dense"), kb.search(question, k=3)
    assert dense.calibration["evidence"]["score"] == hybrid.calibration["evidence"]["score"]
    assert bool(dense.hits) == bool(hybrid.hits) == (dense.calibration["evidence"]["score"] >= evidence.THRESHOLD)
    if dense.hits:
        assert dense.hits[0].text == hybrid.hits[0].text
    else:
        assert "evidence" in dense.reason


def test_dense_mode_answers_a_question_in_other_words_below_the_cosine_bar(warehouse_kb):
    res = warehouse_kb.search("what do I wear as a guest", k=3, mode="dense")
    assert res.hits and "high-visibility vest" in res.hits[0].text
    assert res.calibration["evidence"]["best_dense"] < res.calibration["kb_cutoff"]  # the old rule refused it
