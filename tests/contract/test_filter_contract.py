"""``where`` metadata filters over every store, against the exact store (the contract-suite oracle).

Real components: the packaged MiniLM, real FAISS (flat and IVF), Chroma and Milvus Lite files, the
examples/ corpus (PDF with author and pages, DOCX, HTML, CSV columns, JSON keys). Filters are evaluated
in chunks.sqlite and given to each engine as its own id filter (FAISS id selector, Chroma ``ids``,
Milvus ``id in [...]``), so every built-in store takes every filter inside its engine.

The filter no store can push down: ``NoFilterStore`` is a store whose engine cannot filter at all
(``supports_filters = False``; it fails the test if it is ever handed an id filter), so every filter there
is applied after the store, exactly, with over-fetch (``engine.dense_hits``) — and must still give the
exact store's hits, the same ``matching_chunks`` and say ``applied: after the vector store``.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from localkb import KnowledgeBase
from localkb.errors import FilterError
from localkb.stores.base import STORES
from localkb.stores.exact import ExactStore

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"
#: name → the store of its KB (exact first: the oracle)
STORES_UNDER_TEST = {"exact": "exact", "faiss": "faiss", "faiss-ivf": "faiss://index?ann=on&nprobe=16",
                     "chroma": "chroma", "milvus": "milvus", "nofilter": "nofilter"}
STORE_NAMES = tuple(STORES_UNDER_TEST)


class NoFilterStore(ExactStore):
    """The exact store with its engine-side filter switched off: search ignores nothing, filters nothing."""

    supports_filters = False

    def search(self, vector, k, allowed=None):  # type: ignore[no-untyped-def]
        assert allowed is None, "a store without filters must never be handed an id filter"
        return super().search(vector, k)


@pytest.fixture(scope="module")
def kbs(tmp_path_factory):
    STORES["nofilter"] = f"{__name__}:NoFilterStore"
    out = {}
    try:
        for name in STORE_NAMES:
            folder = tmp_path_factory.mktemp(name) / "kb"
            with KnowledgeBase.open(folder, store=STORES_UNDER_TEST[name], create=True) as kb:
                kb.ingest([CORPUS], tags=["corpus"])
                kb.ingest([CORPUS / "exception-handling.pdf"], tags=["manual"])  # keeps "corpus" (no --retag)
            out[name] = folder
        yield out
    finally:
        STORES.pop("nofilter", None)


FILTERS = [
    "format=pdf",
    "pages>2",
    "path~*.md",
    "author=localkb examples (CC0)",
    "meta.team=dispatch",  # a CSV column's values
    "meta.codes.code=E11.9",  # a JSON key's values
    ["format!=txt", "ingested>=2000-01-01", "tag=corpus"],
    {"format": ["md", "html"]},
    "tag=manual",
]


def _search(folder: Path, where, k: int = 4, mode: str = "dense"):
    with KnowledgeBase.open(folder, create=False) as kb:
        return kb.search("what happens to an inbound exception", k=k, mode=mode, min_score="none", where=where)


@pytest.mark.parametrize("where", FILTERS, ids=str)
def test_every_store_returns_what_the_exact_store_returns(kbs, where):
    oracle = _search(kbs["exact"], where)
    assert oracle.hits and oracle.filters is not None and oracle.filters["matching_chunks"] >= len(oracle.hits)
    for name in STORE_NAMES[1:]:
        got = _search(kbs[name], where)
        assert [h.id for h in got.hits] == [h.id for h in oracle.hits], name
        assert got.filters is not None and got.filters["matching_chunks"] == oracle.filters["matching_chunks"]
    assert "after the vector store" in _search(kbs["nofilter"], where).filters["applied"]
    assert "engine" in _search(kbs["faiss"], where).filters["applied"]


def test_hits_satisfy_the_filter_in_every_mode(kbs):
    for name in STORE_NAMES[1:]:
        for mode in ("dense", "hybrid", "lexical"):
            pdf = _search(kbs[name], "format=pdf", k=10, mode=mode).hits
            assert pdf and all(h.source.endswith(".pdf") for h in pdf), (name, mode)
            md = _search(kbs[name], ["path~*.md", "title~*glossary*"], k=10, mode=mode).hits
            assert md and all(h.source.endswith("warehouse-glossary.md") for h in md), (name, mode)


def test_fewer_matches_than_k_come_back_and_say_so(kbs):
    for name in ("faiss", "nofilter"):
        result = _search(kbs[name], "format=pdf", k=50)
        assert len(result.hits) == result.filters["matching_chunks"] < 50
        assert "of the 50 hits asked for" in result.filters["note"]
        assert result.to_dict()["filters"]["where"] == ["format=pdf"]
    none = _search(kbs["faiss"], "pages>1000")
    assert none.hits == [] and "No chunk matches the filter(s): pages>1000" in (none.reason or "")


@pytest.mark.parametrize("where, field", [
    ("formt=pdf", "formt"),
    ("meta.teem=dispatch", "meta.teem"),
    ("title>3", "title"),
    ("pages>many", "pages"),
    ({"format": None}, "format"),
])
def test_unknown_or_bad_filters_are_errors_naming_the_field(kbs, where, field):
    with pytest.raises(FilterError) as err:
        _search(kbs["faiss"], where)
    assert err.value.data["field"] == field and field in err.value.message
    if field == "meta.teem":
        assert "Did you mean 'meta.team'" in err.value.message


def test_a_list_of_numbers_or_days_means_any_of_them(kbs):
    """``{"size": [a, b]}`` keeps the documents of either size — every value, not only the first."""
    with KnowledgeBase.open(kbs["exact"], create=False) as kb:
        docs = {Path(d["source"]).name: d for d in kb.documents()}
    sizes = [docs["exception-handling.pdf"]["size"], docs["warehouse-glossary.md"]["size"]]
    for name in ("exact", "faiss", "nofilter"):
        for where in ({"size": sizes}, [f"size={sizes[0]}"]):
            hits = _search(kbs[name], where, k=50, mode="hybrid").hits
            names = {Path(h.source).name for h in hits}
            expected = {"exception-handling.pdf", "warehouse-glossary.md"} if isinstance(where, dict) \
                else {"exception-handling.pdf"}
            assert names == expected, (name, where, names)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    both = _search(kbs["faiss"], {"ingested": ["2001-01-01", today]}, k=50)
    assert both.filters["matching_chunks"] == _search(kbs["faiss"], f"ingested={today}", k=50).filters["matching_chunks"]
    assert _search(kbs["faiss"], {"ingested": ["2001-01-01", "2001-01-02"]}).hits == []
    with pytest.raises(FilterError, match="'many' is not a number"):
        _search(kbs["faiss"], {"size": [sizes[0], "many"]})
