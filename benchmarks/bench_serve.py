"""How much search traffic does `localkb serve` take on loopback, and do searches keep answering while an
ingest runs?

    .venv/bin/python benchmarks/bench_serve.py [--clients 32] [--seconds 30] [--base 1000] [--incoming 600]

1. Builds a KB from SQuAD-dev paragraphs (one file per paragraph, fetched into ~/.cache/localkb/datasets),
   ingested through the server's own ``/api/ingest/path``.
2. Starts the real ``localkb serve`` process on 127.0.0.1 (a free port).
3. Load: ``--clients`` concurrent clients send SQuAD questions to ``POST /api/search`` for ``--seconds``
   (default mode: hybrid; then dense), each client one request at a time, no think time.
4. Mix: the same clients search while ``--incoming`` more paragraphs are ingested by a background job;
   the run lasts until the ingest finishes.
Any non-200 answer or transport error counts as an error. Writes the table into docs/benchmarks.md.

``--compare-coalescer`` runs instead: a KB of ``--base`` paragraphs built by the library (``--model``), then
the same hybrid load against two server processes in one run, query coalescing off
(``LOCALKB_COALESCE_EMBEDS=false``: one encoder call per search) and on; plus one client at a time over HTTP
against the library call in-process (what the HTTP path adds). Its own section: ``serve-coalescer``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the in-process library call (--compare-coalescer) gets the server's thread settings: OpenMP threads that
# spin on a shared box make torch many times slower
for _name, _value in (("OMP_NUM_THREADS", "1"), ("OMP_WAIT_POLICY", "PASSIVE"), ("TOKENIZERS_PARALLELISM", "false")):
    os.environ.setdefault(_name, _value)

import httpx  # noqa: E402
from _report import write_section  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.procs import free_port, stop_process  # noqa: E402 - one helper for tests and benchmarks


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[idx]


def write_corpus(folder: Path, rows: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        text = (f"# {row['title']}\n\n" if row.get("title") else "") + row["text"]
        (folder / f"{row['_id']}.md").write_text(text, encoding="utf-8")


def start_server(kb: Path, root: Path, port: int, log: Path,
                 extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "TOKENIZERS_PARALLELISM": "false",
           **(extra_env or {})}
    env.pop("LOCALKB_TOKEN", None)
    fh = open(log, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-c", "from localkb.cli import main; main()", "serve", "--kb", str(kb),
                             "--root", str(root), "--port", str(port), "--log-level", "warning", "--no-token"],
                            env=env, stdout=fh, stderr=subprocess.STDOUT)


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not start")


async def load(url: str, queries: list[str], clients: int, *, seconds: float | None, mode: str,
               until: asyncio.Event | None = None) -> dict[str, Any]:
    """``clients`` closed-loop clients; stop after ``seconds`` or when ``until`` is set."""
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + seconds if seconds else None
    rng = random.Random(7)

    def done() -> bool:
        return (stop_at is not None and time.monotonic() >= stop_at) or (until is not None and until.is_set())

    async def client(session: httpx.AsyncClient) -> None:
        while not done():
            q = rng.choice(queries)
            t0 = time.perf_counter()
            try:
                r = await session.post("/api/search", json={"query": q, "k": 10, "mode": mode})
                ok = r.status_code == 200 and isinstance(r.json().get("hits"), list)
                if not ok:
                    errors.append(f"{r.status_code}: {r.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - t0)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    elapsed = time.monotonic() - started
    return {"requests": len(latencies) + len(errors), "ok": len(latencies), "errors": len(errors),
            "error_samples": errors[:3], "seconds": elapsed, "rps": len(latencies) / elapsed,
            "p50": percentile(latencies, 50) * 1000, "p95": percentile(latencies, 95) * 1000,
            "p99": percentile(latencies, 99) * 1000, "mean": statistics.fmean(latencies) * 1000 if latencies else 0}


async def mix(url: str, queries: list[str], clients: int, incoming: Path, mode: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Searches while a background ingest job runs; returns (search stats, job)."""
    finished = asyncio.Event()
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        job = (await c.post("/api/ingest/path", json={"paths": [str(incoming)]})).json()

        async def watch() -> dict[str, Any]:
            while True:
                state = (await c.get(f"/api/jobs/{job['id']}")).json()
                if state["status"] in ("done", "failed"):
                    finished.set()
                    return state
                await asyncio.sleep(0.5)

        stats, final = await asyncio.gather(load(url, queries, clients, seconds=None, mode=mode, until=finished),
                                            watch())
    return stats, final


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--base", type=int, default=1000, help="paragraphs in the KB before the load test")
    ap.add_argument("--incoming", type=int, default=600, help="paragraphs ingested during the mix")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--compare-coalescer", action="store_true", help="coalescing off vs on (see above)")
    ap.add_argument("--model", default=None, help="embedding model of the --compare-coalescer KB")
    args = ap.parse_args(argv)
    if args.compare_coalescer:
        return compare_coalescer(args)

    from datasets import fetch

    folder = fetch("squad-dev")
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8")]
    queries = [json.loads(line)["text"] for line in (folder / "queries.jsonl").open(encoding="utf-8")]
    if args.base + args.incoming > len(corpus):
        raise SystemExit(f"only {len(corpus)} paragraphs available")
    work = Path(tempfile.mkdtemp(prefix="localkb-bench-serve-"))
    root = work / "docs"
    write_corpus(root / "base", corpus[:args.base])
    write_corpus(root / "incoming", corpus[args.base:args.base + args.incoming])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(work / "kb", root, port, work / "server.log")
    rows: list[tuple[str, dict[str, Any]]] = []
    load_before = os.getloadavg()[0]
    try:
        wait_ready(url, proc)
        t0 = time.monotonic()
        base_job = httpx.post(url + "/api/ingest/path", json={"paths": [str(root / "base")], "wait": True},
                              timeout=3600).json()
        base_seconds = time.monotonic() - t0
        assert base_job["status"] == "done", base_job
        stats = httpx.get(url + "/api/stats").json()
        print(f"base KB: {stats['documents']} documents, {stats['chunks']} chunks in {base_seconds:.1f} s", flush=True)
        for mode in ("hybrid", "dense"):
            for q in queries[:5]:  # warm-up: first-use work (lexical index load, calibration) is not load
                httpx.post(url + "/api/search", json={"query": q, "k": 10, "mode": mode}, timeout=600)
            r = asyncio.run(load(url, queries, args.clients, seconds=args.seconds, mode=mode))
            rows.append((f"search, {mode}", r))
            print(mode, {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()}, flush=True)
        r, job = asyncio.run(mix(url, queries, args.clients, root / "incoming", "hybrid"))
        rows.append(("search, hybrid, during ingest", r))
        ingest_s = (job["finished_at"] or 0) - (job["started_at"] or 0)
        after = httpx.get(url + "/api/stats").json()
        print("mix", {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()}, job["status"],
              f"{ingest_s:.1f}s", flush=True)
    finally:
        stop_process(proc)
    load_after = os.getloadavg()[0]
    total_errors = sum(r["errors"] for _, r in rows) + (0 if job["status"] == "done" else 1)

    lines = [
        "## HTTP server under load (`localkb serve`)",
        "",
        (f"Real `localkb serve` process on 127.0.0.1, KB of {stats['documents']:,} SQuAD-dev paragraphs "
        f"({stats['chunks']:,} chunks; MiniLM-L6 + FAISS flat + BM25). {args.clients} concurrent closed-loop "
        f"clients (one asyncio process, same machine) send SQuAD questions to `POST /api/search` (k=10); "
        "latency is measured at the client."),
        "",
        "| scenario | clients | seconds | requests | errors | req/s | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        lines.append(f"| {name} | {args.clients} | {r['seconds']:.1f} | {r['requests']:,} | {r['errors']} | "
                     f"{r['rps']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} |")
    rep = job.get("report") or {}
    lines += [
        "",
        (f"During the mix, a background job ingested {rep.get('added', 0):,} more paragraphs "
        f"({job.get('embedded', 0):,} chunks embedded) in {ingest_s:.1f} s while the searches above kept "
        f"answering (job status: {job['status']}; KB afterwards: {after['documents']:,} documents, "
        f"{after['chunks']:,} chunks). Building the base KB through `/api/ingest/path` took {base_seconds:.1f} s "
        "with no search load."),
        "",
        ("On 2 cores, clients, server and ingest share the CPU: each search embeds the query with MiniLM "
        "(queries that arrive together are embedded in one batch), then runs FAISS, BM25 and fusion in "
        "Python; the ingest job embeds with its own model instance, so searches wait for CPU, not for "
        "the ingest."),
        "",
        (f"Machine load average (1 min) at start / end: {load_before:.1f} / {load_after:.1f} "
        f"on {os.cpu_count()} CPUs (other work on the machine slows every figure here)."),
        "",
        f"Total errors: {total_errors}.",
    ]
    md = "\n".join(lines)
    print(md)
    if not args.no_report:
        write_section("serve", md)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if total_errors else 0


def compare_coalescer(args: argparse.Namespace) -> int:
    """The same KB and load against a server with query coalescing off, then on; HTTP vs library call."""
    from datasets import fetch

    from localkb import KnowledgeBase

    folder = fetch("squad-dev")
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8")]
    queries = [json.loads(line)["text"] for line in (folder / "queries.jsonl").open(encoding="utf-8")]
    work = Path(tempfile.mkdtemp(prefix="localkb-bench-serve-"))
    write_corpus(work / "docs", corpus[: args.base])
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    with KnowledgeBase.open(work / "kb", model=args.model, create=True) as kb:
        kb.ingest([work / "docs"])
        backend, chunks = kb.embedder.backend, kb.db.scalar("SELECT COUNT(*) FROM chunks")
    build_s = time.monotonic() - t0
    rows: list[tuple[str, dict[str, Any]]] = []
    single: dict[str, float] = {}
    for flag in ("false", "true"):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(work / "kb", work / "docs", port, work / f"server-{flag}.log",
                            {"LOCALKB_COALESCE_EMBEDS": flag})
        try:
            wait_ready(url, proc)
            for q in queries[:5]:
                httpx.post(url + "/api/search", json={"query": q, "k": 10, "mode": "hybrid"}, timeout=600)
            if flag == "true":
                lat = []
                with httpx.Client(base_url=url, timeout=600) as client:  # one connection, as the load's clients
                    for q in queries[100:160]:
                        t = time.perf_counter()
                        client.post("/api/search", json={"query": q, "k": 10, "mode": "hybrid"})
                        lat.append((time.perf_counter() - t) * 1000)
                single["http"] = percentile(lat, 50)
            r = asyncio.run(load(url, queries, args.clients, seconds=args.seconds, mode="hybrid"))
            rows.append((f"hybrid, coalescing {'on' if flag == 'true' else 'off'}", r))
            print(rows[-1][0], {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()}, flush=True)
        finally:
            stop_process(proc)
    with KnowledgeBase.open(work / "kb") as kb:
        for q in queries[:5]:
            kb.search(q, k=10, mode="hybrid")
        lat = []
        for q in queries[100:160]:
            t = time.perf_counter()
            kb.search(q, k=10, mode="hybrid")
            lat.append((time.perf_counter() - t) * 1000)
        single["library"] = percentile(lat, 50)
    load_after = os.getloadavg()[0]
    off, on = rows[0][1], rows[1][1]
    lines = ["## HTTP server: query coalescing off vs on (`localkb serve`, issue 18)", "",
             f"One KB of {args.base:,} SQuAD-dev paragraphs ({chunks:,} chunks, encoder `{backend}`, FAISS + BM25), "
             f"built by the library in {build_s:.0f} s; then the same load against two real `localkb serve` processes "
             f"on 127.0.0.1 in one run: {args.clients} concurrent closed-loop clients send SQuAD questions to "
             f"`POST /api/search` (hybrid, k=10) for {args.seconds:.0f} s each, latency at the client.", "",
             "| server | clients | seconds | requests | errors | req/s | p50 ms | p95 ms | p99 ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows:
        lines.append(f"| {name} | {args.clients} | {r['seconds']:.1f} | {r['requests']:,} | {r['errors']} | "
                     f"{r['rps']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} |")
    lines += ["", f"Coalescing on vs off: {on['rps'] / off['rps']:.2f}× the requests per second, p50 "
              f"{on['p50'] / off['p50']:.2f}×. One client at a time (60 questions, p50): {single['http']:.1f} ms over "
              f"HTTP against {single['library']:.1f} ms for `KnowledgeBase.search` in-process (the HTTP path adds "
              f"{single['http'] - single['library']:.1f} ms).", "",
              f"Machine load average (1 min) at start / end: {load_before:.1f} / {load_after:.1f} on {os.cpu_count()} "
              "CPUs (shared with other jobs, under nice): clients and server share the same 2 cores."]
    md = "\n".join(lines)
    print(md)
    if not args.no_report:
        write_section("serve-coalescer", md)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if off["errors"] or on["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
