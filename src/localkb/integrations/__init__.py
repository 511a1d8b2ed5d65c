"""Thin adapters that let other frameworks use a localkb knowledge base (optional extras).

* ``localkb.integrations.langchain.LocalKBRetriever`` — a LangChain ``BaseRetriever``
  (``pip install 'localkb[langchain]'``);
* ``localkb.integrations.llamaindex.LocalKBRetriever`` — a LlamaIndex ``BaseRetriever``
  (``pip install 'localkb[llamaindex]'``).

Both call ``KnowledgeBase.search`` with the same options as ``localkb search`` (``k``, ``filter_tags``,
``min_score``, ``mode``), validated when the retriever is built; an unknown option is an error. See
docs/integrations.md.
"""
