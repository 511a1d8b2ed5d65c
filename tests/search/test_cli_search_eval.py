"""The real ``localkb`` console script: search modes and errors, ``eval retrieval`` on a tiny BEIR folder."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tests.search.test_eval import write_beir

CORPUS = [
    {
        "_id": "ibe",
        "title": "IBE",
        "text": "IBE stands for Inbound Exception, raised when a shipment arrives damaged.",
    },
    {
        "_id": "obe",
        "title": "OBE",
        "text": "OBE stands for Outbound Exception, raised when an order cannot leave.",
    },
    {"_id": "e119", "text": "E11.9 — Type 2 diabetes mellitus without complications."},
    {"_id": "e118", "text": "E11.8 — Type 2 diabetes mellitus with unspecified complications."},
    {"_id": "dock", "text": "The warehouse opens at six in the morning; trucks unload at the north dock."},
]
QUERIES = [
    {"_id": "q-ibe", "text": "IBE"},
    {"_id": "q-e119", "text": "What does code E11.9 mean?"},
    {"_id": "q-dock", "text": "When does the warehouse open?"},
    {"_id": "q-absent", "text": "E11.99"},
    {"_id": "q-bread", "text": "How long should I bake sourdough bread at home?"},
]
QRELS = "query-id\tcorpus-id\tscore\nq-ibe\tibe\t1\nq-e119\te119\t1\nq-dock\tdock\t1\n"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_beir(tmp_path_factory.mktemp("beir") / "tiny", CORPUS, QUERIES, QRELS)


def test_eval_retrieval_json_and_trec_run(dataset, tmp_path, isolated_home):
    run_file = tmp_path / "run.txt"
    proc = run_cli(
        "eval",
        "retrieval",
        str(dataset),
        "--json",
        "--run",
        str(run_file),
        "-k",
        "10",
        "--kb",
        str(tmp_path / "kb"),
    )
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    assert (
        m["mode"] == "hybrid" and m["queries"] == 5 and m["judged_queries"] == 3 and m["should_abstain"] == 2
    )
    assert m["p@1"] == 1.0 and m["ndcg@10"] == 1.0 and m["recall@10"] == 1.0
    assert m["abstention_recall"] == 1.0 and m["abstention_precision"] == 1.0
    lines = run_file.read_text().splitlines()
    qids = {line.split()[0] for line in lines}
    assert qids == {"q-ibe", "q-e119", "q-dock"}  # abstained queries have no lines
    first = next(line.split() for line in lines if line.startswith("q-ibe "))
    assert first[1:4] == ["Q0", "ibe", "1"] and first[5] == "localkb-hybrid"
    again = run_cli(
        "eval", "retrieval", str(dataset), "--json", "--kb", str(tmp_path / "kb"), "--mode", "lexical"
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["mode"] == "lexical"


def test_eval_human_output(dataset, isolated_home):
    proc = run_cli("eval", "retrieval", str(dataset), "--mode", "dense", "--min-score", "none")
    assert proc.returncode == 0, proc.stderr
    assert "ndcg@10" in proc.stdout and "abstention_recall" in proc.stdout


def test_eval_min_score_none_turns_the_cut_off_off(dataset, tmp_path, isolated_home):
    kb = str(tmp_path / "kb")
    runs = {cut: json.loads(run_cli("eval", "retrieval", str(dataset), "--json", "--kb", kb, "--mode", "dense",
                                    "--min-score", cut).stdout) for cut in ("auto", "none")}
    assert runs["auto"]["abstained"] == 2  # the bread question is refused by the calibrated cut-off …
    assert runs["none"]["abstained"] == 1  # … and answered without it (only the absent code stays empty)
    assert runs["none"]["min_score"] == "none"


def test_eval_bad_dataset_names_file_and_line(tmp_path, isolated_home):
    root = write_beir(tmp_path / "bad", CORPUS, QUERIES, QRELS)
    (root / "queries.jsonl").write_text('{"_id": "q1", "text": "ok"}\n{oops\n', encoding="utf-8")
    proc = run_cli("eval", "retrieval", str(root))
    assert proc.returncode == 1
    assert "queries.jsonl:2: not valid JSON" in proc.stderr and "Traceback" not in proc.stderr
    (root / "queries.jsonl").unlink()
    proc = run_cli("eval", "retrieval", str(root))
    assert proc.returncode == 1 and "queries.jsonl is missing" in proc.stderr


def test_eval_unknown_mode(dataset, isolated_home):
    proc = run_cli("eval", "retrieval", str(dataset), "--mode", "sparse")
    assert proc.returncode == 1 and "Unknown search mode 'sparse'" in proc.stderr


def test_search_cli_modes_and_errors(tmp_path, isolated_home):
    docs = tmp_path / "docs"
    docs.mkdir()
    for row in CORPUS:
        (docs / f"{row['_id']}.txt").write_text(row["text"], encoding="utf-8")
    kb = str(tmp_path / "kb")
    assert run_cli("ingest", str(docs), "--kb", kb).returncode == 0
    proc = run_cli("search", "IBE", "--kb", kb, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "hybrid" and data["exact_match"] == {"IBE": True}
    assert data["hits"][0]["source"].endswith("ibe.txt")
    proc = run_cli("search", "E11.99", "--kb", kb)
    assert proc.returncode == 0 and "E11.99" in proc.stdout + proc.stderr
    for args, message in (
        (["--mode", "fuzzy"], "Unknown search mode 'fuzzy'"),
        (["--min-score", "high"], "'high' is not a number"),
    ):
        proc = run_cli("search", "IBE", "--kb", kb, *args)
        assert proc.returncode in (1, 2) and message in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("search", "x" * 100_000, "--kb", kb)
    assert proc.returncode == 1 and "too long" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("search", "?!?", "--kb", kb)
    assert proc.returncode == 1 and "punctuation" in proc.stderr
    proc = run_cli("search", "how long should I bake sourdough bread", "--kb", kb, "--mode", "dense")
    assert proc.returncode == 0 and "No results" in proc.stdout
