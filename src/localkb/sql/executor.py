"""Read-only execution: the second wall behind the guard.

The database engine itself refuses writes, whatever SQL reaches it:

* SQLite is opened through a ``file:...?mode=ro`` URI (the file cannot be created or written) and
  ``PRAGMA query_only=ON``; ATTACH is disabled (``SQLITE_LIMIT_ATTACHED`` = 0, since ATTACH works
  and creates files even on a read-only connection), and an authorizer lets statements do nothing
  but SELECT, read user tables and call harmless functions. A progress handler interrupts statements
  that run past the timeout.
* PostgreSQL sessions are read-only (``SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY``, so a
  ``COMMIT`` cannot leave it), every statement runs in a ``READ ONLY`` transaction with
  ``SET LOCAL statement_timeout``, rolled back afterwards, and is sent through the extended protocol
  (psycopg's ``stream``): one statement per execute — ``COMMIT; DELETE …`` is refused by the server —
  with rows fetched one at a time. MySQL/MariaDB sessions are ``SET SESSION TRANSACTION READ ONLY`` with
  ``max_execution_time`` (MySQL) / ``max_statement_time`` (MariaDB); the driver sends one statement
  (no multi-statement flag) and rows are streamed.
* Every engine: values, memory and result size are bounded (``bounds.py``).

Other engines are refused: localkb cannot promise they are read-only.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

from ..errors import MissingDependency, SQLError
from .bounds import (
    MAX_RESULT_BYTES,
    MAX_VALUE_BYTES,
    PRINTF_REFUSED,
    MemoryCeiling,
    bound_sqlite,
    fetch_bounded,
)
from .functions import DANGEROUS_FUNCTIONS

#: MariaDB "max_statement_time exceeded", MySQL "maximum statement execution time exceeded"
MYSQL_TIMEOUT_ERRORS = frozenset({1969, 3024})
#: SQLAlchemy backend name → sqlglot dialect name
DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db3")


@dataclass(frozen=True)
class QueryResult:
    """Rows of one statement; ``truncated`` when the row cap cut the result short."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    elapsed_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": [list(r) for r in self.rows], "truncated": self.truncated,
                "elapsed_ms": round(self.elapsed_ms, 1)}


def normalise_url(url: str) -> str:
    """A bare path to an existing-looking SQLite file becomes ``sqlite:///abs/path``."""
    text = (url or "").strip()
    if not text:
        raise SQLError("No database given: pass --db URL (e.g. sqlite:///music.db or postgresql://host/db).")
    if "://" not in text and (text.endswith(SQLITE_SUFFIXES) or Path(text).is_file()):
        return "sqlite:///" + str(Path(text).expanduser().resolve())
    return text


class SQLDatabase:
    """One database opened for reading only.

    Args:
        url: a SQLAlchemy URL or a path to a SQLite file.
        timeout: seconds a statement may run before it is interrupted.
        max_rows: most rows fetched from one statement.

    Raises:
        SQLError: unparsable URL, missing SQLite file, unreachable server, unsupported engine.
        MissingDependency: the engine's driver (e.g. psycopg) is not installed.
    """

    def __init__(self, url: str, *, timeout: float = 10.0, max_rows: int = 1000) -> None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        self.url = normalise_url(url)
        try:
            self._sa_url = make_url(self.url)
        except ArgumentError as exc:
            raise SQLError(f"Cannot parse the database URL '{url}': use a SQLAlchemy URL such as "
                           "sqlite:///path/to/file.db or postgresql://user@host/dbname.") from exc
        self.display_url = self._sa_url.render_as_string(hide_password=True)
        backend = self._sa_url.get_backend_name()
        if backend not in DIALECTS:
            from ..suggest import did_you_mean

            hint = did_you_mean(backend, DIALECTS, cutoff=0.5)
            raise SQLError(f"Unsupported database '{backend}' in {self.display_url}.{hint} localkb runs SQL "
                           "only where the engine itself enforces read-only: sqlite, postgresql, mysql, mariadb.")
        self.backend = backend
        self.dialect = DIALECTS[backend]
        self.timeout = float(timeout)
        self.max_rows = int(max_rows)
        self._deadline = 0.0
        self._ceiling = MemoryCeiling()
        self._stopped_for = ""
        self._sqlite: sqlite3.Connection | None = None
        self.engine = self._sqlite_engine() if backend == "sqlite" else self._server_engine()

    # -- opening -------------------------------------------------------------------------------
    def _sqlite_path(self) -> Path:
        db = self._sa_url.database
        if not db or db == ":memory:":
            raise SQLError("An in-memory SQLite database is empty: point --db at a SQLite file.")
        path = Path(db).expanduser()
        if not path.is_file():
            raise SQLError(f"No SQLite database at {path} (localkb never creates one).")
        return path.resolve()

    def _connect_sqlite(self) -> sqlite3.Connection:
        uri = "file:" + quote(str(self.path)) + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise SQLError(f"Cannot open {self.path} as a SQLite database: {exc}") from exc
        bound_sqlite(conn)  # no ATTACH (it creates files even on mode=ro), bounded values, temp in memory
        conn.set_progress_handler(self._interrupt, 1000)
        return conn

    def _connect_sqlite_for_queries(self) -> sqlite3.Connection:
        conn = self._connect_sqlite()
        # an authorizer is the engine's own allow-list: reading tables and calling safe functions only
        conn.set_authorizer(_sqlite_authorizer)
        return conn

    def _interrupt(self) -> int:
        if not self._deadline:
            return 0
        if time.monotonic() > self._deadline:
            self._stopped_for = "time"
            return 1
        if self._ceiling.exceeded():
            self._stopped_for = "memory"
            return 1
        return 0

    def _sqlite_engine(self) -> Any:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import StaticPool

        self.path = self._sqlite_path()
        self._sqlite = self._connect_sqlite_for_queries()
        # introspection goes through SQLAlchemy but on a second read-only connection
        return create_engine("sqlite://", creator=self._connect_sqlite, poolclass=StaticPool)

    def _server_engine(self) -> Any:
        from sqlalchemy import create_engine
        from sqlalchemy.exc import NoSuchModuleError, SQLAlchemyError

        self.path = None  # type: ignore[assignment]
        if self.backend == "postgresql":  # psycopg 3 (what localkb[sql] installs): one statement per execute
            if not _importable("psycopg"):
                raise MissingDependency("PostgreSQL needs psycopg 3: pip install 'psycopg[binary]'")
            self._sa_url = self._sa_url.set(drivername="postgresql+psycopg")
        if self._sa_url.drivername in ("mysql", "mariadb") and not _importable("MySQLdb") and _importable("pymysql"):
            self._sa_url = self._sa_url.set(drivername=f"{self._sa_url.drivername}+pymysql")  # as is pymysql
        connect_args: dict[str, Any] = {}
        if self.backend == "postgresql" or self.backend in ("mysql", "mariadb"):
            connect_args["connect_timeout"] = max(1, int(self.timeout))
        try:
            engine = create_engine(self._sa_url, connect_args=connect_args, pool_pre_ping=True)
        except NoSuchModuleError as exc:
            raise SQLError(f"Unknown database driver in {self.display_url}: {exc}") from exc
        except ImportError as exc:
            raise MissingDependency(f"The driver for {self.backend} is not installed ({exc.name}): "
                                    f"pip install {'psycopg[binary]' if self.backend == 'postgresql' else 'pymysql'}"
                                    ) from exc
        from sqlalchemy import event

        event.listen(engine, "connect", _read_only_session(self.backend))
        try:
            with engine.connect():
                pass
        except SQLAlchemyError as exc:
            raise SQLError(f"Cannot connect to {self.display_url}: {_first_line(exc)}") from exc
        return engine

    # -- running -------------------------------------------------------------------------------
    def run(self, sql: str, *, max_rows: int | None = None, timeout: float | None = None) -> QueryResult:
        """Run one statement read-only and fetch at most ``max_rows`` rows.

        Raises:
            SQLError: the engine refused the statement, it failed, or it ran past the timeout.
        """
        cap = self.max_rows if max_rows is None else max_rows
        limit = self.timeout if timeout is None else timeout
        start = time.monotonic()
        if self._sqlite is not None:
            columns, rows = self._run_sqlite(sql, cap, limit)
        else:
            columns, rows = self._run_server(sql, cap, limit)
        truncated = len(rows) > cap
        return QueryResult(columns, rows[:cap], truncated, (time.monotonic() - start) * 1000)

    def _run_sqlite(self, sql: str, cap: int, limit: float) -> tuple[list[str], list[tuple[Any, ...]]]:
        assert self._sqlite is not None
        self._stopped_for = ""
        self._ceiling.start()
        self._deadline = time.monotonic() + limit
        try:
            cur = self._sqlite.execute(sql)
            try:
                rows = fetch_bounded(iter(lambda: cur.fetchmany(1), []), cap)  # counted row by row
                columns = [d[0] for d in cur.description or ()]
            finally:
                cur.close()
        except sqlite3.OperationalError as exc:
            if "user-defined function raised exception" in str(exc):  # BoundedPrintf
                raise SQLError(f"The database refused the query: {PRINTF_REFUSED} "
                               f"({MAX_VALUE_BYTES / 1e6:g} MB).", too_large=True) from exc
            if "interrupted" in str(exc) and self._stopped_for == "memory":
                raise SQLError(f"The query needed more than {self._ceiling.limit / 1e6:g} MB of memory and was "
                               "stopped.", too_large=True) from exc
            if "interrupted" in str(exc):
                raise SQLError(f"The query ran longer than {limit:g} s and was stopped.", timeout=True) from exc
            raise SQLError(f"The database refused the query: {exc}") from exc
        except (sqlite3.DatabaseError, sqlite3.Warning, ValueError) as exc:
            hint = (f" (values are limited to {MAX_VALUE_BYTES / 1e6:g} MB)" if "too big" in str(exc) else "")
            raise SQLError(f"The database refused the query: {exc}{hint}", too_large=bool(hint)) from exc
        finally:
            self._deadline = 0.0
            if self._sqlite.in_transaction:
                self._sqlite.rollback()
        return columns, [tuple(r) for r in rows]

    def _run_server(self, sql: str, cap: int, limit: float) -> tuple[list[str], list[tuple[Any, ...]]]:
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        ms = max(1, int(limit * 1000))
        try:
            with self.engine.connect() as conn:
                try:
                    if self.backend == "postgresql":
                        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
                        columns, rows = _stream_postgres(conn, sql, cap)
                    else:
                        conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
                        if getattr(self.engine.dialect, "is_mariadb", False):  # seconds, every statement
                            conn.exec_driver_sql(f"SET SESSION max_statement_time = {ms / 1000:.3f}")
                        else:  # MySQL: milliseconds, SELECT only (the only kind the guard lets through)
                            conn.exec_driver_sql(f"SET SESSION max_execution_time = {ms}")
                        # no parameters: the driver must not read the % of LIKE 'A%' as a placeholder
                        result = conn.exec_driver_sql(sql, execution_options={"no_parameters": True,
                                                                              "stream_results": True})
                        columns = list(result.keys()) if result.returns_rows else []
                        rows = (fetch_bounded(iter(lambda: result.fetchmany(1), []), cap)
                                if result.returns_rows else [])
                        result.close()
                finally:
                    conn.rollback()
        except DBAPIError as exc:
            text = _first_line(exc)
            errno = (getattr(exc.orig, "args", None) or (None,))[0]
            if "statement timeout" in text or errno in MYSQL_TIMEOUT_ERRORS:
                raise SQLError(f"The query ran longer than {limit:g} s and was stopped.", timeout=True) from exc
            raise SQLError(f"The database refused the query: {text}") from exc
        except SQLAlchemyError as exc:
            raise SQLError(f"The database refused the query: {_first_line(exc)}") from exc
        return columns, rows

    def sample_values(self, table: str, column: str, n: int) -> list[Any]:
        """A few distinct non-null values of one column (for the prompt)."""
        q = self.engine.dialect.identifier_preparer.quote
        sql = (f"SELECT DISTINCT {q(column)} FROM {q(table)} WHERE {q(column)} IS NOT NULL "
               f"LIMIT {int(n)}")
        return [r[0] for r in self.run(sql, max_rows=n, timeout=min(self.timeout, 5.0)).rows]

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SQLITE_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                   getattr(sqlite3, "SQLITE_RECURSIVE", 33)}


def _sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None,
                       source: str | None) -> int:
    """Deny every action but SELECT, reading a user table and calling a harmless function."""
    if action not in _SQLITE_ALLOWED:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_READ and (arg1 or "").lower().startswith("sqlite_"):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DANGEROUS_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _read_only_session(backend: str) -> Any:
    """A connect hook making each new server session read-only for every transaction it will ever run."""
    statement = ("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY" if backend == "postgresql"
                 else "SET SESSION TRANSACTION READ ONLY")

    def hook(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()
        dbapi_connection.commit()

    return hook


def _stream_postgres(conn: Any, sql: str, cap: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``sql`` with psycopg's ``stream``: the extended protocol (one statement, no ``COMMIT; …``),
    rows arriving one at a time, so neither many rows nor a wide one fills memory before it is counted."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    raw = conn.connection.driver_connection
    cursor = raw.cursor()
    columns: list[str] = []

    def rows_of(stream: Any) -> Any:
        for row in stream:
            if not columns and cursor.description:
                columns.extend(d.name for d in cursor.description)
            yield [row]

    stream = cursor.stream(sql)
    try:
        rows = fetch_bounded(rows_of(stream), cap, MAX_RESULT_BYTES)
    except psycopg.Error as exc:
        raise DBAPIError(sql, None, exc) from exc
    finally:
        stream.close()  # psycopg cancels what is left of the statement
        cursor.close()
    if not columns and cursor.description:
        columns = [d.name for d in cursor.description]
    return columns, rows


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
