"""Search on real components: packaged MiniLM, FAISS (and Chroma) files on disk, SQLite, bm25s, jieba."""

from __future__ import annotations

import shutil

import pytest

from localkb import KnowledgeBase
from localkb.errors import SearchError
from localkb.search import engine
from localkb.search.lexical import lexical_index

DOCS = {
    "ibe.md": "# IBE\n\nIBE stands for Inbound Exception. An IBE is raised when a shipment arrives damaged "
    "at the receiving dock and must be inspected before it is stored.",
    "obe.md": "# OBE\n\nOBE stands for Outbound Exception. An OBE is raised when an order cannot leave the "
    "warehouse because a shipment is damaged at the shipping dock.",
    "codes.txt": "E11.8 — Type 2 diabetes mellitus with unspecified complications.",
    "codes9.txt": "E11.9 — Type 2 diabetes mellitus without complications.",
    "aus.txt": "AUS / AU — Australia. ISO 3166-1 numeric code 036.",
    "aut.txt": "AUT / AT — Austria. ISO 3166-1 numeric code 040.",
    "hours.txt": "The warehouse opens at six in the morning. Trucks unload at the north dock.",
    "zh_nlp.txt": "北京大学的自然语言处理研究很有名。结巴分词是一个常用的中文分词工具。",
    "zh_history.txt": "三国演义是中国古典小说，讲述魏蜀吴三国的故事。诸葛亮是蜀国的丞相。",
}


def write_docs(root, docs=DOCS):
    root.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    base = tmp_path_factory.mktemp("search")
    docs = write_docs(base / "docs")
    with KnowledgeBase.open(base / "kb", store="faiss", create=True) as kb:
        kb.ingest([docs])
        yield kb


def sources(result):
    return [h.source.rsplit("/", 1)[-1] for h in result.hits]


@pytest.mark.parametrize("query", ["IBE", "What is an IBE?", "when is an IBE raised"])
def test_ibe_is_not_obe(kb, query):
    res = kb.search(query, k=5)
    assert res.mode == "hybrid"
    assert sources(res)[0] == "ibe.md"
    assert res.exact_match == {"IBE": True}
    assert res.hits[0].matched_terms == ["IBE"]
    assert all(not h.matched_terms for h in res.hits if "ibe.md" not in h.source)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("E11.9", "codes9.txt"),
        ("E11.8", "codes.txt"),
        ("Which country has the code AUT?", "aut.txt"),
        ("AUS", "aus.txt"),
    ],
)
def test_exact_codes_rank_first_in_every_mode(kb, query, expected):
    for mode in ("hybrid", "dense", "lexical"):
        res = kb.search(query, k=3, mode=mode, min_score="none")
        assert sources(res)[0] == expected, (mode, sources(res))


def test_nonexistent_code_says_so(kb):
    bare = kb.search("E11.99")
    assert bare.hits == [] and bare.exact_match == {"E11.99": False}
    assert "E11.99" in bare.reason
    in_sentence = kb.search("What does diabetes code E11.99 mean?", min_score="none")
    assert in_sentence.exact_match == {"E11.99": False}
    assert in_sentence.hits and all(h.matched_terms == [] for h in in_sentence.hits)
    assert kb.search("IBX").exact_match == {"IBX": False}


def test_result_json_carries_exact_match_and_scores(kb):
    data = kb.search("IBE", k=2).to_dict()
    assert data["exact_match"] == {"IBE": True}
    hit = data["hits"][0]
    assert set(hit["scores"]) == {"dense", "lexical", "fused"} and hit["matched_terms"] == ["IBE"]
    assert 0 <= hit["score"] <= 1 and -1 <= hit["scores"]["dense"] <= 1 and hit["scores"]["lexical"] > 0


def test_fusion_weights_follow_each_signals_evidence(kb):
    # both signals strong: the plain 0.5 / 0.5 split
    res = kb.search("when is an IBE raised", min_score="none")
    assert res.weights == {"dense": 0.5, "lexical": 0.5} and res.to_dict()["weights"] == res.weights
    # few of many query words match lexically ("morning", "unloading" → "unload"): BM25 gets less say
    res = kb.search(
        "At what hour in the morning can lorries start unloading their cargo near the northern loading bay "
        "entrance",
        min_score="none",
    )
    assert 0 < res.weights["lexical"] < 0.5 and sources(res)[0] == "hours.txt"
    # no query word in any chunk (stemmed, "arrive" would meet "arrives"): dense alone decides
    res = kb.search("what time do the lorries get here", min_score="none")
    assert res.weights == {"dense": 1.0, "lexical": 0.0} and sources(res)[0] == "hours.txt"
    assert engine.search(kb, "IBE", mode="hybrid", fusion="rrf").weights is None
    assert engine.search(kb, "IBE", fusion="convex-fixed", alpha=0.7).weights == {
        "dense": 0.7,
        "lexical": 0.3,
    }
    with pytest.raises(SearchError, match="Unknown fusion"):
        engine.search(kb, "IBE", fusion="max")
    assert kb.search("IBE", mode="dense").weights is None


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_chinese_keyword_search(kb, mode):
    res = kb.search("中文分词工具", mode=mode, k=3)
    assert sources(res)[0] == "zh_nlp.txt"
    res = kb.search("诸葛亮", mode=mode, k=3)
    assert sources(res)[0] == "zh_history.txt"


def test_lexical_scores_are_bm25(kb):
    res = kb.search("shipment damaged dock", mode="lexical", k=5)
    assert set(sources(res)[:2]) == {"ibe.md", "obe.md"}
    assert all(h.score > 0 and set(h.scores) == {"lexical"} for h in res.hits)
    assert kb.search("zebra xylophone", mode="lexical").hits == []


UNRELATED = [
    "how long should I bake sourdough bread at home",
    "best way to learn to play the violin",
    "What is the boiling point of water on Mount Everest?",
    "How do I renew my passport?",
    "symptoms of the common cold",
    "Which planets have rings?",
]
RELATED = [
    "when is an IBE raised",
    "What time does the warehouse open?",
    "where do trucks unload",
    "Who was the prime minister of Shu?",
]


def test_unrelated_queries_abstain_with_calibrated_cutoff(kb):
    results = [kb.search(q) for q in UNRELATED]
    abstained = [r for r in results if not r.hits]
    # the cut-off is statistical (docs/search.md): most, not necessarily all, unrelated questions abstain
    assert len(abstained) >= len(UNRELATED) - 1, [(r.query, r.hits[0].scores) for r in results if r.hits]
    assert all("cut-off" in r.reason for r in abstained)
    for q in RELATED:
        assert kb.search(q).hits, q
    cal = kb.manifest.extra["calibration"]
    assert cal["model"] == kb.manifest.model_id and cal["chunks"] == kb.store.count()
    assert abstained[0].min_score == pytest.approx(cal["cutoff"])
    assert kb.search(abstained[0].query, min_score="none").hits
    assert kb.search(abstained[0].query, mode="dense").hits == []
    assert kb.search("IBE shipment", min_score=0.99, mode="dense").hits == []


def test_bad_queries(kb):
    for query in ("", "   ", "?!... ---", "x" * 100_000):
        with pytest.raises(SearchError):
            kb.search(query)
    with pytest.raises(SearchError, match="Unknown search mode 'hybird'.*Did you mean 'hybrid'"):
        kb.search("IBE", mode="hybird")
    res = kb.search("the of and is")
    assert res.hits == [] and "stop words" in res.reason


def test_tag_filter_applies_to_lexical_hits(tmp_path):
    docs = write_docs(tmp_path / "a", {"a.txt": "zebra crossing near the school"})
    other = write_docs(tmp_path / "b", {"b.txt": "zebra stripes in the savanna"})
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([docs], tags=["city"])
        kb.ingest([other], tags=["wild"])
        for mode in ("lexical", "hybrid"):
            res = kb.search("zebra", tags=["wild"], mode=mode, min_score="none")
            assert sources(res) == ["b.txt"]


def test_lexical_index_follows_add_change_delete(tmp_path):
    docs = write_docs(tmp_path / "docs", {"one.txt": "The quokka lives on Rottnest Island."})
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([docs])
        lex = lexical_index(kb)
        assert sources(kb.search("quokka", mode="lexical")) == ["one.txt"]
        (docs / "two.txt").write_text("A wombat digs burrows.", encoding="utf-8")
        kb.ingest([docs])
        assert sources(kb.search("wombat", mode="lexical")) == ["two.txt"]
        (docs / "one.txt").write_text("The numbat eats termites.", encoding="utf-8")
        kb.ingest([docs])
        assert kb.search("quokka", mode="lexical").hits == []
        assert sources(kb.search("numbat", mode="lexical")) == ["one.txt"]
        (docs / "two.txt").unlink()
        kb.ingest([docs])
        assert kb.search("wombat", mode="lexical").hits == []
        assert lex.count() == kb.store.count() == 1
        rebuilds = lex.rebuilds
        kb.search("numbat", mode="lexical")
        assert lex.rebuilds == rebuilds  # nothing changed: no rebuild
        # another "process" (a second handle) changes the KB: this handle notices from SQLite
        with KnowledgeBase.open(tmp_path / "kb", create=True) as other:
            (docs / "three.txt").write_text("The bilby has long ears.", encoding="utf-8")
            other.ingest([docs])
        assert sources(kb.search("bilby", mode="lexical")) == ["three.txt"]


def test_lexical_index_is_derived_and_rebuildable(tmp_path):
    docs = write_docs(tmp_path / "docs", {"one.txt": "The quokka lives on Rottnest Island."})
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([docs])
        kb.search("quokka", mode="lexical")
    assert (tmp_path / "kb" / "lexical" / "current.json").is_file()
    shutil.rmtree(tmp_path / "kb" / "lexical")
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        assert sources(kb.search("quokka", mode="lexical")) == ["one.txt"]
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:  # reopened: loads the saved index, no rebuild
        assert sources(kb.search("quokka", mode="lexical")) == ["one.txt"]
        assert lexical_index(kb).rebuilds == 0


def test_a_damaged_lexical_index_is_rebuilt_unless_the_kb_was_opened_strict(tmp_path, monkeypatch):
    """``strict_lexical`` is read from the settings the KB was opened with (``kb.settings``)."""
    from localkb.errors import KBError
    from localkb.settings import load_settings

    docs = write_docs(tmp_path / "docs", {"one.txt": "The quokka lives on Rottnest Island."})
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([docs])
        kb.search("quokka", mode="lexical")
    current = tmp_path / "kb" / "lexical" / "current.json"
    current.write_text(current.read_text(encoding="utf-8")[:40], encoding="utf-8")  # cut mid-way
    monkeypatch.delenv("LOCALKB_STRICT_LEXICAL", raising=False)
    strict = load_settings(strict_lexical=True)
    with pytest.raises(KBError, match="Cannot load the lexical index"):  # opening checks the index
        KnowledgeBase.open(tmp_path / "kb", settings=strict)
    with KnowledgeBase.open(tmp_path / "kb") as kb:  # the default: rebuilt from chunks.sqlite
        assert sources(kb.search("quokka", mode="lexical")) == ["one.txt"]
        assert lexical_index(kb).rebuilds == 1


def test_enrichment_is_indexed_lexically(tmp_path):
    docs = write_docs(tmp_path / "docs", {"manual.txt": "Press the red button to stop the conveyor belt."})
    with KnowledgeBase.open(tmp_path / "kb", enrich=["tags"], create=True) as kb:
        kb.ingest([docs], tags=["forklift-zx9"])
        res = kb.search("forklift-zx9", mode="lexical")
        assert sources(res) == ["manual.txt"] and "zx9" not in res.hits[0].text
        hybrid = kb.search("forklift-zx9")
        assert hybrid.exact_match == {"forklift-zx9": True} and sources(hybrid)[0] == "manual.txt"
    with KnowledgeBase.open(tmp_path / "plain", create=True) as kb:
        kb.ingest([docs], tags=["forklift-zx9"])
        assert kb.search("forklift-zx9", mode="lexical").hits == []


def test_hybrid_on_chroma(tmp_path):
    pytest.importorskip("chromadb")
    docs = write_docs(tmp_path / "docs", {k: DOCS[k] for k in ("ibe.md", "obe.md", "hours.txt")})
    with KnowledgeBase.open(tmp_path / "kb", store="chroma", create=True) as kb:
        kb.ingest([docs])
        res = kb.search("IBE", k=3)
        assert sources(res)[0] == "ibe.md" and res.exact_match == {"IBE": True}
        assert "dense" in res.hits[0].scores
