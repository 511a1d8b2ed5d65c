"""Separate what the embedder confuses: ``audit`` finds colliding terms, ``tune`` adapts the model to the corpus.

* :mod:`.terms` — the KB's identifiers/acronyms and defined terms, near-miss pairs, defining sentences;
* :mod:`.audit` — the collision report (``kb.audit()``, ``localkb audit``);
* :mod:`.pairs` — training pairs from the corpus itself or from the local LLM, with hard negatives;
* :mod:`.train` — fine-tuning a sentence-transformers model (MultipleNegativesRankingLoss, CPU);
* :mod:`.adapter` — a linear map trained on frozen embeddings, for models that cannot be trained;
* :mod:`.apply` — re-embedding a KB with the tuned model beside the old index, then one atomic swap.
"""
