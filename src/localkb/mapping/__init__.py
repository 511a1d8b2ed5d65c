"""The KB as a map (issue 16): ``similar`` documents, near-duplicate groups (``dedup``), topics
(``cluster``) and a 2-D picture (``projection``, ``plot``), all on the chunks and vectors the KB already
stores — nothing is embedded again. See docs/map.md.

Modules receive the collaborators they use (``db``, ``store``, ``embedder``, the lexical index), never
the ``KnowledgeBase``; ``KnowledgeBase.similar/dedup/cluster/map_points`` wire them.
"""
