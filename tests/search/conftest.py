"""Fixtures shared by the search tests: a small English KB on the real MiniLM, FAISS and BM25."""

from __future__ import annotations

import pytest

from localkb import KnowledgeBase

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


@pytest.fixture(scope="session")
def warehouse_kb(tmp_path_factory, embedder):
    """An English KB of 40 warehouse passages (8 topics), read (never changed) by the calibration tests."""
    tmp = tmp_path_factory.mktemp("warehouse")
    with KnowledgeBase.open(tmp / "kb", create=True) as kb:
        kb.ingest([corpus(tmp / "docs")])
        yield kb
