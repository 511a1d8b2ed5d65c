"""Schema introspection, prompts/extraction, the audit log and the examples store."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from localkb.errors import SQLError, SQLRejected
from localkb.sql import add_example
from localkb.sql.audit import AuditLog
from localkb.sql.examples import ExampleStore
from localkb.sql.executor import SQLDatabase
from localkb.sql.prompts import extract_sql
from localkb.sql.schema import introspect, select_tables


def test_introspect_tables_keys_samples(shop_db: Path) -> None:
    with SQLDatabase(str(shop_db)) as db:
        schema = introspect(db)
    assert schema.table_names == ["customers", "order_items", "orders", "products"]
    orders = schema.table("ORDERS")
    assert orders is not None and orders.column("customer_id") is not None
    assert [(f.columns, f.ref_table) for f in orders.foreign_keys] == [(("customer_id",), "customers")]
    assert orders.column("id").primary_key
    notes = schema.table("customers").column("notes")
    assert all(len(s) <= 32 for s in notes.samples)  # long (possibly hostile) text is shortened
    assert schema.neighbours("orders") == {"customers", "order_items"}
    text = schema.render()
    assert "FOREIGN KEY (customer_id) REFERENCES customers(id)" in text
    json.dumps(schema.to_dict())


def test_db_with_no_tables(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).execute("PRAGMA user_version = 1").connection.commit()
    with SQLDatabase(str(path)) as db, pytest.raises(SQLError, match="no tables"):
        introspect(db)


def test_select_tables_without_embedder_uses_overlap(shop_db: Path) -> None:
    with SQLDatabase(str(shop_db)) as db:
        schema = introspect(db, samples=0)
    assert select_tables(schema, "anything", k=10) == schema.table_names
    picked = select_tables(schema, "which products cost most", k=1)
    assert picked[0] == "products" and "order_items" in picked  # + its FK neighbour


@pytest.mark.parametrize("reply, sql", [
    ("```sql\nSELECT 1\n```", "SELECT 1"),
    ("Here you go:\n```SQL\nSELECT a FROM t;\n```\nThis counts.", "SELECT a FROM t;"),
    ("```\nSELECT 2\n```", "SELECT 2"),
    ("SELECT name FROM customers", "SELECT name FROM customers"),
    ("Sure! DELETE FROM customers", ""),  # not at a line start: no statement found
    ("Sure!\nDELETE FROM customers", "DELETE FROM customers"),  # writes are returned for the guard to judge
    ("```sql\nSELECT 1; DROP TABLE t\n```", "SELECT 1; DROP TABLE t"),
    ("I can't do that.", ""),
    ("```sql\nSELECT 3", "SELECT 3"),  # unterminated fence
])
def test_extract_sql(reply: str, sql: str) -> None:
    assert extract_sql(reply) == sql


def test_audit_log_appends_json_lines(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "sub" / "audit.jsonl")
    log.record(db="sqlite:///x.db", sql="DROP TABLE t", allowed=False,
               violations=[{"rule": "select_only", "message": "no"}], question="q")
    log.record(db="sqlite:///x.db", sql="SELECT 1", allowed=True, executed_sql="SELECT 1 LIMIT 5", rows=1)
    lines = (tmp_path / "sub" / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["allowed"] is False and first["violations"][0]["rule"] == "select_only" and first["ts"]
    assert second["executed_sql"] == "SELECT 1 LIMIT 5"


def test_audit_log_unwritable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SQLError, match="audit log"):
        AuditLog(blocker / "audit.jsonl").record(db="d", sql="SELECT 1", allowed=True)


def test_audit_default_path_follows_localkb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALKB_HOME", str(tmp_path))
    monkeypatch.delenv("LOCALKB_SQL_AUDIT", raising=False)
    assert AuditLog().path == tmp_path / "sql-audit.jsonl"


def test_examples_store_overlap_fallback_and_replace(tmp_path: Path) -> None:
    store = ExampleStore(tmp_path / "ex.sqlite", embedder=False)
    store.add("db1", "How many tracks?", "SELECT count(*) FROM track")
    store.add("db1", "How many tracks?", "SELECT count(id) FROM track")  # same question: replaced
    store.add("db1", "Longest album title", "SELECT title FROM album ORDER BY length(title) DESC LIMIT 1")
    assert len(store.all("db1")) == 2 and store.all("db2") == []
    best = store.similar("db1", "how many tracks are there", k=1)
    assert best[0].sql == "SELECT count(id) FROM track"
    with pytest.raises(SQLError):
        store.add("db1", " ", "SELECT 1")
    store.close()
    # migrations recorded; reopening keeps the data
    again = ExampleStore(tmp_path / "ex.sqlite", embedder=False)
    assert len(again.all("db1")) == 2
    again.close()


def test_add_example_is_a_library_function_that_verifies_first(shop_db: Path, tmp_path: Path) -> None:
    store = ExampleStore(tmp_path / "ex.sqlite", embedder=False)
    audit = AuditLog(tmp_path / "audit.jsonl")
    before = shop_db.read_bytes()
    with pytest.raises(SQLRejected) as refused:
        add_example(str(shop_db), "Remove everyone", "DELETE FROM customers", audit=audit, store=store)
    assert refused.value.violations and "not stored" in refused.value.message.lower()
    with pytest.raises(SQLError):  # passes the guard, fails on the database: not stored either
        add_example(str(shop_db), "Union", "SELECT name FROM customers UNION SELECT name, price FROM products",
                    audit=audit, store=store)
    stored = add_example(str(shop_db), " How many open orders? ", "SELECT count(*) FROM orders WHERE status = 'open'",
                         audit=audit, store=store)
    assert stored.examples == 1 and stored.question == "How many open orders?"
    assert stored.to_dict()["stored"] is True and stored.db.endswith("shop.db")
    assert [e.question for e in store.all(stored.db)] == ["How many open orders?"]
    logged = list(audit.entries())
    assert [e["source"] for e in logged] == ["add-example"] * 3 and [e["allowed"] for e in logged] == [False, True, True]
    assert shop_db.read_bytes() == before  # verified read-only
    with pytest.raises(SQLError):
        add_example(str(shop_db), "  ", "SELECT 1", audit=audit, store=store)
    store.close()


def test_sqlite_double_quoted_strings_are_made_explicit(shop_db: Path) -> None:
    from localkb.sql.guard import Guard

    with SQLDatabase(str(shop_db)) as db:
        guard = Guard(introspect(db, samples=0))
        verdict = guard.check('SELECT name FROM customers WHERE country = "UK"')
        assert verdict.allowed and "country = 'UK'" in (verdict.sql or "")
        assert any('"UK"' in note for note in verdict.rewrites)
        assert db.run(verdict.sql).rows == [("Ada",)]
        assert guard.check('SELECT "name" FROM customers').sql == 'SELECT "name" FROM customers LIMIT 1000'
        assert not guard.check("SELECT c.\"nmae\" FROM customers AS c").allowed  # qualified: still an error
        assert not guard.check("SELECT nmae FROM customers").allowed  # unquoted: still an error
