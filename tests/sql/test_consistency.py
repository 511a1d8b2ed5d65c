"""Execution-guided self-consistency and result checks, with a scripted model (logic only).

The real 0.5B model end to end is in test_real_model.py::test_self_consistency_real_model.
"""
from __future__ import annotations

from pathlib import Path

from localkb.llm.fake import ScriptedLLM
from localkb.sql.agent import SQLAgent
from localkb.sql.audit import AuditLog
from localkb.sql.checks import cartesian
from localkb.sql.executor import SQLDatabase
from localkb.sql.scoring import execution_match, result_key, vote


def _agent(db: Path, tmp_path: Path, replies: list[str], **kw) -> tuple[SQLAgent, ScriptedLLM, AuditLog]:
    llm = ScriptedLLM(replies=replies)
    audit = AuditLog(tmp_path / "audit.jsonl")
    return SQLAgent(SQLDatabase(str(db)), llm, audit=audit, examples=None, embedder=None, **kw), llm, audit


def test_vote_groups_equivalent_results() -> None:
    a, b = [(1, "x"), (2, "y")], [(2, "y"), (1, "x")]  # same rows, other order
    assert result_key(a) == result_key(b) and result_key(a, ordered=True) != result_key(b, ordered=True)
    assert vote([[(3,)], a, b]) == (1, 2)
    assert vote([[(1.00001,)], [(1.0,)], [(2,)]]) == (0, 2)  # floats compared at 4 places
    assert vote([[], [(1,)]]) == (1, 1)  # a tie: the non-empty result
    assert vote([[(1,)], [(2,)]]) == (0, 1)  # a tie: the earliest (the greedy reply)


def test_majority_result_wins_and_every_candidate_is_guarded_and_audited(shop_db: Path, tmp_path: Path) -> None:
    replies = [
        "SELECT name FROM customers WHERE country = 'UK'",          # greedy: Ada
        "DELETE FROM customers",                                      # rejected by the guard
        "SELECT abs(-9223372036854775808) FROM customers",            # passes the guard, fails in SQLite
        "SELECT name FROM customers WHERE id IN (1, 3) AND email IS NOT NULL AND country <> 'US' OR id = 3",
        "SELECT name FROM customers WHERE country IN ('US', 'FI') AND id <> 2 OR name = 'Ada'",
    ]
    agent, llm, audit = _agent(shop_db, tmp_path, replies, candidates=5)
    ans = agent.ask("Which customers are in the UK or the US?")
    # two candidates return {Ada, Grace}; the greedy one returns {Ada}: the majority wins
    assert ans.ok and sorted(ans.rows) == [("Ada",), ("Grace",)]
    assert ans.votes == 2 and ans.candidates == 3 and len(ans.attempts) == 5
    assert "country IN ('US', 'FI')" in (ans.sql or "") or "id IN (1, 3)" in (ans.sql or "")
    assert len(llm.prompts) == 5 and all(p == llm.prompts[0] for p in llm.prompts)  # one prompt, 5 samples
    entries = list(audit.entries())
    assert [e["attempt"] for e in entries] == [1, 2, 3, 4, 5]
    assert [e["allowed"] for e in entries] == [True, False, True, True, True]
    assert entries[1]["violations"] and entries[1]["executed_sql"] is None
    assert entries[2]["error"] and "overflow" in entries[2]["error"]
    assert all(e["executed_sql"].endswith("LIMIT 100") for e in entries if e["allowed"])
    assert sha_unchanged(shop_db)


def sha_unchanged(path: Path) -> bool:
    import sqlite3

    return sqlite3.connect(path).execute("SELECT count(*) FROM customers").fetchone()[0] == 3


def test_only_errors_lead_to_a_fixed_prompt(shop_db: Path, tmp_path: Path) -> None:
    agent, llm, _ = _agent(shop_db, tmp_path, ["SELECT nme FROM customers", "DROP TABLE customers",
                                                "SELECT count(*) FROM customers"], candidates=2)
    ans = agent.ask("How many customers?")
    assert ans.ok and ans.rows == [(3,)] and len(ans.attempts) == 3
    fix = llm.prompts[2][1]["content"]
    assert "nme" in fix and "DROP" in fix.upper() and "Problems with earlier attempts" in fix


def test_empty_result_naming_a_stored_value_is_fed_back_once(shop_db: Path, tmp_path: Path) -> None:
    agent, llm, _ = _agent(shop_db, tmp_path, ["SELECT count(*) FROM products WHERE category = 'Hardware'"
                                                " GROUP BY category",
                                                "SELECT count(*) FROM products WHERE category = 'hardware'"],
                           value_links=6, check_results=True)
    ans = agent.ask("How many Hardware products are there?")
    assert ans.ok and ans.rows == [(2,)] and len(ans.attempts) == 2
    assert "stores products.category = 'hardware'" in llm.prompts[1][1]["content"]
    assert ans.checks and "no rows" in ans.checks[0]


def test_a_check_whose_retry_fails_keeps_the_first_result(shop_db: Path, tmp_path: Path) -> None:
    agent, _, _ = _agent(shop_db, tmp_path, ["SELECT name FROM products WHERE category = 'Hardware'",
                                              "SELECT nothing FROM nowhere"], value_links=6, check_results=True)
    ans = agent.ask("Which Hardware products are there?")
    assert ans.ok and ans.rows == [] and "category = 'Hardware'" in (ans.sql or "")
    assert len(ans.attempts) == 2


def test_cartesian_product_is_detected() -> None:
    assert cartesian("SELECT * FROM customers, orders", "sqlite")
    assert cartesian("SELECT * FROM customers JOIN orders", "sqlite")
    assert not cartesian("SELECT * FROM customers JOIN orders ON orders.customer_id = customers.id", "sqlite")
    assert not cartesian("SELECT * FROM customers, orders WHERE orders.customer_id = customers.id", "sqlite")
    assert cartesian("SELECT * FROM customers CROSS JOIN orders", "sqlite")
    assert not cartesian("SELECT * FROM customers", "sqlite")


def test_execution_match_is_test_suite_accuracy() -> None:
    dbs = {"a": {"g": [(1,)], "p": [(1,)]}, "b": {"g": [(2,)], "p": [(3,)]}}

    def runner(name: str):
        return lambda sql: dbs[name].get(sql)

    assert execution_match([runner("a")], "g", "p") is True
    assert execution_match([runner("a"), runner("b")], "g", "p") is False  # must agree on every filling
    assert execution_match([runner("a")], "g", "bad") is False
    assert execution_match([runner("a")], "nothing", "p") is None  # gold runs nowhere: unscorable
