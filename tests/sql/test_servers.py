"""The read-only executor and the guard against real database servers on 127.0.0.1 (``servers.py``):
the same contract for PostgreSQL and MariaDB, then what is particular to each."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from localkb.errors import SQLError
from localkb.sql.executor import SQLDatabase

from . import servers


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def server(request):
    start = servers.postgres if request.param == "postgresql" else servers.mariadb
    with start() as srv:
        yield srv


def test_select_runs_read_only(server):
    with SQLDatabase(server.url, timeout=5) as db:
        res = db.run("SELECT c.name, SUM(o.total) AS spent FROM customer c JOIN orders o ON o.customer_id = c.id "
                     "GROUP BY c.name ORDER BY c.name")
        assert [(n, float(v)) for n, v in res.rows] == [("Ann", 15.0), ("Bob", 20.0)]
        assert res.columns == ["name", "spent"]


def test_percent_signs_are_sql_not_placeholders(server):
    with SQLDatabase(server.url, timeout=5) as db:
        assert db.run("SELECT name FROM customer WHERE name LIKE 'A%' ORDER BY name").rows == [("Ann",)]
        assert db.run("WITH t AS (SELECT 7 % 4 AS r) SELECT r FROM t").rows == [(3,)]


def test_the_engine_refuses_writes_even_without_the_guard(server):
    before = server.snapshot()
    with SQLDatabase(server.url, timeout=5) as db:
        for statement in servers.WRITES + server.more_writes:
            with pytest.raises(SQLError, match=server.read_only_message):
                db.run(statement)
            assert server.snapshot() == before, statement


def test_statement_timeout_stops_a_runaway_query(server):
    started = time.monotonic()
    with SQLDatabase(server.url, timeout=1) as db, pytest.raises(SQLError, match="longer than") as err:
        db.run(server.sleep_sql)
    assert err.value.data.get("timeout") is True and time.monotonic() - started < 4.5


def test_guard_checks_against_the_introspected_schema(server):
    from localkb.sql.guard import check_sql
    from localkb.sql.schema import introspect

    with SQLDatabase(server.url) as db:
        schema = introspect(db)
        bad = check_sql("SELECT nmae FROM customer; DROP TABLE orders", schema, dialect=db.dialect)
        ok = check_sql("SELECT name FROM customer WHERE city = 'Oslo'", schema, dialect=db.dialect)
        assert ok.allowed and "LIMIT" in (ok.sql or "")
        assert db.run(ok.sql).rows == [("Ann",)]
    assert {t.name for t in schema.tables} >= {"customer", "orders"}
    assert not bad.allowed and {v.rule for v in bad.violations} >= {"single_statement", "select_only"}
    assert "name" in " ".join(v.message for v in bad.violations)  # the near match of "nmae"


@pytest.mark.parametrize("server", ["mariadb"], indirect=True)
def test_mysql_family_urls_use_the_installed_driver(server):
    for scheme in ("mysql", "mariadb"):
        with SQLDatabase(server.url.replace("mysql+pymysql", scheme), timeout=5) as db:
            assert db.dialect == "mysql"
            assert db.run("SELECT COUNT(*) FROM customer").rows == [(2,)]


@pytest.mark.parametrize("server", ["mariadb"], indirect=True)
def test_writing_a_file_is_refused(server):  # SELECT … INTO OUTFILE is MySQL-family syntax
    target = Path(tempfile.gettempdir()) / f"localkb-outfile-{os.getpid()}.csv"
    with SQLDatabase(server.url, timeout=5) as db, pytest.raises(SQLError, match="refused"):
        db.run(f"SELECT * FROM customer INTO OUTFILE '{target}'")
    assert not target.exists()


@pytest.mark.parametrize("stacked", ["COMMIT; DELETE FROM orders", "ROLLBACK; DROP TABLE orders",
                                     "SELECT 1; DELETE FROM orders",
                                     "COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DELETE FROM orders"])
def test_one_statement_per_execute_even_without_the_guard(server, stacked):
    """Straight to the executor, as if the guard had been bypassed: a stacked statement never runs, and the
    session stays read-only for the next statement on the same pooled connection."""
    before = server.snapshot()
    with SQLDatabase(server.url, timeout=5) as db:
        with pytest.raises(SQLError):
            db.run(stacked)
        for statement in ("COMMIT", "DELETE FROM orders"):  # one at a time: COMMIT cannot open a way out
            try:
                db.run(statement)
            except SQLError:
                pass
        assert server.snapshot() == before
        flag = ("SHOW default_transaction_read_only" if server.name == "postgresql"
                else "SELECT @@SESSION.tx_read_only")
        assert str(db.run(flag).rows[0][0]).lower() in ("on", "1")


def test_many_wide_rows_are_stopped_by_the_result_budget(server):
    from localkb.sql import bounds

    wide = ("SELECT repeat('x', 1000000) AS w FROM generate_series(1, 200)" if server.name == "postgresql"
            else "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
                 "SELECT repeat('x', 1000000) AS w FROM n")
    with SQLDatabase(server.url, timeout=10) as db, pytest.raises(SQLError, match="larger than") as err:
        db.run(wide, max_rows=1000)
    assert err.value.data.get("too_large") is True and bounds.MAX_RESULT_BYTES < 200_000_000
