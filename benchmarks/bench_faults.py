"""Fault campaign, writers part (issue 12): concurrent writers and SIGKILLs, then check nothing was lost.

Randomised trials on small real KBs (the packaged MiniLM, real FAISS and Chroma files, real SQLite):

- ``cli+cli new`` / ``cli+cli existing``: two writer processes started together on a new / existing KB;
- ``server+cli``: a real ``localkb`` HTTP server (uvicorn on 127.0.0.1) that has searched the KB, a writer
  process ingesting beside it, the server asked to find the writer's documents, then to ingest its own;
- ``ingest+migrate``: an ingest and a ``migrate`` to the other store at the same time;
- ``kill ingest`` / ``kill delete`` / ``kill migrate``: the operation SIGKILLed at a random moment, then the
  KB reopened (which repairs what the kill left) and the operation run again to completion.

After every trial, in a fresh process: the raw counts at rest (before anything repairs them) for the
trials without a kill, then the KB opened normally; ``chunks == vectors == lexical entries`` must hold,
and every document that any run reported as ingested (or that existed before and was not deleted) must
be found by dense search for its own sentence. (localkb has no index compaction to kill.)

Writers are forked from one parent that has already imported torch and loaded the model, so a trial costs
a second or two instead of a process start each; they are separate processes all the same (own file
descriptors, own locks, killed by SIGKILL). The parent never opens a store itself.

    nice -n 10 .venv/bin/python benchmarks/bench_faults.py [--trials 100] [--seed 12] [--no-write]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
# one torch thread: an OpenMP team started in the parent deadlocks the forked writers
os.environ["LOCALKB_EMBED_THREADS"] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import write_section  # noqa: E402

SCENARIOS = ["cli+cli new", "cli+cli existing", "server+cli", "ingest+migrate",
             "kill ingest", "kill delete", "kill migrate"]
STORES = ["faiss", "chroma"]
TOKEN = "bench-faults"
_WORDS = {
    "who": ["otter", "heron", "badger", "lynx", "marten", "ibex", "gecko", "tapir", "walrus", "bison", "falcon",
            "newt", "puffin", "yak", "okapi", "dingo"],
    "what": ["repaired the boiler", "painted the lighthouse", "counted the barrels", "sorted the letters",
             "tuned the piano", "mended the fishing nets", "baked rye bread", "wired the greenhouse",
             "polished the telescope", "charted the reef", "stacked the firewood", "cleaned the aquarium"],
    "where": ["in Lisbon", "near Oslo", "at the Cairo depot", "in a Quito garage", "beside the Danube",
              "on Crete", "in Hanoi harbour", "at the Lima archive", "under the Alps", "in Perth"],
}


# -- corpus -----------------------------------------------------------------------------------------
def write_docs(folder: Path, rng: random.Random, n: int, prefix: str) -> dict[str, str]:
    """``n`` small files, each led by a sentence of its own; returns file name → that sentence."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i in range(n):
        sentence = (f"Record {prefix}{i}: the {rng.choice(_WORDS['who'])} {rng.choice(_WORDS['what'])} "
                    f"{rng.choice(_WORDS['where'])} on day {rng.randint(1, 999)}.")
        body = [sentence] + [f"Line {p} of {prefix}{i}: {rng.randint(100, 999)} crates, {rng.randint(1, 50)} "
                             f"pallets, checked by shift {rng.choice('ABCDE')}." for p in range(3)]
        name = f"{prefix}{i:02d}.txt"
        (folder / name).write_text("\n\n".join(body), encoding="utf-8")
        out[name] = sentence
    return out


# -- what the forked children do --------------------------------------------------------------------
def _child(result: Path, fn: str, args: dict[str, Any]) -> None:
    os.environ["LOCALKB_INGEST_BATCH"] = "4"
    os.environ["LOCALKB_FLUSH_EVERY"] = "4"
    os.environ["LOCALKB_MIGRATE_CHECKPOINT_SECONDS"] = "0"
    from localkb.errors import LocalKBError

    try:
        out = {"ok": True, **globals()[f"_do_{fn}"](**args)}
    except LocalKBError as exc:  # a clear refusal (e.g. the KB is locked) is allowed; it wrote nothing
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    except BaseException:  # noqa: BLE001 - a crash is a finding
        out = {"ok": False, "crash": traceback.format_exc()}
    tmp = result.with_suffix(".tmp")
    tmp.write_text(json.dumps(out), encoding="utf-8")
    os.replace(tmp, result)
    os._exit(0)


def _do_ingest(kb: str, paths: list[str], store: str) -> dict[str, Any]:
    from localkb import KnowledgeBase

    with KnowledgeBase.open(kb, store=store, create=True) as base:
        report = base.ingest(paths)
    return {"report": report.to_dict()}


def _do_delete(kb: str, names: list[str]) -> dict[str, Any]:
    from localkb import KnowledgeBase

    with KnowledgeBase.open(kb, create=False) as base:
        ids = [d["id"] for d in base.documents() if Path(d["source"]).name in names]
        for doc_id in ids:
            base.delete_document(doc_id)
    return {"deleted": len(ids)}


def _do_migrate(kb: str, to: str, out: str, delay: float = 0.0) -> dict[str, Any]:
    from localkb.migrate import migrate

    if delay:  # seconds per batch: makes the run long enough to be killed part-way
        os.environ["LOCALKB_MIGRATE_BATCH_DELAY"] = str(delay)

    return {"migrate": migrate(kb, to, out=out, batch_size=4).to_dict()}


def _do_serve(kb: str, port: int, root: str) -> dict[str, Any]:
    import uvicorn

    from localkb.server.app import create_app

    uvicorn.run(create_app(kb, token=TOKEN, upload_roots=[root]), host="127.0.0.1", port=port, log_level="error")
    return {}


def _do_verify(kb: str, expected: dict[str, str], raw: bool) -> dict[str, Any]:
    """Counts at rest (``raw``: before anything repairs), then after a normal open, and what is findable."""
    import sqlite3

    from localkb import KnowledgeBase
    from localkb.manifest import Manifest
    from localkb.search.lexical import lexical_index
    from localkb.stores.base import open_store

    out: dict[str, Any] = {}
    folder = Path(kb)
    if raw:
        manifest = Manifest.load(folder)
        con = sqlite3.connect(f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True)
        chunks = con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        con.close()
        store = open_store(manifest.store, manifest.dim, base_dir=kb)
        vectors = store.count()
        store.close()
        current = folder / "lexical" / "current.json"
        lexical = len(json.loads(current.read_text())["ids"]) if current.exists() else 0
        out["raw"] = [chunks, vectors, lexical]
    with KnowledgeBase.open(kb, create=False) as base:
        out["notes"] = list(base.notes)
        lex = lexical_index(base)
        lex.ensure_fresh()
        db_ids, store_ids = base.db.chunk_ids(), base.store.ids()
        out["after"] = [len(db_ids), len(store_ids), len(lex.ids)]
        out["consistent"] = db_ids == store_ids == set(lex.ids)
        missing = []
        for name, sentence in expected.items():
            hits = base.search(sentence, k=5, mode="dense", min_score="none").hits
            if name not in [Path(h.source).name for h in hits]:
                missing.append(name)
        out["missing"] = missing
    return out


class Runner:
    """Forks children and collects what they wrote."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.ctx = mp.get_context("fork")
        self.n = 0

    def start(self, fn: str, **args: Any) -> tuple[Any, Path]:
        self.n += 1
        result = self.work / f"result-{self.n}.json"
        proc = self.ctx.Process(target=_child, args=(result, fn, args), daemon=True)
        proc.start()
        return proc, result

    @staticmethod
    def wait(handle: tuple[Any, Path], timeout: float = 300) -> dict[str, Any]:
        proc, result = handle
        proc.join(timeout)
        if proc.is_alive():
            proc.kill()
            proc.join()
            return {"ok": False, "crash": "timed out"}
        if not result.exists():
            return {"ok": False, "killed": True}
        return json.loads(result.read_text(encoding="utf-8"))

    def run(self, fn: str, **args: Any) -> dict[str, Any]:
        return self.wait(self.start(fn, **args))


# -- the trials -------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ingested(result: dict[str, Any]) -> bool:
    return bool(result.get("ok")) and not result.get("report", {}).get("skipped")


def trial(runner: Runner, scenario: str, store: str, rng: random.Random, work: Path,
          check: Any) -> dict[str, Any]:
    """Run one trial, calling ``check(kb, expected_docs, raw)`` at each point where the KB must be whole."""
    kb = work / "kb"
    base = write_docs(work / "base", rng, 4, "base")
    new_a = write_docs(work / "a", rng, rng.randint(3, 6), "a")
    new_b = write_docs(work / "b", rng, rng.randint(3, 6), "b")
    expected: dict[str, str] = {}
    faults = 0
    notes: list[str] = []
    other = "chroma" if store == "faiss" else "faiss"

    def need(result: dict[str, Any], docs: dict[str, str]) -> None:
        if ingested(result):
            expected.update(docs)
        elif result.get("crash"):
            notes.append(result["crash"].strip().splitlines()[-1])

    if scenario != "cli+cli new":
        need(runner.run("ingest", kb=str(kb), paths=[str(work / "base")], store=store), base)
    if scenario.startswith("cli+cli"):
        a = runner.start("ingest", kb=str(kb), paths=[str(work / "a")], store=store)
        b = runner.start("ingest", kb=str(kb), paths=[str(work / "b")], store=store)
        need(runner.wait(a), new_a)
        need(runner.wait(b), new_b)
        faults = 1
        check(kb, expected, True)
    elif scenario == "server+cli":
        import httpx

        port = free_port()
        server = runner.start("serve", kb=str(kb), port=port, root=str(work))
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                  headers={"Authorization": f"Bearer {TOKEN}"})
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the trial's server did not start")
                time.sleep(0.1)

            def server_finds(docs: dict[str, str]) -> list[str]:
                lost = []
                for name, sentence in docs.items():
                    res = client.post("/api/search", json={"query": sentence, "k": 5, "mode": "dense",
                                                           "min_score": -1})
                    if res.status_code != 200 or name not in [Path(h["source"]).name for h in res.json()["hits"]]:
                        lost.append(name)
                return lost

            stale = server_finds(dict(list(base.items())[:1]))  # the server now holds the store in memory
            need(runner.run("ingest", kb=str(kb), paths=[str(work / "a")], store=store), new_a)
            stale += server_finds(new_a)
            res = client.post("/api/ingest/path", json={"paths": [str(work / "b")], "wait": True})
            if res.status_code in (200, 202) and res.json().get("status") == "done" \
                    and not res.json().get("report", {}).get("skipped"):
                expected.update(new_b)
            else:
                notes.append(f"server ingest: {res.status_code} {res.text[:120]}")
            if stale:
                notes.append(f"server could not find {len(stale)} documents it should have")
            client.close()
        finally:
            server[0].kill()
            server[0].join()
        faults = 1
        check(kb, expected, True)
        return {"faults": faults, "notes": notes, "stale_reads": len(stale)}
    elif scenario == "ingest+migrate":
        out = work / "kb-moved"
        a = runner.start("ingest", kb=str(kb), paths=[str(work / "a")], store=store)
        m = runner.start("migrate", kb=str(kb), to=other, out=str(out))
        need(runner.wait(a), new_a)
        moved = runner.wait(m)
        faults = 1
        check(kb, expected, True)
        if moved.get("ok"):  # the copy holds what the source held when migrate took the lock
            check(out, None, True)
        elif moved.get("crash"):
            notes.append(moved["crash"].strip().splitlines()[-1])
    elif scenario == "kill ingest":
        new_a.update(write_docs(work / "a", rng, 12, "k"))  # a longer run, so most kills land inside it
        proc, _ = runner.start("ingest", kb=str(kb), paths=[str(work / "a")], store=store)
        time.sleep(rng.uniform(0.0, 1.0))
        faults = int(proc.is_alive())
        proc.kill()
        proc.join()
        check(kb, expected, False)  # after the kill: what existed before is intact
        need(runner.run("ingest", kb=str(kb), paths=[str(work / "a")], store=store), new_a)  # and redo it
        check(kb, expected, True)
    elif scenario == "kill delete":
        doomed = rng.sample(sorted(base), 3)
        proc, _ = runner.start("delete", kb=str(kb), names=doomed)
        time.sleep(rng.uniform(0.0, 0.3))
        faults = int(proc.is_alive())
        proc.kill()
        proc.join()
        for name in doomed:
            expected.pop(name, None)
        check(kb, expected, False)
        runner.run("delete", kb=str(kb), names=doomed)
        check(kb, expected, True)
    elif scenario == "kill migrate":
        out = work / "kb-moved"
        proc, _ = runner.start("migrate", kb=str(kb), to=other, out=str(out), delay=0.1)
        time.sleep(rng.uniform(0.0, 0.8))
        faults = int(proc.is_alive())
        proc.kill()
        proc.join()
        check(kb, expected, True)  # the source is never written by migrate
        # resume the interrupted run (a run that had finished before the kill refuses a second one)
        moved = runner.run("migrate", kb=str(kb), to=other, out=str(out)) if faults else {"ok": True}
        if moved.get("ok"):
            check(out, expected, True)
        else:
            notes.append(f"resumed migrate failed: {moved.get('error') or moved.get('crash')}")
    return {"faults": faults, "notes": notes, "stale_reads": 0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--no-write", action="store_true", help="print the table, do not touch docs/benchmarks.md")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from localkb.embedders import load_embedder

    load_embedder(None).embed(["warm up"])  # loaded once here; every forked writer shares it
    import chromadb  # noqa: F401 - imported (never opened) before forking, so children start fast
    import faiss  # noqa: F401

    rng = random.Random(args.seed)
    started = time.perf_counter()
    rows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    findings: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    for n in range(args.trials):
        scenario, store = SCENARIOS[n % len(SCENARIOS)], rng.choice(STORES)
        work = root / f"t{n:03d}"
        runner = Runner(work)
        work.mkdir()
        row = rows[(scenario, store)]
        t0 = time.perf_counter()
        tally: Counter[str] = Counter()

        def check(kb: Path, expected: dict[str, str] | None, raw: bool, n: int = n, scenario: str = scenario,
                  store: str = store, row: Counter[str] = row, tally: Counter[str] = tally,
                  runner: Runner = runner, findings: list[str] = findings) -> None:
            docs = _sentences_of(kb) if expected is None else dict(expected)
            v = runner.run("verify", kb=str(kb), expected=docs, raw=raw)
            tag = f"trial {n} ({scenario}, {store})"
            if not v.get("ok"):
                findings.append(f"{tag}: verify failed {v.get('error') or v.get('crash')}")
                tally["bad"] += 1
                return
            if raw and len(set(v["raw"])) != 1:
                findings.append(f"{tag}: at rest chunks/vectors/lexical = {v['raw']}")
                row["inconsistent at rest"] += 1
            row["repaired on open"] += int(bool(v["notes"]))
            if not v["consistent"]:
                tally["bad"] += 1
                findings.append(f"{tag}: after open chunks/vectors/lexical = {v['after']}")
            if v["missing"]:
                tally["lost"] += len(v["missing"])
                findings.append(f"{tag}: not findable {v['missing']}")

        try:
            out = trial(runner, scenario, store, rng, work, check)
        except Exception as exc:  # noqa: BLE001 - the harness failed: count it, go on
            findings.append(f"trial {n} ({scenario}, {store}): harness error {exc}")
            row["harness errors"] += 1
            continue
        bad, lost = tally["bad"], tally["lost"]
        row["trials"] += 1
        row["faults"] += out["faults"]
        row["stale server reads"] += out["stale_reads"]
        row["inconsistent"] += int(bad > 0)
        row["documents lost"] += lost
        findings += [f"trial {n} ({scenario}, {store}): {note}" for note in out["notes"]]
        print(f"trial {n:3d} {scenario:16s} {store:6s} {time.perf_counter() - t0:5.1f}s "
              f"faults={out['faults']} inconsistent={int(bad > 0)} lost={lost}", flush=True)
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    shutil.rmtree(root, ignore_errors=True)
    table = render(rows, findings, args, seconds)
    print(table)
    if not args.no_write:
        write_section("faults-writers", table)
    totals = sum(rows.values(), Counter())
    return 0 if totals["inconsistent"] == 0 and totals["documents lost"] == 0 else 1


def _sentences_of(kb: Path) -> dict[str, str]:
    """Every document of a KB → its first line (each test file is led by its own sentence)."""
    import sqlite3

    con = sqlite3.connect(f"file:{kb / 'chunks.sqlite'}?mode=ro", uri=True)
    out = {}
    for (path,) in con.execute("SELECT path FROM documents"):
        p = Path(path)
        if p.exists():
            out[p.name] = p.read_text(encoding="utf-8").split("\n\n", 1)[0]
    con.close()
    return out


def render(rows: dict[tuple[str, str], Counter[str]], findings: list[str], args: argparse.Namespace,
           seconds: float) -> str:
    cols = ["trials", "faults", "inconsistent at rest", "repaired on open", "inconsistent", "documents lost",
            "stale server reads", "harness errors"]
    lines = ["## Fault campaign: concurrent writers and SIGKILL (`bench_faults`)", "",
             f"{args.trials} randomised trials (seed {args.seed}) in {seconds / 60:.1f} min. Each trial builds "
             "a small KB (4–16 files, packaged MiniLM), then runs its scenario; *faults* counts concurrent "
             "writer pairs and kills that hit a running operation. *Inconsistent at rest*: chunks, vectors and "
             "lexical entries differed before anything repaired them (trials without a kill, and after each "
             "kill's re-run); *inconsistent*: they still differed after a normal open (target 0); *documents "
             "lost*: reported ingested (or present and not deleted) but not found by dense search for their "
             "own sentence (target 0); *stale server reads*: the server could not find a document another "
             "process had ingested. localkb has no index compaction, so none is killed.", "",
             "| scenario | store | " + " | ".join(cols) + " |", "|---|---|" + "---:|" * len(cols)]
    total: Counter[str] = Counter()
    for (scenario, store), row in sorted(rows.items()):
        total += row
        lines.append(f"| {scenario} | {store} | " + " | ".join(str(row[c]) for c in cols) + " |")
    lines.append("| **all** | | " + " | ".join(f"**{total[c]}**" for c in cols) + " |")
    lines += ["", f"Findings ({len(findings)}):" if findings else "Findings: none."]
    lines += [f"- {f}" for f in findings[:30]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise SystemExit(main())
