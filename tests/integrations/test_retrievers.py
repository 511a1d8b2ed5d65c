"""The LangChain and LlamaIndex retrievers, used through each library's own retrieval calls, on the real
packaged MiniLM and a real FAISS KB of the bundled corpus."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localkb.errors import SearchError

SRC = Path(__file__).resolve().parents[2] / "src"


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})


# -- LangChain -----------------------------------------------------------------------------------
lc = pytest.importorskip("localkb.integrations.langchain", reason="needs langchain-core")


def test_langchain_invoke_returns_documents_with_metadata_scores_citations(corpus_kb: Any) -> None:
    retriever = lc.LocalKBRetriever(kb=corpus_kb, k=3)
    docs = retriever.invoke("What does IBE stand for?")
    assert 1 <= len(docs) <= 3
    top = docs[0]
    assert "IBE" in top.page_content and top.id == top.metadata["chunk_id"]
    meta = top.metadata
    assert meta["source"].endswith("warehouse-glossary.md") and meta["citation"] == f"[1] {meta['source']}"
    assert "IBE" in meta["matched_terms"] and meta["exact_match"] == {"IBE": True}
    assert meta["scores"]["dense"] <= 1 and meta["score"] == max(d.metadata["score"] for d in docs)
    assert corpus_kb.get_chunk(top.id)["text"] == top.page_content


def test_langchain_options_pass_through(corpus_kb: Any, tmp_path: Any) -> None:
    retriever = lc.LocalKBRetriever(kb=corpus_kb, k=5, mode="lexical")
    assert len(retriever.invoke("IBE", k=1)) == 1  # per-call override
    assert {d.metadata["mode"] for d in retriever.invoke("IBE")} == {"lexical"}
    tagged = lc.LocalKBRetriever(kb=corpus_kb, filter_tags=["example"])
    assert tagged.invoke("IBE") and tagged.invoke("IBE", filter_tags=["missing"]) == []
    assert "missing" in tagged.last_result.reason
    assert lc.LocalKBRetriever(kb=corpus_kb).invoke("E11.99") == []
    # the cut-off: an unrelated question is empty by default, and "none" shows the closest chunks anyway
    open_retriever = lc.LocalKBRetriever(kb=corpus_kb, min_score="none", k=2)
    assert lc.LocalKBRetriever(kb=corpus_kb).invoke("What is the capital of Peru?") == []
    assert len(open_retriever.invoke("What is the capital of Peru?")) == 2
    assert lc.LocalKBRetriever(kb=str(corpus_kb.path)).invoke("IBE")  # a path works too


def test_langchain_inside_a_chain(corpus_kb: Any) -> None:
    from langchain_core.runnables import RunnableLambda

    retriever = lc.LocalKBRetriever(kb=corpus_kb, k=2)
    chain = retriever | RunnableLambda(lambda docs: [d.metadata["citation"] for d in docs])
    assert chain.invoke("OBE")[0].startswith("[1] ")
    assert [len(r) > 0 for r in retriever.batch(["IBE", "E11.99"])] == [True, False]


def test_langchain_unknown_options_are_errors(corpus_kb: Any) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="search_kwargs"):
        lc.LocalKBRetriever(kb=corpus_kb, search_kwargs={"k": 2})
    with pytest.raises(TypeError):
        lc.LocalKBRetriever(kb=corpus_kb).invoke("IBE", filter={"tag": "x"})
    with pytest.raises(ValidationError):
        lc.LocalKBRetriever(kb=corpus_kb, mode="fuzzy")
    with pytest.raises(SearchError, match="lexical"):
        lc.LocalKBRetriever(kb=corpus_kb).invoke("IBE", mode="fuzzy")


def test_langchain_filters_on_metadata_as_kb_search_does(corpus_kb: Any) -> None:
    from localkb.errors import FilterError

    pdf = lc.LocalKBRetriever(kb=corpus_kb, k=10, min_score="none", where="format=pdf").invoke("exception")
    assert pdf and all(d.metadata["source"].endswith(".pdf") for d in pdf)
    md = lc.LocalKBRetriever(kb=corpus_kb, k=10, min_score="none", where={"format": "pdf"}).invoke(
        "exception", where=["path~*.md"])  # a per-call where replaces the retriever's
    assert md and all(d.metadata["source"].endswith(".md") for d in md)
    with pytest.raises(FilterError, match="Unknown filter field 'formt'. Did you mean 'format'?"):
        lc.LocalKBRetriever(kb=corpus_kb, where=["formt=pdf"])
    with pytest.raises(SearchError, match=r"^k must be at least 1\.$"):  # the message of kb.search, CLI, HTTP
        lc.LocalKBRetriever(kb=corpus_kb, k=0)


# -- LlamaIndex ----------------------------------------------------------------------------------
li = pytest.importorskip("localkb.integrations.llamaindex", reason="needs llama-index-core")


def test_llamaindex_retrieve_returns_nodes_with_scores(corpus_kb: Any) -> None:
    from llama_index.core.schema import NodeWithScore, TextNode

    retriever = li.LocalKBRetriever(corpus_kb, k=3)
    nodes = retriever.retrieve("What does IBE stand for?")
    assert nodes and all(isinstance(n, NodeWithScore) and isinstance(n.node, TextNode) for n in nodes)
    top = nodes[0]
    assert "IBE" in top.node.get_content() and top.node.node_id == top.node.metadata["chunk_id"]
    assert top.score == top.node.metadata["score"] and top.node.metadata["citation"].startswith("[1] ")
    assert "chunk_id" not in top.node.get_content(metadata_mode="llm")  # bookkeeping stays out of prompts
    assert "warehouse-glossary.md" in top.node.get_content(metadata_mode="llm")


def test_llamaindex_options_and_errors(corpus_kb: Any) -> None:
    import asyncio

    assert li.LocalKBRetriever(corpus_kb, filter_tags=["missing"]).retrieve("IBE") == []
    absent = li.LocalKBRetriever(corpus_kb)
    assert absent.retrieve("E11.99") == [] and "E11.99" in absent.last_result.reason
    lexical = asyncio.run(li.LocalKBRetriever(corpus_kb, k=1, mode="lexical").aretrieve("OBE"))
    assert len(lexical) == 1 and lexical[0].node.metadata["mode"] == "lexical"
    with pytest.raises(TypeError):
        li.LocalKBRetriever(corpus_kb, similarity_top_k=3)  # type: ignore[call-arg]
    with pytest.raises(SearchError):
        li.LocalKBRetriever(corpus_kb, mode="fuzzy")
    with pytest.raises(SearchError):
        li.LocalKBRetriever(corpus_kb, min_score="high")
    csv = li.LocalKBRetriever(corpus_kb, k=10, min_score="none", where="meta.team=dispatch").retrieve("error")
    assert csv and all(n.node.metadata["source"].endswith("error-codes.csv") for n in csv)
    with pytest.raises(SearchError, match="Filter 'title>3': '>' compares numbers"):  # a FilterError
        li.LocalKBRetriever(corpus_kb, where=["title>3"])


def test_llamaindex_imports_offline() -> None:
    """Importing llama-index-core and building a retriever opens no connection (its NLTK data is packaged)."""
    out = _run("import socket\n"
               "def refuse(self, address):\n"
               "    raise OSError(f'network access to {address}')\n"
               "socket.socket.connect = refuse\n"
               "import localkb.integrations.llamaindex as m\n"
               "from llama_index.core.schema import QueryBundle\n"
               "from llama_index.core.utils import globals_helper\n"
               "print(len(globals_helper.stopwords) > 100)\n")
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr[-2000:]


@pytest.mark.parametrize("module, extra, package", [("langchain", "langchain", "langchain_core"),
                                                    ("llamaindex", "llamaindex", "llama_index")])
def test_missing_extra_is_one_line(module: str, extra: str, package: str) -> None:
    out = _run(f"import sys\nsys.modules[{package!r}] = None\n"
               f"try:\n    import localkb.integrations.{module}\n"
               f"except ImportError as exc:\n    print(exc)\n")
    assert out.stdout.strip().endswith(f"pip install 'localkb[{extra}]'"), out
    assert len(out.stdout.strip().splitlines()) == 1
