"""``show``, ``chunks`` and ``rm`` (CLI and the library functions under them) on a real KB."""
from __future__ import annotations

import json
import shutil

import pytest

from localkb import KnowledgeBase
from localkb.lookup import DocumentNotFound

from ..conftest import EXAMPLES, run_cli


@pytest.fixture()
def kb(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(EXAMPLES / "corpus", docs)
    (docs / "sub").mkdir()
    (docs / "sub" / "copy.txt").write_text((docs / "onboarding.txt").read_text(encoding="utf-8"), encoding="utf-8")
    folder = tmp_path / "kb"
    with KnowledgeBase.open(folder, create=True) as base:
        base.ingest([docs], tags=["corpus"])
    return folder, docs


def test_show_document_and_chunk_with_every_source(kb):
    folder, docs = kb
    out = json.loads(run_cli("show", str(docs / "exception-handling.pdf"), "--kb", str(folder), "--json").stdout)
    assert out["kind"] == "document" and out["format"] == "pdf" and out["tags"] == ["corpus"]
    assert out["meta"] == {"author": "localkb examples (CC0)", "pages": "3"}
    with KnowledgeBase.open(folder) as base:
        shared = base.chunks(str(docs / "sub" / "copy.txt"))[0]["id"]
        assert base.show(out["id"])["source"] == out["source"]  # by document id too
    chunk = json.loads(run_cli("show", shared[:10], "--kb", str(folder), "--json").stdout)
    assert chunk["kind"] == "chunk" and len(chunk["sources"]) == 2  # onboarding.txt and sub/copy.txt
    human = run_cli("show", shared[:10], "--kb", str(folder))
    assert human.returncode == 0 and human.stdout.count("  in ") == 2


def test_chunks_lists_a_document_in_order(kb):
    folder, docs = kb
    proc = run_cli("chunks", str(docs / "warehouse-glossary.md"), "--kb", str(folder), "--json")
    found = json.loads(proc.stdout)["chunks"]
    with KnowledgeBase.open(folder) as base:
        doc = base.show(str(docs / "warehouse-glossary.md"))
    assert len(found) == doc["chunks"] >= 1 and all("embed_text" in c for c in found)
    typo = run_cli("chunks", str(docs / "warehouse-glosary.md"), "--kb", str(folder))
    assert typo.returncode == 1 and "Did you mean" in typo.stderr and "Traceback" not in typo.stderr


def test_rm_dry_run_then_for_real(kb):
    folder, docs = kb
    with KnowledgeBase.open(folder) as base:
        before = base.stats()
        hits = base.search("onboarding first week", k=10, min_score="none", where="path~*/sub/*").hits
        assert hits and all(any(s.endswith("copy.txt") for s in h.sources) for h in hits)
    dry = json.loads(run_cli("rm", str(docs / "sub"), str(docs / "error-codes.csv"), "--dry-run", "--kb",
                             str(folder), "--json").stdout)
    assert dry["dry_run"] and len(dry["documents"]) == 2 and dry["chunks"] >= 1
    with KnowledgeBase.open(folder) as base:
        assert base.stats()["documents"] == before["documents"]  # nothing changed
    bad = run_cli("rm", str(docs / "error-codes.csv"), "nosuch.txt", "--kb", str(folder))
    assert bad.returncode == 1 and "No document 'nosuch.txt'" in bad.stderr
    real = run_cli("rm", str(docs / "sub"), str(docs / "error-codes.csv"), "--kb", str(folder))
    assert real.returncode == 0 and "removed 2 document(s)" in real.stdout
    with KnowledgeBase.open(folder) as base:
        after = base.stats()
        assert after["documents"] == before["documents"] - 2
        assert base.store.count() == after["chunks"] == before["chunks"] - dry["chunks"]
        lexical = base.search("ERR-4012", k=20, min_score="none", mode="lexical").hits  # BM25 forgot it too
        assert lexical and not any(s.endswith("error-codes.csv") for h in lexical for s in h.sources)
        with pytest.raises(DocumentNotFound):
            base.show(str(docs / "error-codes.csv"))
        # the chunk shared with the removed copy stays for onboarding.txt
        assert base.chunks(str(docs / "onboarding.txt"))
