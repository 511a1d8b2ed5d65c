"""A LlamaIndex retriever over a localkb knowledge base (``pip install 'localkb[llamaindex]'``)::

    from localkb.integrations.llamaindex import LocalKBRetriever

    retriever = LocalKBRetriever("./.localkb", k=5, filter_tags=["manual"])
    for n in retriever.retrieve("What does IBE stand for?"):
        print(n.score, n.node.metadata["citation"], n.node.get_content())

Each ``NodeWithScore`` holds a ``TextNode`` (``id_`` = chunk id, metadata from
``localkb.integrations.options.hit_metadata``) and the hit's score (higher is better). An empty list
means the KB holds nothing relevant: ``retriever.last_result.reason`` says why. Works inside LlamaIndex
query engines (``RetrieverQueryEngine.from_args(retriever, llm=...)``).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .options import as_options, hit_metadata, missing, open_kb

try:
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise missing("llamaindex", "llama-index-core", exc) from exc

if TYPE_CHECKING:
    from ..kb import KnowledgeBase
    from ..results import SearchResult
    from ..search.filters import WhereSpec

#: metadata that stays out of what a LlamaIndex LLM or embedder sees of a node (only the text matters there)
_HIDDEN = ["chunk_id", "sources", "doc_id", "position", "scores", "rank", "mode", "min_score", "exact_match",
           "score", "matched_terms", "tags"]


class LocalKBRetriever(BaseRetriever):
    """Search a localkb KB from LlamaIndex.

    Args:
        kb: an open ``KnowledgeBase`` or the path of an existing one.
        k: nodes per query. filter_tags: only documents with any of these tags.
        min_score: ``None``/"auto" (the KB's calibrated cut-off), "none", or a number.
        mode: "hybrid" (default), "dense" or "lexical".
        where: metadata filters, as ``kb.search(where=...)``: ``"format=pdf"``, ``["pages>3", "path~docs/*"]``
            or ``{"format": "pdf"}`` (``localkb.search.filters``).
        callback_manager, verbose: as for every LlamaIndex retriever.

    Raises:
        ConfigError / SearchError / FilterError: a bad option; ``TypeError``: an unknown one.
    """

    def __init__(self, kb: KnowledgeBase | str | os.PathLike[str], *, k: int = 4,
                 filter_tags: Sequence[str] | None = None, min_score: float | str | None = None,
                 mode: str | None = None, where: WhereSpec = None, callback_manager: CallbackManager | None = None,
                 verbose: bool = False) -> None:
        self._options = as_options(k, filter_tags, min_score, mode, where)
        self.kb = open_kb(kb)
        self.last_result: SearchResult | None = None
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self._options.search(self.kb, query_bundle.query_str)
        self.last_result = result
        nodes = []
        for rank, hit in enumerate(result.hits, 1):
            node = TextNode(id_=hit.id, text=hit.text, metadata=hit_metadata(hit, rank, result),
                            excluded_llm_metadata_keys=list(_HIDDEN), excluded_embed_metadata_keys=list(_HIDDEN))
            nodes.append(NodeWithScore(node=node, score=hit.score))
        return nodes

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}
