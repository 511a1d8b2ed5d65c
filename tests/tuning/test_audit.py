"""``audit`` on the real bundled corpus with the real packaged MiniLM."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from localkb.tuning.audit import find_collisions
from localkb.tuning.terms import Term, defining_sentence, near_miss, near_miss_pairs

from ..conftest import run_cli


def test_near_miss_rules() -> None:
    assert near_miss("IBE", "OBE") and near_miss("E11.9", "E11.8") and near_miss("SKU-1234", "SKU-1243")
    assert not near_miss("IBE", "IBE") and not near_miss("IBE", "IBEX") and not near_miss("E11.9", "E19.1")
    assert near_miss_pairs([Term("OBE", 1), Term("IBE", 1), Term("ASN", 1)]) == [("IBE", "OBE")]


def test_defining_sentence() -> None:
    text = "Intro.\n\n## IBE — Inbound Exception\n\nAn **IBE (Inbound Exception)** is any problem found at the dock."
    assert defining_sentence("IBE", text) == "IBE — Inbound Exception"
    assert defining_sentence("OBE", text) is None


def test_glossary_ibe_obe_is_a_collision(corpus_kb: Path) -> None:
    from localkb import KnowledgeBase

    with KnowledgeBase.open(corpus_kb, create=False) as kb:
        report = kb.audit()
    pairs = {c.terms: c for c in report.collisions}
    ibe = pairs[("IBE", "OBE")]
    assert "definitions" in ibe.signals and ibe.cosine >= report.bar > report.cutoff > 0
    # the two chunks are the ones that define them (the glossary or the procedure PDF, whichever scores best)
    assert "Inbound Exception" in ibe.chunks[0]["text"] and "Outbound Exception" in ibe.chunks[1]["text"]
    # hybrid search ranks the IBE chunk above the OBE one today (the identifier rule)
    ranks = ibe.hybrid["IBE"]
    assert ranks["own"] is not None and (ranks["other"] is None or ranks["own"] < ranks["other"])
    # the onboarding file and its 2025 draft are near-duplicates from different sources
    assert report.duplicates is not None and report.duplicates["groups"] >= 1
    assert not report.clean


def test_top_hit_signal_is_pure_logic() -> None:
    texts = {"a": "Code X1A opens here.", "b": "Code X1B is something else.", "c": "Nothing."}
    vectors = np.eye(3, dtype=np.float32)

    def embed(words):  # X1A's query points at X1B's chunk: the model confuses them
        return np.array([[0, 1, 0] if w == "X1A" else [0, 1, 0] for w in words], dtype=np.float32)

    rows, terms, pairs = find_collisions(texts, vectors, embed, cutoff=0.2)
    assert terms == 2 and pairs == 1
    assert rows[0].terms == ("X1A", "X1B") and rows[0].signals == ["top-hit"] and rows[0].cosine == 0.0


def test_cli_audit_json_and_human(corpus_kb: Path) -> None:
    done = run_cli("audit", "--kb", str(corpus_kb), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert ["IBE", "OBE"] in [c["terms"] for c in data["collisions"]] and data["clean"] is False
    human = run_cli("audit", "--kb", str(corpus_kb), "--show", "50", "--no-duplicates")
    assert human.returncode == 0 and "IBE ~ OBE" in human.stdout and "localkb tune" in human.stdout


def test_cli_audit_missing_kb(tmp_path: Path) -> None:
    done = run_cli("audit", "--kb", str(tmp_path / "nope"))
    assert done.returncode == 1 and "No knowledge base" in done.stderr and "Traceback" not in done.stderr
