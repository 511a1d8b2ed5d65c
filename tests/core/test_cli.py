"""The CLI is a thin, well-behaved layer: JSON contracts, exit codes, one-line errors, help everywhere."""
from __future__ import annotations

import json

import pytest

from ..conftest import EXAMPLES, FIXTURES, run_cli

CORE_COMMANDS = ["ingest", "search", "stats", "documents", "models"]


def test_help_is_fast_and_lists_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in CORE_COMMANDS:
        assert name in proc.stdout


@pytest.mark.parametrize("name", CORE_COMMANDS)
def test_every_command_has_help(name):
    proc = run_cli(name, "--help")
    assert proc.returncode == 0 and len(proc.stdout) > 80


def test_ingest_search_stats_json_end_to_end(tmp_path):
    kb = str(tmp_path / "kb")
    proc = run_cli("ingest", str(EXAMPLES / "corpus"), str(FIXTURES / "bad_files"), "--kb", kb, "--json",
                   "--tag", "demo")
    assert proc.returncode == 3, proc.stderr  # finished, some files skipped
    report = json.loads(proc.stdout)  # nothing but the JSON on stdout
    assert set(report) == {"added", "updated", "unchanged", "removed", "chunks", "skipped", "notes"}
    # the bundled corpus is mostly Chinese chunks (a novel's chapter) and the default model English-only
    assert len(report["notes"]) == 1 and "--model multilingual" in report["notes"][0]
    assert report["added"] >= 12 and report["chunks"] > 0
    assert {s["path"].rsplit("/", 1)[-1] for s in report["skipped"]} >= {"binary.txt", "empty.md"}
    assert all(set(s) == {"path", "error"} and s["error"] for s in report["skipped"])

    again = json.loads(run_cli("ingest", str(EXAMPLES / "corpus"), "--kb", kb, "--json", "--tag", "demo").stdout)
    assert again["added"] == 0 and again["unchanged"] >= 10 and again["chunks"] == report["chunks"]

    proc = run_cli("search", "What does IBE stand for?", "--kb", kb, "--json", "-k", "3", "--tag", "demo")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert 1 <= len(out["hits"]) <= 3
    hit = out["hits"][0]
    assert {"id", "score", "text", "source", "tags"} <= set(hit)
    assert hit["tags"] == ["demo"] and "IBE" in hit["text"]

    stats = json.loads(run_cli("stats", "--kb", kb, "--json").stdout)
    assert stats["chunks"] == report["chunks"] and stats["store"] == "faiss://index"
    human = run_cli("search", "IBE", "--kb", kb)
    assert human.returncode == 0 and "1." in human.stdout


def test_errors_are_one_line_and_nonzero(tmp_path):
    missing = run_cli("search", "x", "--kb", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "No knowledge base" in missing.stderr
    assert "Traceback" not in missing.stderr and missing.stderr.strip().count("\n") == 0

    bad_store = run_cli("ingest", str(EXAMPLES / "corpus"), "--kb", str(tmp_path / "kb2"), "--store", "fiass")
    assert bad_store.returncode == 1 and "Did you mean 'faiss'" in bad_store.stderr

    unknown = run_cli("ingest", "--frobnicate", str(EXAMPLES))
    assert unknown.returncode == 2 and "No such option" in unknown.stderr

    bad_min = run_cli("search", "x", "--kb", str(tmp_path / "nope"), "--min-score", "high")
    assert bad_min.returncode != 0 and "Traceback" not in bad_min.stderr


def test_chroma_kb_from_the_cli(tmp_path):
    kb = str(tmp_path / "kb")
    proc = run_cli("ingest", str(EXAMPLES / "corpus"), "--kb", kb, "--store", "chroma", "--json")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "kb" / "index" / "chroma.sqlite3").exists()
    out = json.loads(run_cli("search", "Austria country code", "--kb", kb, "--json").stdout)
    assert out["hits"]
    again = json.loads(run_cli("ingest", str(EXAMPLES / "corpus"), "--kb", kb, "--store", "chroma", "--json").stdout)
    assert again["added"] == 0 and again["chunks"] == json.loads(proc.stdout)["chunks"]
