"""The same KB workflow (ingest, re-ingest, prune, search, tags, reopen) on Milvus Lite and on a Milvus
server, through the public API."""
from __future__ import annotations

import pytest

from localkb import KnowledgeBase

DOCS = {
    "ibe.txt": "IBE means inbound exception: a delivery that arrives damaged or with the wrong quantity.",
    "obe.txt": "OBE means outbound exception: an order that cannot leave the warehouse on time.",
    "pets.txt": "Cats sleep for up to sixteen hours a day and dogs need a daily walk.",
}


@pytest.fixture(params=["lite", "server"])
def milvus_uri(request):
    if request.param == "lite":
        return "milvus://./kb.db"
    address = request.getfixturevalue("milvus_address")
    return f"milvus://{address}?collection=kb_{request.node.name[-7:-1]}"


def test_kb_workflow_on_milvus(tmp_path, milvus_uri):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", store=milvus_uri, create=True) as kb:
        report = kb.ingest([docs], tags=["ops"])
        assert report.added == 3 and kb.store.count() == report.chunks
        hits = kb.search("What is an inbound exception?", k=2, mode="dense", min_score=-1.0).hits
        assert hits[0].source.endswith("ibe.txt")
        again = kb.ingest([docs], tags=["ops"])
        assert (again.unchanged, again.embedded) == (3, 0)  # idempotent: nothing embedded again
        (docs / "pets.txt").unlink()
        assert kb.ingest([docs], tags=["ops"]).removed == 1
        assert kb.store.count() == 2
        assert kb.search("cats", k=5, tags=["ops"], mode="dense", min_score=-1.0).hits
        assert kb.search("cats", k=5, tags=["nope"], mode="dense", min_score=-1.0).hits == []
    with KnowledgeBase.open(tmp_path / "kb", create=False) as kb:  # reopened: the manifest names the store
        assert kb.manifest.store == milvus_uri
        assert kb.store.count() == 2
        assert kb.search("outbound order late", k=1, mode="dense", min_score=-1.0).hits[0].source.endswith("obe.txt")
