"""The HTTP API against a real server on 127.0.0.1 with a real KB (MiniLM + FAISS)."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from server_harness import CORPUS, LiveServer


def test_stats_overview(client) -> None:
    s = client.get("/api/stats").json()
    assert s["documents"] == len(CORPUS) and s["chunks"] >= len(CORPUS) and s["vectors"] == s["chunks"]
    assert s["model"] == "sentence-transformers/all-MiniLM-L6-v2" and s["dim"] == 384
    assert s["store"].startswith("faiss://") and s["bytes"] > 0
    assert "dense" in s["server"]["search_modes"] and s["server"]["databases"] == ["music"]


def test_openapi_and_docs(client) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/search", "/api/ask", "/api/ingest/upload", "/api/ingest/path", "/api/documents/{doc_id}",
                 "/api/chunks/{chunk_id}", "/api/sql", "/api/sql/check", "/api/jobs/{job_id}", "/api/stats"):
        assert path in spec["paths"], path
    assert "swagger" in client.get("/docs").text.lower()


def test_page_is_served(client) -> None:
    r = client.get("/")
    assert r.status_code == 200 and '<script type="module" src="/static/js/app.js">' in r.text
    assert client.get("/static/js/app.js").status_code == 200
    assert "access-control-allow-origin" not in {k.lower() for k in client.get("/api/stats").headers}


def test_search_matches_cli_json(live: LiveServer, client) -> None:
    body = client.post("/api/search", json={"query": "inbound events payment gateway", "k": 3}).json()
    assert body["hits"][0]["source"].endswith("ibe.md")
    assert set(body) == {"query", "mode", "min_score", "reason", "exact_match", "weights", "calibration", "collapsed",
                         "hits"}
    assert sum(body["weights"].values()) == pytest.approx(1.0)
    hit = body["hits"][0]
    assert {"id", "score", "text", "source", "sources", "tags", "doc_id", "position", "scores", "matched_terms"} <= set(hit)
    assert hit["tags"] == ["corpus"]
    # the same query through the CLI, on the same KB folder, gives the same hits and scores
    kb = live.app.state.localkb.settings.kb_path
    out = subprocess.run([sys.executable, "-c", "from localkb.cli import main; main()", "search",
                          "inbound events payment gateway", "-k", "3", "--kb", str(kb), "--json"],
                         check=False, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    cli = json.loads(out.stdout)
    assert [h["id"] for h in cli["hits"]] == [h["id"] for h in body["hits"]]
    for a, b in zip(cli["hits"], body["hits"]):
        assert a["score"] == pytest.approx(b["score"], abs=1e-5)


def test_search_get_and_options(client) -> None:
    r = client.get("/api/search", params={"q": "clowder of cats", "k": 1})
    assert r.status_code == 200 and len(r.json()["hits"]) == 1 and r.json()["hits"][0]["source"].endswith("cats.txt")
    high = client.post("/api/search", json={"query": "clowder of cats", "min_score": 0.99}).json()
    assert high["hits"] == [] and high["min_score"] == 0.99 and high["reason"]
    none = client.post("/api/search", json={"query": "cats", "tags": ["no-such-tag"]}).json()
    assert none["hits"] == [] and "no-such-tag" in none["reason"]
    bad_mode = client.post("/api/search", json={"query": "cats", "mode": "telepathy"})
    assert bad_mode.status_code == 400 and bad_mode.json()["error"] == "SearchError"


def test_documents_chunks_and_paging(client) -> None:
    page = client.get("/api/documents", params={"limit": 2}).json()
    assert page["total"] == len(CORPUS) and len(page["documents"]) == 2
    rest = client.get("/api/documents", params={"limit": 2, "offset": 2}).json()["documents"]
    assert {d["id"] for d in page["documents"]}.isdisjoint({d["id"] for d in rest})
    doc = next(d for d in page["documents"] + rest if d["source"].endswith("rivers.txt"))
    full = client.get(f"/api/documents/{doc['id']}").json()
    assert full["chunk_list"] and "Yangtze" in full["chunk_list"][0]["text"]
    chunks = client.get(f"/api/documents/{doc['id']}/chunks").json()["chunks"]
    assert [c["id"] for c in chunks] == [c["id"] for c in full["chunk_list"]]
    one = client.get(f"/api/chunks/{chunks[0]['id']}").json()
    assert one["text"] == chunks[0]["text"] and one["doc_id"] == doc["id"]
    assert client.get("/api/chunks/feedface").status_code == 404
    assert client.get("/api/documents/999999").json()["error"] == "NotFound"


def test_upload_several_files_then_delete(client, live: LiveServer) -> None:
    files = [("files", ("alpha.txt", b"Zebras in the Serengeti migrate in huge herds.", "text/plain")),
             ("files", ("beta.md", "# 长江\n\n长江是亚洲最长的河流。".encode(), "text/markdown"))]
    job = client.post("/api/ingest/upload", files=files, data={"tags": "upload,test"})
    assert job.status_code == 202 and job.headers["location"] == f"/api/jobs/{job.json()['id']}"
    final = _wait(client, job.json()["id"])
    assert final["status"] == "done" and final["report"]["added"] == 2 and final["files_total"] == 2
    hit = client.post("/api/search", json={"query": "zebra migration", "k": 1}).json()["hits"][0]
    assert hit["source"].endswith("uploads/alpha.txt") and hit["tags"] == ["test", "upload"]
    uploads = live.app.state.localkb.settings.uploads_dir
    assert (uploads / "alpha.txt").is_file()
    deleted = client.delete(f"/api/documents/{hit['doc_id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert not (uploads / "alpha.txt").exists()
    after = client.post("/api/search", json={"query": "zebra migration", "k": 1}).json()["hits"]
    assert not after or not after[0]["source"].endswith("alpha.txt")
    assert client.delete(f"/api/documents/{hit['doc_id']}").status_code == 404
    beta = [d for d in client.get("/api/documents").json()["documents"] if d["source"].endswith("beta.md")]
    client.delete(f"/api/documents/{beta[0]['id']}")


def test_ingest_path_only_under_roots(client, corpus_dir: Path) -> None:
    job = client.post("/api/ingest/path", json={"paths": [str(corpus_dir / "docs" / "cats.txt")], "wait": True,
                                                   "tags": ["corpus"]}).json()
    assert job["status"] == "done" and job["report"]["unchanged"] == 1
    rel = client.post("/api/ingest/path", json={"paths": ["docs"], "wait": True, "tags": ["corpus"]}).json()
    assert rel["report"]["unchanged"] == len(CORPUS)
    for bad in ("/etc", str(corpus_dir / ".." ), str(corpus_dir / "docs" / ".." / ".." )):
        r = client.post("/api/ingest/path", json={"paths": [bad]})
        assert r.status_code == 403 and r.json()["error"] == "AccessDenied", bad
    assert client.post("/api/ingest/path", json={"paths": [str(corpus_dir / "nope")]}).status_code == 404


def test_ask_json_and_streams(client) -> None:
    body = {"question": "What does the IBE module do?"}
    whole = client.post("/api/ask", json=body).json()
    assert set(whole) == {"answer", "citations", "used_chunks", "dropped_chunks", "cut_chunks", "truncated", "model", "abstained",
        "abstained_because", "reason", "sentences", "supported", "draft", "invalid_citations", "budget",
        "prompt_tokens", "seconds", "first_token_seconds", "cached_prompt_tokens", "mode"}
    assert whole["citations"][0]["n"] == 1 and whole["citations"][0]["source"].endswith("ibe.md")
    assert not whole["abstained"]

    with client.stream("POST", "/api/ask", json={**body, "stream": "ndjson"}) as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in r.iter_lines() if line.strip()]
    tokens = [e for e in events if e["type"] == "token"]
    assert len(tokens) > 1 and events[-1]["type"] == "answer"
    assert "".join(t["text"] for t in tokens).strip() == events[-1]["answer"]
    assert events[-1]["citations"] == whole["citations"]

    with client.stream("POST", "/api/ask", json=body, headers={"Accept": "text/event-stream"}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = "".join(r.iter_text())
    frames = [f for f in raw.split("\n\n") if f.strip()]
    assert frames[0].startswith("event: token\ndata: ") and frames[-1].startswith("event: answer\ndata: ")
    assert json.loads(frames[-1].split("data: ", 1)[1])["citations"] == whole["citations"]

    empty = client.post("/api/ask", json={"question": "   "})
    assert empty.status_code == 400 and empty.json()["error"] == "SearchError"


def test_sql_configured_databases_only(client, music_db: Path) -> None:
    dbs = client.get("/api/sql/databases").json()["databases"]
    assert [d["name"] for d in dbs] == ["music"]
    ans = client.post("/api/sql", json={"database": "music", "question": "List the artists"}).json()
    assert ans["ok"] and ans["sql"].upper().startswith("SELECT") and "LIMIT" in ans["sql"].upper()
    assert ans["columns"] == ["name"] and [r[0] for r in ans["rows"]] == ["Björk", "Faye Wong", "Miles Davis"]
    bad = client.post("/api/sql", json={"database": "music", "question": "delete all artists", "attempts": 1}).json()
    assert not bad["ok"] and bad["attempts"][0]["allowed"] is False and bad["attempts"][0]["violations"]
    check = client.post("/api/sql/check", json={"database": "music", "sql": "DROP TABLE artist"}).json()
    assert check["allowed"] is False and check["violations"]
    ok = client.post("/api/sql/check", json={"database": "music", "sql": "SELECT title FROM album"}).json()
    assert ok["allowed"] is True and "LIMIT" in ok["sql"].upper()
    unknown = client.post("/api/sql/check", json={"database": f"sqlite:///{music_db}", "sql": "SELECT 1"})
    assert unknown.status_code == 404 and "No database named" in unknown.json()["message"]
    assert client.get("/api/sql/music/schema").json()["tables"]
    import sqlite3

    assert sqlite3.connect(music_db).execute("SELECT COUNT(*) FROM artist").fetchone()[0] == 3


def test_searches_answer_during_an_ingest(client, live: LiveServer, tmp_path: Path) -> None:
    """A long ingest runs in the background; searches issued meanwhile all succeed."""
    big = [("files", (f"bulk{i}.txt", (" ".join(f"Bulk document {i} sentence {j} about topic {j % 7}."
                                                  for j in range(400))).encode(), "text/plain")) for i in range(4)]
    job = client.post("/api/ingest/upload", files=big).json()
    results: list[int] = []
    seen_running = False

    def searcher() -> None:
        with live.client() as c:
            for _ in range(10):
                results.append(c.post("/api/search", json={"query": "clowder of cats", "k": 2}).status_code)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        seen_running |= client.get(f"/api/jobs/{job['id']}").json()["status"] == "running"
        time.sleep(0.05)
    final = _wait(client, job["id"])
    assert final["status"] == "done" and final["embedded"] > 0, final
    assert results == [200] * 30
    assert seen_running, "the searches should have overlapped the ingest"
    routed = live.app.state.localkb.kb.embedder  # the ingest embedded with its own model instance
    assert routed._private is not None and routed._private is not routed._shared
    for d in client.get("/api/documents", params={"limit": 1000}).json()["documents"]:
        if "bulk" in d["source"]:
            client.delete(f"/api/documents/{d['id']}")


def _wait(client, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_a_symlink_loop_is_skipped_not_a_500(client, corpus_dir: Path) -> None:
    """Issue 12, defect 3 on the server path: the folder used to answer 500; now its good file is ingested
    and the loop is reported in the job's report."""
    folder = corpus_dir / "looped"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.txt").write_text("Quokka sightings are logged in the wildlife register.", encoding="utf-8")
    (folder / "sub" / "again").symlink_to(folder, target_is_directory=True)
    (folder / "self.txt").symlink_to(folder / "self.txt")  # a link to itself: a symlink loop
    r = client.post("/api/ingest/path", json={"paths": [str(folder)], "wait": True})
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["status"] == "done", job
    report = job["report"]
    assert report["added"] == 1
    reasons = {Path(s["path"]).name: s["error"] for s in report["skipped"]}
    assert "symlink loop" in reasons.get("self.txt", ""), report["skipped"]
    hit = client.post("/api/search", json={"query": "quokka wildlife register", "k": 1}).json()["hits"][0]
    assert hit["source"].endswith("good.txt")
    assert client.delete(f"/api/documents/{hit['doc_id']}").status_code == 200
