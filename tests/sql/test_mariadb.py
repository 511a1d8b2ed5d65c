"""MariaDB (the MySQL dialect) through the same guard and read-only executor, against a real server.

The test starts a private MariaDB server (Debian's ``mariadb-server`` package; `make test` installs it
when run as root) in a temp folder, on a free port bound to 127.0.0.1, connects as a user with ALL
privileges on the database — so it is the engine's read-only transaction, not missing grants, that
refuses writes — and stops it afterwards.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from localkb.errors import SQLError
from localkb.sql.executor import Database

from ..procs import free_port, stop_process

MARIADBD = "/usr/sbin/mariadbd"


@pytest.fixture(scope="module")
def maria_url():
    install, client = shutil.which("mariadb-install-db"), shutil.which("mariadb")
    if not (install and client and os.path.exists(MARIADBD)):
        pytest.skip("MariaDB server not installed (apt-get install mariadb-server)")
    pytest.importorskip("pymysql")
    # not under pytest's tmp folder: that is private to root, and the server runs as another user
    data = Path(tempfile.mkdtemp(prefix="localkb-maria-"))
    user = ["--user=mysql"] if os.geteuid() == 0 else []
    if user:
        shutil.chown(data, "mysql")
    sock, port = data / "sock", free_port()
    subprocess.run([install, "--no-defaults", f"--datadir={data / 'db'}", *user, "--skip-test-db",
                    "--auth-root-authentication-method=socket"], check=True, capture_output=True)
    server = subprocess.Popen([MARIADBD, "--no-defaults", f"--datadir={data / 'db'}", f"--socket={sock}",
                               f"--port={port}", "--bind-address=127.0.0.1", "--skip-name-resolve",
                               f"--pid-file={data / 'pid'}", f"--log-error={data / 'err.log'}", *user],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sql(statement: str, db: str = "") -> str:
        return subprocess.run([client, f"--socket={sock}", "-u", "root", "-N", "-B", *([db] if db else []), "-e",
                               statement], check=True, capture_output=True, text=True).stdout

    try:
        for _ in range(150):
            if sock.exists() and subprocess.run([client, f"--socket={sock}", "-u", "root", "-e", "SELECT 1"],
                                                capture_output=True).returncode == 0:
                break
            if server.poll() is not None:
                pytest.fail(f"mariadbd exited: {(data / 'err.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        sql("CREATE DATABASE shop; CREATE USER 'kb'@'127.0.0.1' IDENTIFIED BY 'kb-pass';"
            "GRANT ALL ON shop.* TO 'kb'@'127.0.0.1'")
        sql("CREATE TABLE customer(id int PRIMARY KEY, name text, city text);"
            "INSERT INTO customer VALUES (1, 'Ann', 'Oslo'), (2, 'Bob', 'Rome');"
            "CREATE TABLE orders(id int PRIMARY KEY, customer_id int, total decimal(10, 2),"
            " FOREIGN KEY (customer_id) REFERENCES customer(id));"
            "INSERT INTO orders VALUES (1, 1, 10.5), (2, 2, 20), (3, 1, 4.5);", db="shop")
        yield f"mysql+pymysql://kb:kb-pass@127.0.0.1:{port}/shop", sql
    finally:
        stop_process(server)
        shutil.rmtree(data, ignore_errors=True)


def snapshot(sql) -> str:
    return sql("SELECT * FROM customer ORDER BY id; SELECT * FROM orders ORDER BY id;"
               "SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop' ORDER BY 1;"
               "SELECT schema_name FROM information_schema.schemata ORDER BY 1;"
               "SELECT grantee, privilege_type FROM information_schema.schema_privileges ORDER BY 1, 2", db="shop")


def test_select_runs_read_only(maria_url):
    url, _ = maria_url
    with Database(url, timeout=5) as db:
        assert db.dialect == "mysql"
        res = db.run("SELECT c.name, SUM(o.total) AS spent FROM customer c JOIN orders o ON o.customer_id = c.id "
                     "GROUP BY c.name ORDER BY c.name")
        assert [(n, float(v)) for n, v in res.rows] == [("Ann", 15.0), ("Bob", 20.0)]
        assert res.columns == ["name", "spent"]
        # % is SQL here, not a driver placeholder
        assert db.run("SELECT name FROM customer WHERE name LIKE 'A%'").rows == [("Ann",)]
        assert db.run("WITH t AS (SELECT 7 % 4 AS r) SELECT r FROM t").rows == [(3,)]


@pytest.mark.parametrize("statement", [
    "UPDATE customer SET name = 'X'",
    "DELETE FROM orders",
    "INSERT INTO orders VALUES (9, 1, 1)",
    "DROP TABLE orders",
    "TRUNCATE TABLE orders",
    "CREATE TABLE evil(x int)",
    "CREATE DATABASE evil",
    "GRANT ALL ON shop.* TO 'kb'@'%'",
])
def test_the_engine_refuses_writes_even_without_the_guard(maria_url, statement):
    url, sql = maria_url
    before = snapshot(sql)
    with Database(url, timeout=5) as db, pytest.raises(SQLError, match="READ ONLY"):
        db.run(statement)
    assert snapshot(sql) == before


def test_plain_mysql_and_mariadb_urls_use_the_installed_driver(maria_url):
    url, _ = maria_url
    for scheme in ("mysql", "mariadb"):
        with Database(url.replace("mysql+pymysql", scheme), timeout=5) as db:
            assert db.run("SELECT COUNT(*) FROM customer").rows == [(2,)]


def test_writing_a_file_is_refused(maria_url):
    url, sql = maria_url
    target = Path(tempfile.gettempdir()) / f"localkb-outfile-{os.getpid()}.csv"
    with Database(url, timeout=5) as db, pytest.raises(SQLError, match="refused"):
        db.run(f"SELECT * FROM customer INTO OUTFILE '{target}'")
    assert not target.exists()


def test_statement_timeout_stops_a_runaway_query(maria_url):
    url, _ = maria_url
    started = time.monotonic()
    with Database(url, timeout=1) as db, pytest.raises(SQLError, match="longer than") as err:
        db.run("SELECT SLEEP(5) FROM customer")
    assert err.value.data.get("timeout") is True and time.monotonic() - started < 4.5


def test_guard_checks_against_the_introspected_mariadb_schema(maria_url):
    from localkb.sql.guard import check_sql
    from localkb.sql.schema import introspect

    url, _ = maria_url
    with Database(url) as db:
        schema = introspect(db)
        bad = check_sql("SELECT nmae FROM customer; DROP TABLE orders", schema, dialect=db.dialect)
        ok = check_sql("SELECT name FROM customer WHERE city = 'Oslo'", schema, dialect=db.dialect)
        assert ok.allowed and "LIMIT" in (ok.sql or "")
        assert db.run(ok.sql).rows == [("Ann",)]
    assert {t.name for t in schema.tables} >= {"customer", "orders"}
    assert not bad.allowed and {v.rule for v in bad.violations} >= {"single_statement", "select_only"}
    assert "name" in " ".join(v.message for v in bad.violations)
