"""``localkb sql``: check, add-example, schema, the default question form and bad input (no LLM needed)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from localkb.cli import cli


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, LOCALKB_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1")
    for name in ("LOCALKB_DB", "LOCALKB_SQL_AUDIT", "LOCALKB_SQL_EXAMPLES"):  # only LOCALKB_HOME decides here
        env.pop(name, None)
    return env


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("localkb")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from localkb.cli import main; main()"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=_env(tmp_path), timeout=120,
                          check=False)


def test_check_rejects_with_every_violation(shop_db: Path, tmp_path: Path) -> None:
    res = run(tmp_path, "sql", "check", "SELECT nmae FROM customer; DROP TABLE orders", "--db", str(shop_db),
              "--json")
    assert res.returncode == 1, res.stderr
    verdict = json.loads(res.stdout)
    assert verdict["allowed"] is False
    rules = {v["rule"] for v in verdict["violations"]}
    assert {"single_statement", "select_only", "unknown_table", "unknown_column"} <= rules
    assert "Traceback" not in res.stderr
    audit = [json.loads(x) for x in (tmp_path / "home" / "sql-audit.jsonl").read_text().splitlines()]
    assert audit[-1]["source"] == "check" and audit[-1]["allowed"] is False


def test_check_allows_and_shows_rewrite(shop_db: Path, tmp_path: Path) -> None:
    res = run(tmp_path, "sql", "check", "select name from customers", "--db", f"sqlite:///{shop_db}")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == "allowed"
    assert "LIMIT 1000" in res.stdout and "added LIMIT" in res.stdout


def test_check_text_output_lists_rules(shop_db: Path, tmp_path: Path) -> None:
    audit = tmp_path / "my-audit.jsonl"
    res = CliRunner().invoke(cli, ["sql", "check", "PRAGMA query_only=OFF", "--db", str(shop_db),
                                   "--audit", str(audit)])
    assert res.exit_code == 1
    assert "rejected" in res.output and "[select_only]" in res.output
    assert json.loads(audit.read_text().splitlines()[0])["sql"] == "PRAGMA query_only=OFF"


def test_add_example_verifies_then_stores(shop_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALKB_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    bad = runner.invoke(cli, ["sql", "add-example", "--db", str(shop_db), "Remove everyone", "DELETE FROM customers"])
    assert bad.exit_code == 1 and "not stored" in bad.output.lower()
    broken = runner.invoke(cli, ["sql", "add-example", "--db", str(shop_db), "Union",
                                 "SELECT name FROM customers UNION SELECT name, price FROM products"])
    assert broken.exit_code == 1 and "refused" in broken.output
    ok = runner.invoke(cli, ["sql", "add-example", "--db", str(shop_db), "How many open orders?",
                             "SELECT count(*) FROM orders WHERE status = 'open'", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output.splitlines()[-1])["examples"] == 1
    assert (tmp_path / "home" / "sql-examples.sqlite").exists()


def test_schema_command(shop_db: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["sql", "schema", "--db", str(shop_db)])
    assert res.exit_code == 0 and "CREATE TABLE orders" in res.output


@pytest.mark.parametrize("args, fragment", [
    (["sql", "How many customers?", "--db", "sqlite:///nowhere/none.db", "--llm", "scripted://"],
     "No SQLite database"),
    (["sql", "How many customers?", "--db", "postgress://localhost/x", "--llm", "scripted://"], "Did you mean"),
    (["sql", "   ", "--db", "DB", "--llm", "scripted://"], "question is empty"),
    (["sql", "How many customers?", "--llm", "scripted://"], "No database given"),
    (["sql", "check", "SELECT 1", "--db", "mysql://u@127.0.0.1:9/x"], "Cannot connect to mysql://u@127.0.0.1:9/x"),
    (["sql", "check", "SELECT 1", "--db", "mysql+mysqldb://u@127.0.0.1:9/x"], "driver"),
])
def test_bad_input_one_line(args: list[str], fragment: str, shop_db: Path, tmp_path: Path) -> None:
    args = [str(shop_db) if a == "DB" else a for a in args]
    res = run(tmp_path, *args)
    assert res.returncode == 1
    assert fragment in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_empty_database_is_a_clear_error(tmp_path: Path) -> None:
    import sqlite3

    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).execute("PRAGMA user_version = 2").connection.commit()
    res = run(tmp_path, "sql", "What is in here?", "--db", str(empty), "--llm", "scripted://")
    assert res.returncode == 1 and "has no tables" in res.stderr and "Traceback" not in res.stderr


def test_help_lists_subcommands() -> None:
    res = CliRunner().invoke(cli, ["sql", "--help"])
    assert res.exit_code == 0
    for word in ("ask", "check", "add-example", "schema", "read-only"):
        assert word in res.output
