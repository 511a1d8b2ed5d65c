"""``cluster`` on the bundled corpus (real MiniLM vectors, FAISS k-means, jieba for the Chinese labels)."""
from __future__ import annotations

import json
import re

import pytest

from localkb import KnowledgeBase
from localkb.errors import MapError, SearchError
from localkb.mapping import records

from ..conftest import run_cli
from .conftest import CORPUS, GLOSSARY

HAN = re.compile(r"^[\u4e00-\u9fff]{2,}$")
LATIN_WORD = re.compile(r"^[a-z][a-z\-]{2,}$")


def test_clusters_are_labelled_with_english_and_chinese_words(kb_copy):
    with KnowledgeBase.open(kb_copy, create=False) as kb:
        result = kb.cluster(k=3)
        assert result.k == 3 and result.criterion == "given: k=3" and result.run == "new"
        assert sum(c.size for c in result.clusters) == result.chunks == kb.stats()["chunks"]
        terms = [t for c in result.clusters for t in c.terms]
        assert any(HAN.match(t) for t in terms), terms  # Chinese words (≥ 2 characters), not characters
        assert any(LATIN_WORD.match(t) for t in terms), terms
        assert not any(len(t) == 1 for t in terms)
        assert all(c.examples and c.label for c in result.clusters)
        # a search restricted to one cluster only returns that cluster's chunks
        chinese = next(c for c in result.clusters if any(HAN.match(t) for t in c.terms))
        hits = kb.search("刘备 关羽 张飞", k=5, cluster=chinese.id, min_score="none").hits
        members = {r[0] for r in kb.db.query("SELECT chunk_id FROM chunk_clusters WHERE cluster=?", (chinese.id,))}
        assert hits and {h.id for h in hits} <= members
        with pytest.raises(SearchError, match="No cluster 99"):
            kb.search("IBE", cluster=99)


def test_auto_states_its_criterion_and_a_rerun_updates(kb_copy, tmp_path):
    with KnowledgeBase.open(kb_copy, create=False) as kb:
        stages: list[str] = []
        first = kb.cluster(progress=lambda stage, done, total: stages.append(stage))
        assert {"vectors", "choose k"} <= set(stages)  # large KBs show progress (the CLI draws these)
        assert first.criterion.startswith("auto: k=") and "silhouette" in first.criterion
        assert first.scores and first.k in first.scores
        (tmp_path / "more").mkdir()
        (tmp_path / "more" / "note.md").write_text("# Forklift safety\n\nForklift drivers wear a helmet and check "
                                                    "the brakes before every shift at the Larkspur warehouse.\n")
        kb.ingest([tmp_path / "more"])
        before = records.cluster_assignment(kb.db)
        second = kb.cluster()
        assert second.run == "updated" and second.k == first.k and "1 new chunks" in second.note
        after = records.cluster_assignment(kb.db)
        kept = sum(after[c] == before[c] for c in before)
        assert kept >= 0.8 * len(before), (kept, len(before))  # a warm start keeps what each cluster id means

        fresh = kb.cluster(fresh=True)
        assert fresh.run == "restarted" and "started over" in fresh.note


def test_cli_json_plot_and_bad_k(kb_copy, tmp_path):
    kb = str(kb_copy)
    png, page = tmp_path / "map.png", tmp_path / "map.html"
    proc = run_cli("cluster", "--kb", kb, "--k", "3", "--json", "--plot", str(png))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["k"] == 3 and {"k", "criterion", "features", "clusters"} <= set(out)
    assert out["features"].startswith("dense vectors beside a lexical half")  # what k-means ran on is said
    assert all({"id", "label", "terms", "size", "examples"} <= set(c) for c in out["clusters"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert run_cli("cluster", "--kb", kb, "--plot", str(page)).returncode == 0
    html = page.read_text(encoding="utf-8")
    assert html.count("<circle") >= 30 and "http" not in html.replace("http-equiv", "")  # offline, self-contained
    before = (kb_copy / "chunks.sqlite").read_bytes()
    for bad in ("0", "1", "many"):
        proc = run_cli("cluster", "--kb", kb, "--k", bad)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (bad, proc.stderr)
    assert run_cli("cluster", "--kb", kb, "--k", "500").returncode == 1
    assert run_cli("cluster", "--kb", kb, "--plot", str(tmp_path / "map.gif")).returncode == 2
    assert (kb_copy / "chunks.sqlite").read_bytes() == before


def test_cluster_errors_on_empty_and_one_document_kbs(tmp_path):
    with KnowledgeBase.open(tmp_path / "empty", create=True) as kb:
        with pytest.raises(MapError, match="empty"):
            kb.cluster()
    with KnowledgeBase.open(tmp_path / "one", create=True) as kb:
        kb.ingest([CORPUS / GLOSSARY])
        with pytest.raises(MapError, match="only one document"):
            kb.cluster()
        with pytest.raises(MapError, match="≥ 2"):
            kb.cluster(k=0)
        assert kb.db.scalar("SELECT COUNT(*) FROM chunk_clusters") == 0
