"""The cut-off calibrated from the KB itself (search.selfcal) on the real MiniLM, FAISS and bm25s: an English
KB of 40 passages gets a bar from its own sentence heads, shown in the record and in each result."""

from __future__ import annotations

import pytest

from localkb import KnowledgeBase
from localkb.search import selfcal
from localkb.search.thresholds import calibration_record

TOPICS = [
    ("dock", "Inbound pallets are unloaded at the dock and checked for damage before they are stored."),
    ("forklift", "Forklift drivers inspect the brakes, forks and mast before the first lift of each shift."),
    ("picking", "Pickers walk the aisles with a handheld scanner and confirm every item they take."),
    ("returns", "Returned parcels are opened at the returns desk, graded and restocked or scrapped."),
    ("cold", "Chilled goods stay between two and eight degrees from the truck to the cold room."),
    ("labels", "Every carton gets a shipping label with a barcode that names its route and depot."),
    ("safety", "Visitors wear a high-visibility vest and stay inside the marked walkways at all times."),
    ("stocktake", "A full stocktake counts every bin once a year; cycle counts check a few bins daily."),
]


def corpus(root):
    root.mkdir(parents=True)
    for i in range(40):
        name, line = TOPICS[i % len(TOPICS)]
        (root / f"{name}-{i}.txt").write_text(
            f"{line} Site {i} follows this rule in hall {i % 5} and the supervisor signs the log every evening. "
            f"Questions about it go to the shift lead of site {i}.", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def kb(tmp_path_factory, embedder):
    tmp = tmp_path_factory.mktemp("selfcal")
    with KnowledgeBase.open(tmp / "kb", create=True) as kb:
        kb.ingest([corpus(tmp / "docs")])
        yield kb


def test_record_holds_the_bar_from_the_kbs_own_sentences(kb):
    record = calibration_record(kb)
    own = record["languages"]["en"]["pseudo_queries"]
    assert own["n"] >= selfcal.MIN_CHUNKS and own["percentile"] == selfcal.PERCENTILE
    assert record["languages"]["en"]["kb_cutoff"] == own["quantiles"][str(selfcal.PERCENTILE)]
    q = own["quantiles"]
    assert q["5"] <= q["20"] <= q["50"] <= 1.0
    # its own sentences score well above everyday text about nothing here
    assert own["kb_cutoff"] > record["languages"]["en"]["cutoff"]
    assert "kb_cutoff" not in record["languages"]["zh"]  # Chinese keeps the bank's cut-off (no Chinese here)


def test_results_show_it_and_search_answers_and_refuses_by_it(kb):
    res = kb.search("What must forklift drivers check before lifting?", k=3)
    assert res.hits and "Forklift" in res.hits[0].text
    assert res.calibration["kb_cutoff"] == calibration_record(kb)["languages"]["en"]["kb_cutoff"]
    # unrelated, though it shares a word with the KB ("site"): refused, and the reason names the cut-off
    refused = kb.search("Which site has the best hiking trails in the mountains?", k=3, mode="dense")
    assert refused.hits == [] and "cut-off" in (refused.reason or "")
    assert kb.search("红烧肉怎么做才好吃？").calibration["kb_cutoff"] is None
