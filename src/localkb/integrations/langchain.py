"""A LangChain retriever over a localkb knowledge base (``pip install 'localkb[langchain]'``)::

    from localkb.integrations.langchain import LocalKBRetriever

    retriever = LocalKBRetriever(kb="./.localkb", k=5, filter_tags=["manual"])
    docs = retriever.invoke("What does IBE stand for?")
    docs[0].metadata["citation"], docs[0].metadata["score"], docs[0].metadata["matched_terms"]

Each ``Document`` holds a chunk's text; its ``id`` is the chunk id and its metadata every field of
``localkb.integrations.options.hit_metadata`` (source, doc_id, position, tags, score, per-signal scores,
matched codes, a citation). Per-call options: ``retriever.invoke(query, k=3, min_score="none", where="format=pdf")``. An empty
list means the KB holds nothing relevant: ``retriever.last_result.reason`` says why.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

from .options import SearchOptions, as_options, hit_metadata, missing, open_kb

try:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from pydantic import ConfigDict, PrivateAttr, model_validator
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise missing("langchain", "langchain-core", exc) from exc

if TYPE_CHECKING:
    from ..kb import KnowledgeBase
    from ..results import SearchResult


class LocalKBRetriever(BaseRetriever):
    """Search a localkb KB from LangChain.

    Args:
        kb: an open ``KnowledgeBase`` or the path of an existing one.
        k: documents per query. filter_tags: only documents with any of these tags.
        min_score: ``None``/"auto" (the KB's calibrated cut-off), "none", or a number.
        mode: "hybrid" (default), "dense" or "lexical".
        where: metadata filters, as ``kb.search(where=...)``: ``"format=pdf"``, ``["pages>3", "path~docs/*"]``
            or ``{"format": "pdf"}`` (``localkb.search.filters``; a per-call ``where=`` replaces it).

    Raises:
        ConfigError / SearchError / FilterError: a bad option (unknown options are a pydantic
        ``ValidationError``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    kb: Any
    k: int = 4
    filter_tags: list[str] | None = None
    min_score: float | Literal["auto", "none"] | None = None
    mode: Literal["hybrid", "dense", "lexical"] | None = None
    where: str | list[str] | dict[str, Any] | None = None
    _options: SearchOptions = PrivateAttr()
    _last: SearchResult | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> LocalKBRetriever:
        self.kb = open_kb(self.kb if not isinstance(self.kb, os.PathLike) else os.fspath(self.kb))
        self._options = as_options(self.k, self.filter_tags, self.min_score, self.mode, self.where)
        return self

    @property
    def last_result(self) -> SearchResult | None:
        """The ``SearchResult`` of the latest query (its ``reason`` explains an empty list)."""
        return self._last

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, filter_tags: list[str] | None = None,
                                min_score: float | str | None = None, mode: str | None = None,
                                where: str | list[str] | dict[str, Any] | None = None) -> list[Document]:
        options = self._options.override(k=k, filter_tags=filter_tags, min_score=min_score, mode=mode, where=where)
        kb: KnowledgeBase = self.kb
        result = options.search(kb, query)
        self._last = result
        return [Document(page_content=hit.text, id=hit.id, metadata=hit_metadata(hit, rank, result))
                for rank, hit in enumerate(result.hits, 1)]
