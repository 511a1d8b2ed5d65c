"""`localkb eval sql` on small question files against real SQLite databases (scripted model: the logic).

The real 0.5B model runs it in test_real_model.py::test_eval_sql_real_model.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from localkb.cli import cli
from localkb.sql.cache import shared_llm


def _scripted(name: str, replies: list[str]) -> str:
    uri = f"scripted://{name}"
    model, _ = shared_llm(uri)
    model._replies = list(replies)  # type: ignore[attr-defined]
    return uri


def _write(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    return path


def test_eval_sql_scores_by_execution(shop_db: Path, tmp_path: Path, isolated_home: Path) -> None:
    questions = _write(tmp_path / "q.jsonl", [
        {"question": "How many customers are there?", "sql": "SELECT count(*) FROM customers"},
        {"question": "Name the hardware products", "sql": "SELECT name FROM products WHERE category = 'hardware'"},
        {"id": "x3", "question": "Most expensive product?", "sql": "SELECT name FROM products ORDER BY price DESC LIMIT 1"},
    ])
    uri = _scripted("eval-1", [
        "SELECT count(id) FROM customers",                                   # same result, other SQL: correct
        "SELECT name FROM products WHERE category = 'software'",             # runs, wrong rows
        "I cannot answer that.", "still no", "no SQL here",                  # never SQL: no_sql after 3 attempts
    ])
    result = CliRunner().invoke(cli, ["eval", "sql", str(questions), "--db", str(shop_db), "--llm", uri,
                                      "--no-examples", "--audit", str(tmp_path / "a.jsonl"), "--json"])
    assert result.exit_code == 1, result.output  # a wrong answer exits 1
    report = json.loads(result.output)
    assert report["model"] == "scripted" and report["questions"] == 3 and report["scored"] == 3
    assert [v["verdict"] for v in report["verdicts"]] == ["correct", "wrong", "no_sql"]
    assert report["execution_accuracy"] == pytest.approx(1 / 3)
    assert report["verdicts"][2]["id"] == "x3" and report["verdicts"][2]["attempts"] == 3
    assert report["test_suite"] is False and {"median_seconds", "load_seconds"} <= set(report)
    # the time split: answers (schema reading apart) and the model load, which no question is charged
    assert report["answer_seconds"] == pytest.approx(sum(v["seconds"] for v in report["verdicts"]), abs=0.05)
    assert 0 <= report["schema_seconds"] <= report["answer_seconds"] + 0.01
    # the relaxed reading beside the strict one (here no answer holds the gold columns plus others)
    assert [v["relaxed"] for v in report["verdicts"]] == [True, False, False]
    assert report["relaxed_accuracy"] == pytest.approx(1 / 3)
    audited = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert len(audited) == 5  # every reply went through the guard and the log


def test_eval_sql_test_suite_over_fillings(shop_db: Path, tmp_path: Path) -> None:
    dbs = tmp_path / "dbs"
    (dbs / "shop").mkdir(parents=True)
    shutil.copy(shop_db, dbs / "shop" / "a.db")
    shutil.copy(shop_db, dbs / "shop" / "b.db")
    conn = sqlite3.connect(dbs / "shop" / "b.db")  # a second filling where 'Ada' is not the only UK customer
    conn.execute("INSERT INTO customers VALUES (4, 'Alan', NULL, 'UK', NULL)")
    conn.commit()
    conn.close()
    questions = _write(tmp_path / "q.jsonl", [
        {"db": "shop", "question": "Customers in the UK?", "sql": "SELECT name FROM customers WHERE country = 'UK'"},
    ])
    # right on the first filling only: test-suite accuracy catches it
    uri = _scripted("eval-2", ["SELECT name FROM customers WHERE id = 1"])
    result = CliRunner().invoke(cli, ["eval", "sql", str(questions), "--dbs", str(dbs), "--llm", uri,
                                      "--no-examples", "--audit", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 1
    assert "wrong" in result.output and "test-suite accuracy: 0.0%" in result.output
    uri = _scripted("eval-3", ["SELECT name FROM customers WHERE country = 'UK'"])
    result = CliRunner().invoke(cli, ["eval", "sql", str(questions), "--dbs", str(dbs), "--llm", uri,
                                      "--no-examples", "--audit", str(tmp_path / "a.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["execution_accuracy"] == 1.0 and report["fillings"] == {"shop": 2} and report["test_suite"]
    # an extra column: wrong by the strict reading, right by the relaxed one, on both fillings
    uri = _scripted("eval-4", ["SELECT id, name FROM customers WHERE country = 'UK'"])
    result = CliRunner().invoke(cli, ["eval", "sql", str(questions), "--dbs", str(dbs), "--llm", uri,
                                      "--no-examples", "--audit", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 1 and "test-suite accuracy: 0.0% (relaxed, extra columns forgiven: 100.0%)" \
        in result.output


@pytest.mark.parametrize("line, message", [
    ({"question": "q", "sql": "SELECT 1", "gold": "x"}, "unknown key(s) gold"),
    ({"question": "q"}, "'sql' must be a non-empty string"),
    ({"question": "q", "sql": "SELECT 1", "db": "shop"}, "only read with --dbs"),
])
def test_eval_sql_bad_questions_file(shop_db: Path, tmp_path: Path, line: dict, message: str) -> None:
    questions = _write(tmp_path / "q.jsonl", [line])
    result = CliRunner().invoke(cli, ["eval", "sql", str(questions), "--db", str(shop_db), "--llm",
                                      "scripted://bad"])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_eval_sql_needs_one_database_option(tmp_path: Path) -> None:
    questions = _write(tmp_path / "q.jsonl", [{"question": "q", "sql": "SELECT 1"}])
    result = CliRunner().invoke(cli, ["eval", "sql", str(questions), "--llm", "scripted://x"])
    assert result.exit_code == 1 and "exactly one of --db URL or --dbs DIR" in result.output
    result = CliRunner().invoke(cli, ["eval", "sql", str(questions), "--dbs", str(tmp_path / "none")])
    assert result.exit_code == 1 and 'every line needs "db"' in result.output
