"""Small HTTP defects that used to be 500s or silent: huge ids, non-finite scores, bidi characters in
upload names. On the real server (uvicorn on 127.0.0.1, real KB)."""
from __future__ import annotations

import pytest
from server_harness import LiveServer


@pytest.mark.parametrize("doc_id", ["99999999999999999999999", "-99999999999999999999999", str(2**63)])
def test_huge_document_id_is_422_not_500(client, doc_id: str) -> None:
    for method, path in (("GET", f"/api/documents/{doc_id}"), ("GET", f"/api/documents/{doc_id}/chunks"),
                         ("DELETE", f"/api/documents/{doc_id}")):
        r = client.request(method, path)
        assert r.status_code == 422, (method, path, r.text)
        assert r.json()["error"] == "ValidationError" and "doc_id" in r.json()["message"]
    assert client.get(f"/api/documents/{2**63 - 1}").status_code == 404  # the largest id SQLite holds


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_non_finite_min_score_is_422(client, value: str) -> None:
    r = client.get("/api/search", params={"q": "cats", "min_score": value})
    assert r.status_code == 422, r.text
    assert "finite" in r.json()["message"]
    body = '{"query": "cats", "min_score": %s}' % ("NaN" if value.lower() == "nan" else
                                                   "-Infinity" if value.startswith("-") else "Infinity")
    r = client.post("/api/search", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422) and r.status_code != 200, r.text
    r = client.post("/api/ask", content=body.replace("query", "question"),
                    headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422), r.text
    assert client.get("/api/search", params={"q": "cats", "min_score": "0.1"}).status_code == 200


def test_bidi_and_invisible_characters_are_stripped_from_upload_names(client, live: LiveServer) -> None:
    name = "invoice\u202efdp.txt\u200b"  # shows as "invoicetxt.pdf" with the override kept
    job = client.post("/api/ingest/upload?wait=true",
                      files=[("files", (name, b"Invoices are paid within thirty days.", "text/plain"))]).json()
    assert job["status"] == "done", job
    stored = [p.rsplit("/", 1)[-1] for p in job["paths"]]
    assert stored == ["invoicefdp.txt"]
    uploads = live.app.state.localkb.settings.uploads_dir
    assert not any(ch in p.name for p in uploads.iterdir() for ch in "\u202e\u200b\u2066\u2067\u2068\u2069")
    doc = next(d for d in client.get("/api/documents", params={"limit": 500}).json()["documents"]
               if d["path"].endswith("invoicefdp.txt"))
    assert client.delete(f"/api/documents/{doc['id']}").status_code == 200


def test_found_by_fuzzing_huge_offset_and_overlong_path_are_4xx(client) -> None:
    """Two 500s schemathesis found (benchmarks/bench_faults_server.py): an offset SQLite cannot hold and a
    path component longer than the file system allows."""
    r = client.get("/api/documents", params={"offset": 10**30})
    assert r.status_code == 422, r.text
    r = client.post("/api/ingest/path", json={"paths": ["x" * 5000]})
    assert r.status_code == 400 and "Unusable path" in r.json()["message"], r.text


def test_fetch_first_through_the_sql_endpoint_is_a_verdict_not_a_500(client) -> None:
    r = client.post("/api/sql/check", json={"database": "music",
                                            "sql": "SELECT name FROM artist OFFSET 1 ROWS FETCH NEXT 5 ROWS ONLY"})
    assert r.status_code == 200, r.text
    assert r.json()["allowed"] and r.json()["sql"].endswith("LIMIT 5 OFFSET 1")
    r = client.post("/api/sql/check", json={"database": "music",
                                            "sql": "SELECT name FROM artist FETCH FIRST 50 PERCENT ROWS ONLY"})
    assert r.status_code == 200 and not r.json()["allowed"]
