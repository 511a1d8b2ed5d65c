"""The second wall: a SQLite connection the engine keeps read-only, with a timeout and a row cap.

These statements go straight to the executor, bypassing the guard on purpose.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from localkb.errors import LocalKBError, SQLError
from localkb.sql.executor import SQLDatabase

WRITES = [
    "DELETE FROM customers",
    "DROP TABLE customers",
    "UPDATE products SET price = 0",
    "INSERT INTO customers (name) VALUES ('mallory')",
    "CREATE TABLE evil (x)",
    "CREATE TEMP TABLE evil AS SELECT * FROM customers",
    "ALTER TABLE customers ADD COLUMN evil TEXT",
    "PRAGMA query_only = OFF",
    "PRAGMA writable_schema = ON",
    "PRAGMA journal_mode = DELETE",
    "VACUUM",
    "REINDEX",
    "ANALYZE",
    "BEGIN IMMEDIATE",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT sql FROM sqlite_master",
    "WITH x AS (SELECT 1) DELETE FROM customers",
    "SELECT 1; DELETE FROM customers",
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("sql", WRITES)
def test_engine_refuses_writes(shop_db: Path, sql: str) -> None:
    before = _sha(shop_db)
    with SQLDatabase(str(shop_db)) as db:
        with pytest.raises(SQLError):
            db.run(sql)
        assert db.run("SELECT count(*) FROM customers").rows == [(3,)]
    assert _sha(shop_db) == before


def test_attach_refused_and_creates_no_file(shop_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "evil.db"
    with SQLDatabase(f"sqlite:///{shop_db}") as db:
        for sql in (f"ATTACH DATABASE '{target}' AS evil", f"ATTACH 'file:{target}?mode=rwc' AS evil"):
            with pytest.raises(SQLError):
                db.run(sql)
    assert not target.exists()


def test_query_only_cannot_be_switched_off_then_write(shop_db: Path) -> None:
    before = _sha(shop_db)
    with SQLDatabase(str(shop_db)) as db:
        with pytest.raises(SQLError):
            db.run("PRAGMA query_only = 0")
        with pytest.raises(SQLError):
            db.run("INSERT INTO products (name, price) VALUES ('x', 1)")
    assert _sha(shop_db) == before


def test_timeout_interrupts_runaway_query(shop_db: Path) -> None:
    with SQLDatabase(str(shop_db), timeout=0.5) as db:
        start = time.monotonic()
        with pytest.raises(SQLError) as info:
            db.run("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n")
        assert time.monotonic() - start < 5
        assert info.value.data.get("timeout") is True
        assert db.run("SELECT 1").rows == [(1,)]  # the connection is still usable


def test_row_cap_truncates(shop_db: Path) -> None:
    with SQLDatabase(str(shop_db), max_rows=100) as db:
        res = db.run("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000) "
                     "SELECT x FROM n")
        assert len(res.rows) == 100 and res.truncated
        small = db.run("SELECT name FROM customers ORDER BY id")
        assert small.rows == [("Ada",), ("Linus",), ("Grace",)] and not small.truncated
        assert small.columns == ["name"]


def test_bare_path_and_url_are_the_same_database(shop_db: Path) -> None:
    with SQLDatabase(str(shop_db)) as a, SQLDatabase(f"sqlite:///{shop_db}") as b:
        assert a.url == b.url
        assert a.dialect == "sqlite" and "shop.db" in a.display_url


@pytest.mark.parametrize("url, fragment", [
    ("", "No database given"),
    ("sqlite:///does/not/exist.db", "No SQLite database"),
    ("/nowhere/missing.sqlite", "No SQLite database"),
    ("sqlite://", "in-memory"),
    ("postgress://localhost/db", "Did you mean 'postgresql'"),
    ("oracle://scott@localhost/orcl", "read-only"),
    ("not a url ://", "Cannot parse"),
])
def test_bad_urls_give_one_clear_error(url: str, fragment: str) -> None:
    with pytest.raises(LocalKBError) as info:
        SQLDatabase(url)
    assert fragment in info.value.message


def test_missing_file_is_never_created(tmp_path: Path) -> None:
    target = tmp_path / "new.db"
    with pytest.raises(SQLError):
        SQLDatabase(f"sqlite:///{target}")
    assert not target.exists()


def test_not_a_database_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("this is not sqlite, just text " * 50)
    with pytest.raises(SQLError, match="Cannot open"):
        SQLDatabase(str(junk))


def test_unreachable_postgres_server() -> None:
    pytest.importorskip("psycopg")
    start = time.monotonic()
    with pytest.raises(SQLError, match="Cannot connect to postgresql"):
        SQLDatabase("postgresql://nobody:secret@127.0.0.1:9/nodb", timeout=3)
    assert time.monotonic() - start < 15


def test_password_never_shown() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(SQLError) as info:
        SQLDatabase("postgresql+psycopg://nobody:s3cret-pw@127.0.0.1:9/nodb", timeout=2)
    assert "s3cret-pw" not in info.value.message
