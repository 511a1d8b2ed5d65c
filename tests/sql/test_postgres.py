"""PostgreSQL through the same guard and read-only executor, against a real server on 127.0.0.1.

The test starts a private PostgreSQL cluster (Debian's ``postgresql`` package; `make test` installs it
when run as root) in a temp folder, on a free port, bound to 127.0.0.1 only, and stops it afterwards.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from localkb.errors import SQLError
from localkb.sql.executor import Database

from ..procs import free_port


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="module")
def pg_url():
    initdb, pg_ctl, psql = _bin("initdb"), _bin("pg_ctl"), shutil.which("psql")
    if not (initdb and pg_ctl and psql):
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    as_user: list[str] = []
    # not under pytest's tmp folder: that is private to root, and the server runs as another user
    data = Path(tempfile.mkdtemp(prefix="localkb-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root: use the package's postgres user
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(data, "postgres")
    pgdata = data / "data"
    subprocess.run([*as_user, initdb, "-D", str(pgdata), "-U", "kb", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    port = free_port()
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {data}"
    subprocess.run([*as_user, pg_ctl, "-D", str(pgdata), "-o", opts, "-w", "-l", str(data / "log"), "start"],
                   check=True, capture_output=True)
    try:
        def sql(statement: str, db: str = "postgres") -> str:
            return subprocess.run([psql, "-h", "127.0.0.1", "-p", str(port), "-U", "kb", "-d", db, "-At", "-c",
                                   statement], check=True, capture_output=True, text=True).stdout

        sql("CREATE DATABASE shop")
        sql("CREATE TABLE customer(id int PRIMARY KEY, name text, city text);"
            "INSERT INTO customer VALUES (1, 'Ann', 'Oslo'), (2, 'Bob', 'Rome');"
            "CREATE TABLE orders(id int PRIMARY KEY, customer_id int REFERENCES customer(id), total numeric);"
            "INSERT INTO orders VALUES (1, 1, 10.5), (2, 2, 20), (3, 1, 4.5);", db="shop")
        yield f"postgresql://kb@127.0.0.1:{port}/shop", sql
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(pgdata), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def snapshot(sql) -> str:
    return sql("SELECT string_agg(t::text, ';' ORDER BY t::text) FROM (SELECT * FROM customer) t;"
               "SELECT string_agg(t::text, ';' ORDER BY t::text) FROM (SELECT * FROM orders) t;"
               "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db="shop")


def test_select_runs_read_only(pg_url):
    url, _ = pg_url
    with Database(url, timeout=5) as db:
        res = db.run("SELECT c.name, SUM(o.total) AS spent FROM customer c JOIN orders o ON o.customer_id = c.id "
                     "GROUP BY c.name ORDER BY c.name")
    assert res.rows == [("Ann", 15.0), ("Bob", 20.0)] or [list(r) for r in res.rows] == [["Ann", 15], ["Bob", 20]]


@pytest.mark.parametrize("statement", [
    "UPDATE customer SET name = 'X'",
    "DELETE FROM orders",
    "DROP TABLE orders",
    "CREATE TABLE evil(x int)",
    "WITH gone AS (DELETE FROM orders RETURNING *) SELECT * FROM gone",
])
def test_the_engine_refuses_writes_even_without_the_guard(pg_url, statement):
    url, sql = pg_url
    before = snapshot(sql)
    with Database(url, timeout=5) as db, pytest.raises(SQLError, match="read-only"):
        db.run(statement)
    assert snapshot(sql) == before


def test_statement_timeout_stops_a_runaway_query(pg_url):
    url, _ = pg_url
    with Database(url, timeout=1) as db, pytest.raises(SQLError, match="longer than"):
        db.run("SELECT pg_sleep(5)")


def test_guard_checks_against_the_introspected_postgres_schema(pg_url):
    from localkb.sql.guard import check_sql
    from localkb.sql.schema import introspect

    url, _ = pg_url
    with Database(url) as db:
        schema = introspect(db)
        bad = check_sql("SELECT nmae FROM customer; DROP TABLE orders", schema, dialect=db.dialect)
        unknown = check_sql("SELECT nmae FROM customer", schema, dialect=db.dialect)
        ok = check_sql("SELECT name FROM customer WHERE city = 'Oslo'", schema, dialect=db.dialect)
    assert {t.name for t in schema.tables} >= {"customer", "orders"}
    assert not bad.allowed and {v.rule for v in bad.violations} >= {"single_statement", "select_only"}
    assert not unknown.allowed and "name" in " ".join(v.message for v in unknown.violations)
    assert ok.allowed and "LIMIT" in (ok.sql or "")


def test_percent_signs_are_sql_not_placeholders(pg_url):
    url, _ = pg_url
    with Database(url, timeout=5) as db:
        assert db.run("SELECT name FROM customer WHERE name LIKE 'A%' ORDER BY name").rows == [("Ann",)]
        assert db.run("SELECT 7 % 4 AS r").rows == [(3,)]
