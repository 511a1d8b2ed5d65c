"""Bad input gets the right status and one clear JSON message, and leaves the KB unchanged."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_harness import TOKEN, LiveServer


def _counts(client) -> tuple[int, int, int]:
    s = client.get("/api/stats").json()
    return s["documents"], s["chunks"], s["vectors"]


def _wait(client, job_id: str) -> dict:
    for _ in range(3000):
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError("job did not finish")


def test_oversized_upload_is_413_and_kb_unchanged(client, live: LiveServer) -> None:
    before = _counts(client)
    uploads = live.app.state.localkb.settings.uploads_dir
    listing = sorted(uploads.iterdir()) if uploads.exists() else []
    big = b"word " * 300_000  # 1.5 MB > the 1 MB limit of this server
    r = client.post("/api/ingest/upload", files=[("files", ("big.txt", big, "text/plain"))])
    assert r.status_code == 413 and r.json()["error"] == "PayloadTooLarge" and "1 MB" in r.json()["message"]
    assert _counts(client) == before
    assert (sorted(uploads.iterdir()) if uploads.exists() else []) == listing


def test_oversized_chunked_body_is_413(client) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        yield (b'--zzz\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n'
               b"Content-Type: text/plain\r\n\r\n")
        for _ in range(30):
            yield b"x" * 100_000
        yield b"\r\n--zzz--\r\n"

    r = client.post("/api/ingest/upload", content=chunks(),
                    headers={"Content-Type": "multipart/form-data; boundary=zzz"})
    assert r.status_code == 413 and r.json()["error"] == "PayloadTooLarge"
    r = client.post("/api/search", content=b'{"query": "' + b"a" * 1_100_000 + b'"}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_binary_file_is_skipped_and_kb_unchanged(client, live: LiveServer) -> None:
    before = _counts(client)
    blob = bytes(range(256)) * 40
    job = client.post("/api/ingest/upload", files=[("files", ("data.txt", blob, "text/plain")),
                                                   ("files", ("tool.exe", b"MZ\x90\x00\x03", "application/octet-stream"))])
    final = _wait(client, job.json()["id"])
    skipped = {Path(s["path"]).name: s["error"] for s in final["report"]["skipped"]}
    assert "binary" in skipped["data.txt"] and "unsupported" in skipped["tool.exe"]
    assert final["report"]["added"] == 0
    assert _counts(client) == before
    uploads = live.app.state.localkb.settings.uploads_dir
    assert not (uploads / "data.txt").exists() and not (uploads / "tool.exe").exists()


@pytest.mark.parametrize("name,stored", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\evil.txt", "evil.txt"),
    ("/tmp/absolute.txt", "absolute.txt"),
    ("....//....//x.txt", "x.txt"),
    (".hidden.txt", "hidden.txt"),
])
def test_path_traversal_names_stay_in_uploads(client, live: LiveServer, name: str, stored: str) -> None:
    kb = live.app.state.localkb.settings.kb_path
    # derived indexes (lexical/) are rebuilt after every ingest: they are the KB's own files, not uploads
    def outside() -> set[Path]:
        return {p for p in kb.parent.parent.rglob("*") if "uploads" not in p.parts and "lexical" not in p.parts}

    outside_before = outside()
    job = client.post("/api/ingest/upload", files=[("files", (name, b"Harmless text about traversal tests.", "text/plain"))])
    assert job.status_code == 202
    final = _wait(client, job.json()["id"])
    assert final["paths"] == [str(kb / "uploads" / stored)]
    outside_after = outside()
    created = {p for p in outside_after - outside_before if p.is_file() and not p.name.startswith((".", "chunks.sqlite"))
               and p.suffix not in (".faiss", ".sqlite", ".tmp", ".json", ".lock", ".wal", ".shm")}
    assert not created, created
    assert not Path("/etc/passwd.localkb-test").exists()
    for doc in client.get("/api/documents", params={"limit": 1000}).json()["documents"]:
        if doc["path"].startswith(str(kb / "uploads")):
            client.delete(f"/api/documents/{doc['id']}")


def test_unusable_filename(client) -> None:
    r = client.post("/api/ingest/upload", files=[("files", ("../..", b"text", "text/plain"))])
    assert r.status_code == 400 and r.json()["error"] == "ConfigError"


def test_malformed_and_invalid_json(client) -> None:
    r = client.post("/api/search", content=b'{"query": "cats",', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "BadRequest" and "Malformed JSON" in r.json()["message"]
    r = client.post("/api/search", json={"query": "cats", "k": "many"})
    assert r.status_code == 422 and r.json()["error"] == "ValidationError" and "k" in r.json()["message"]
    r = client.post("/api/search", json={"k": 3})
    assert r.status_code == 422 and "query" in r.json()["message"]
    r = client.post("/api/search", json={"query": "cats", "k": 0})
    assert r.status_code == 422
    r = client.get("/api/search", params={"q": "cats", "min_score": "high"})
    assert r.status_code == 400 and "min_score" in r.json()["message"]
    r = client.post("/api/ingest/upload")
    assert r.status_code == 422 and r.json()["error"] == "ValidationError"


def test_unknown_endpoint_and_method(client) -> None:
    r = client.get("/api/does-not-exist")
    assert r.status_code == 404 and r.json() == {
        "error": "NotFound", "message": "No endpoint GET /api/does-not-exist. See /docs for the API."}
    r = client.put("/api/search", json={})
    assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowed"
    assert client.get("/api/jobs/nope").status_code == 404


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from localkb.server.app import create_app

    server = LiveServer(create_app(tmp_path_factory.mktemp("tokkb") / "kb", token=TOKEN)).start()
    yield server
    server.stop()


def test_token_required_on_every_api_request(token_server: LiveServer) -> None:
    with token_server.client() as c:
        for method, path in (("GET", "/api/stats"), ("GET", "/api/documents"), ("POST", "/api/search"),
                             ("POST", "/api/ingest/upload"), ("GET", "/api/nope")):
            r = c.request(method, path)
            assert r.status_code == 401 and r.json()["error"] == "Unauthorized", path
            assert "token" in r.json()["message"].lower()
        wrong = c.get("/api/stats", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["message"] == "Wrong token."
        assert c.get("/api/stats", headers={"X-API-Key": TOKEN + "x"}).status_code == 401
        up = c.post("/api/ingest/upload", files=[("files", ("a.txt", b"secret plan", "text/plain"))],
                    headers={"X-API-Key": "wrong"})
        assert up.status_code == 401
        assert c.get("/api/stats", headers={"Authorization": f"Bearer {TOKEN}"}).json()["documents"] == 0
        assert c.get("/api/stats", headers={"X-API-Key": TOKEN}).status_code == 200
        # the page shell holds no KB data: it loads, then asks its user for the token
        assert c.get("/").status_code == 200 and c.get("/static/js/api.js").status_code == 200


def test_cors_only_for_configured_origins(tmp_path_factory: pytest.TempPathFactory) -> None:
    from localkb.server.app import create_app

    server = LiveServer(create_app(tmp_path_factory.mktemp("corskb") / "kb", token=TOKEN,
                                   cors_origins=["http://tools.example"])).start()
    try:
        with server.client() as c:
            pre = c.options("/api/search", headers={"Origin": "http://tools.example",
                                                    "Access-Control-Request-Method": "POST",
                                                    "Access-Control-Request-Headers": "x-api-key,content-type"})
            assert pre.status_code == 200  # a preflight carries no token and must still be answered
            assert pre.headers["access-control-allow-origin"] == "http://tools.example"
            other = c.get("/api/stats", headers={"Origin": "http://evil.example", "X-API-Key": TOKEN})
            # a foreign origin is refused outright now (HostOriginGuard), even with the token, and gets no CORS grant
            assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
            ok = c.get("/api/stats", headers={"Origin": "http://tools.example", "X-API-Key": TOKEN})
            assert ok.headers["access-control-allow-origin"] == "http://tools.example"
            assert c.get("/api/stats", headers={"Origin": "http://tools.example"}).status_code == 401
    finally:
        server.stop()


def test_symlink_leading_outside_the_roots_is_refused(client, corpus_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("The launch code is 0000.", encoding="utf-8")
    trap = corpus_dir / "trap"
    trap.mkdir()
    (trap / "fine.txt").write_text("Nothing to see here.", encoding="utf-8")
    (trap / "leak.txt").symlink_to(secret)
    before = _counts(client)
    try:
        r = client.post("/api/ingest/path", json={"paths": [str(trap)], "wait": True})
        assert r.status_code == 403 and "leak.txt" in r.json()["message"]
        r = client.post("/api/ingest/path", json={"paths": [str(trap / "leak.txt")], "wait": True})
        assert r.status_code == 403  # the link itself resolves outside
        assert _counts(client) == before
    finally:
        (trap / "leak.txt").unlink()
        (trap / "fine.txt").unlink()
        trap.rmdir()
