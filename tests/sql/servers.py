"""Private database servers for the SQL tests: PostgreSQL and MariaDB on 127.0.0.1, in temp folders.

Each starter yields a :class:`Server` and stops it afterwards; it skips when the Debian package is
missing (`make test` installs ``postgresql`` and ``mariadb-server`` when run as root). Data folders are
made with :func:`tempfile.mkdtemp`, not under pytest's tmp folder: that one is private to root, and the
servers run as their own users.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..procs import free_port, stop_process

SHOP = [
    "CREATE TABLE customer(id int PRIMARY KEY, name text, city text)",
    "INSERT INTO customer VALUES (1, 'Ann', 'Oslo'), (2, 'Bob', 'Rome')",
    "CREATE TABLE orders(id int PRIMARY KEY, customer_id int REFERENCES customer(id), total decimal(10, 2))",
    "INSERT INTO orders VALUES (1, 1, 10.5), (2, 2, 20), (3, 1, 4.5)",
]
#: refused by the read-only transaction on every server
WRITES = [
    "UPDATE customer SET name = 'X'",
    "DELETE FROM orders",
    "INSERT INTO orders VALUES (9, 1, 1)",
    "DROP TABLE orders",
    "CREATE TABLE evil(x int)",
]


@dataclass
class Server:
    name: str
    url: str
    #: run SQL as the server's superuser (not through localkb), return the text output
    sql: Callable[[str], str]
    #: every row of the shop tables plus the catalogue: equal before and after means nothing changed
    snapshot_sql: str
    sleep_sql: str
    read_only_message: str
    more_writes: list[str] = field(default_factory=list)

    def snapshot(self) -> str:
        return self.sql(self.snapshot_sql)


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@contextmanager
def postgres() -> Iterator[Server]:
    initdb, pg_ctl, psql = _pg_bin("initdb"), _pg_bin("pg_ctl"), shutil.which("psql")
    if not (initdb and pg_ctl and psql):
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    data = Path(tempfile.mkdtemp(prefix="localkb-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the package's postgres user
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(data, "postgres")
    pgdata, port = data / "data", free_port()
    subprocess.run([*as_user, initdb, "-D", str(pgdata), "-U", "kb", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {data}"
    subprocess.run([*as_user, pg_ctl, "-D", str(pgdata), "-o", opts, "-w", "-l", str(data / "log"), "start"],
                   check=True, capture_output=True)

    def sql(statement: str, db: str = "shop") -> str:
        return subprocess.run([psql, "-h", "127.0.0.1", "-p", str(port), "-U", "kb", "-d", db, "-At", "-c",
                               statement], check=True, capture_output=True, text=True).stdout

    try:
        sql("CREATE DATABASE shop", db="postgres")
        sql(";".join(SHOP))
        yield Server(
            "postgresql", f"postgresql://kb@127.0.0.1:{port}/shop", sql,
            snapshot_sql="SELECT string_agg(t::text, ';' ORDER BY t::text) FROM (SELECT * FROM customer) t;"
                         "SELECT string_agg(t::text, ';' ORDER BY t::text) FROM (SELECT * FROM orders) t;"
                         "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            sleep_sql="SELECT pg_sleep(5)",
            read_only_message="read-only",
            more_writes=["WITH gone AS (DELETE FROM orders RETURNING *) SELECT * FROM gone"],
        )
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(pgdata), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


MARIADBD = "/usr/sbin/mariadbd"


@contextmanager
def mariadb() -> Iterator[Server]:
    """Connected as a user with ALL privileges on the database, so that it is the engine's read-only
    transaction, not missing grants, that refuses writes."""
    install, client = shutil.which("mariadb-install-db"), shutil.which("mariadb")
    if not (install and client and os.path.exists(MARIADBD)):
        pytest.skip("MariaDB server not installed (apt-get install mariadb-server)")
    pytest.importorskip("pymysql")
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

    def sql(statement: str, db: str = "shop") -> str:
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
            "GRANT ALL ON shop.* TO 'kb'@'127.0.0.1'", db="")
        sql(";".join(SHOP))
        yield Server(
            "mariadb", f"mysql+pymysql://kb:kb-pass@127.0.0.1:{port}/shop", sql,
            snapshot_sql="SELECT * FROM customer ORDER BY id; SELECT * FROM orders ORDER BY id;"
                         "SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop' ORDER BY 1;"
                         "SELECT schema_name FROM information_schema.schemata ORDER BY 1;"
                         "SELECT grantee, privilege_type FROM information_schema.schema_privileges ORDER BY 1, 2",
            sleep_sql="SELECT SLEEP(5) FROM customer",
            read_only_message="READ ONLY",
            more_writes=["TRUNCATE TABLE orders", "CREATE DATABASE evil", "GRANT ALL ON shop.* TO 'kb'@'%'"],
        )
    finally:
        stop_process(server)
        shutil.rmtree(data, ignore_errors=True)
