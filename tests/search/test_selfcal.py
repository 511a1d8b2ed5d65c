"""The cut-off calibrated from the KB itself (search.selfcal) on the real MiniLM, FAISS and bm25s: an English
KB of 40 passages gets a bar from its own sentence heads, shown in the record and in each result."""

from __future__ import annotations

from localkb.search import selfcal
from localkb.search.thresholds import calibration_record


def test_record_holds_the_bar_from_the_kbs_own_sentences(warehouse_kb):
    kb = warehouse_kb
    record = calibration_record(kb)
    own = record["languages"]["en"]["pseudo_queries"]
    assert own["n"] >= selfcal.MIN_CHUNKS and own["percentile"] == selfcal.PERCENTILE
    assert record["languages"]["en"]["kb_cutoff"] == own["quantiles"][str(selfcal.PERCENTILE)]
    q = own["quantiles"]
    assert q["5"] <= q["20"] <= q["50"] <= 1.0
    # its own sentences score well above everyday text about nothing here
    assert own["kb_cutoff"] > record["languages"]["en"]["cutoff"]
    assert "kb_cutoff" not in record["languages"]["zh"]  # Chinese keeps the bank's cut-off (no Chinese here)


def test_results_show_it_and_search_answers_and_refuses_by_it(warehouse_kb):
    kb = warehouse_kb
    res = kb.search("What must forklift drivers check before lifting?", k=3)
    assert res.hits and "Forklift" in res.hits[0].text
    assert res.calibration["kb_cutoff"] == calibration_record(kb)["languages"]["en"]["kb_cutoff"]
    # unrelated, though it shares a word with the KB ("site"): refused in dense mode too, by the evidence
    refused = kb.search("Which site has the best hiking trails in the mountains?", k=3, mode="dense")
    assert refused.hits == [] and "evidence" in (refused.reason or "")
    assert kb.search("红烧肉怎么做才好吃？").calibration["kb_cutoff"] is None
