"""Verified question → SQL pairs, per database, retrieved by embedding similarity as few-shot examples.

Stored in one SQLite file in localkb's user data dir (``sql-examples.sqlite``), keyed by the database
URL (password hidden). Each example keeps its question's embedding and the embedder id; examples
embedded by another model are re-embedded on read.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import user_data_dir
from ..errors import LocalKBError, SQLError

if TYPE_CHECKING:
    from ..settings import Settings

#: numbered, append-only migrations; ``PRAGMA user_version`` records how many ran
MIGRATIONS = (
    """CREATE TABLE examples (
         id INTEGER PRIMARY KEY,
         db TEXT NOT NULL,
         question TEXT NOT NULL,
         sql TEXT NOT NULL,
         embedder TEXT,
         embedding BLOB,
         created TEXT NOT NULL,
         UNIQUE (db, question)
       )""",
    "CREATE INDEX examples_db ON examples(db)",
)


@dataclass(frozen=True)
class Example:
    question: str
    sql: str
    score: float = 0.0


def default_examples_path(settings: Settings | None = None) -> Path:
    from ..settings import current

    settings = current(settings)
    return Path(settings.sql_examples or user_data_dir(settings) / "sql-examples.sqlite").expanduser()


class ExampleStore:
    """Examples for every database, in one SQLite file.

    Args:
        path: the store file (created on first write); default :func:`default_examples_path`.
        embedder: anything with ``embed(list[str]) -> (n, d)`` normalised vectors and an ``id``;
            loaded lazily (the packaged MiniLM) when first needed. ``False`` disables embeddings
            (retrieval falls back to word overlap).
    """

    def __init__(self, path: str | Path | None = None, *, embedder: Any = None,
                 settings: Settings | None = None) -> None:
        self.path = Path(path) if path is not None else default_examples_path(settings)
        self._embedder = embedder
        self._conn: sqlite3.Connection | None = None

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            self._embedder = load_default_embedder()
        return self._embedder or None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path)
                done = conn.execute("PRAGMA user_version").fetchone()[0]
                for i, step in enumerate(MIGRATIONS[done:], start=done + 1):
                    conn.execute(step)
                    conn.execute(f"PRAGMA user_version = {i}")
                conn.commit()
            except (OSError, sqlite3.DatabaseError) as exc:
                raise SQLError(f"Cannot open the SQL examples store {self.path}: {exc}") from exc
            self._conn = conn
        return self._conn

    def _embed(self, texts: list[str]) -> tuple[str | None, np.ndarray | None]:
        emb = self.embedder
        if not emb:
            return None, None
        from ..embedders.base import embed_queries

        # questions against questions, both embedded as queries (e5: 'query: …'); the stored id says so, so
        # rows embedded before as passages are re-embedded on read
        vecs = np.asarray(embed_queries(emb, texts), dtype=np.float32)
        model = str(getattr(emb, "id", type(emb).__name__))
        return (f"{model}#query" if callable(getattr(emb, "embed_queries", None)) else model), vecs

    def add(self, db: str, question: str, sql: str) -> None:
        """Store (or replace) one verified pair for database ``db``."""
        question, sql = question.strip(), sql.strip()
        if not question or not sql:
            raise SQLError("An example needs a non-empty question and SQL.")
        model, vecs = self._embed([question])
        blob = vecs[0].tobytes() if vecs is not None else None
        conn = self._db()
        conn.execute("INSERT OR REPLACE INTO examples (db, question, sql, embedder, embedding, created) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     (db, question, sql, model, blob, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
        conn.commit()

    def all(self, db: str) -> list[Example]:
        rows = self._db().execute("SELECT question, sql FROM examples WHERE db = ? ORDER BY id", (db,))
        return [Example(q, s) for q, s in rows]

    def similar(self, db: str, question: str, k: int = 3) -> list[Example]:
        """The ``k`` stored examples whose questions are most similar to ``question``."""
        if k <= 0 or not self.path.exists():
            return []
        rows = self._db().execute("SELECT id, question, sql, embedder, embedding FROM examples WHERE db = ?",
                                  (db,)).fetchall()
        if not rows:
            return []
        model, qvec = self._embed([question])
        if qvec is None:
            return _by_overlap(question, [(r[1], r[2]) for r in rows], k)
        vecs = []
        stale = [r for r in rows if r[3] != model or r[4] is None]
        fresh: dict[int, np.ndarray] = {}
        if stale:
            _, svecs = self._embed([r[1] for r in stale])
            assert svecs is not None
            for r, v in zip(stale, svecs):
                fresh[r[0]] = v
        for r in rows:
            vecs.append(fresh[r[0]] if r[0] in fresh else np.frombuffer(r[4], dtype=np.float32))
        scores = np.stack(vecs) @ qvec[0]
        order = np.argsort(-scores)[:k]
        return [Example(rows[i][1], rows[i][2], float(scores[i])) for i in order]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _by_overlap(question: str, pairs: list[tuple[str, str]], k: int) -> list[Example]:
    words = set(question.lower().split())
    scored = [(len(words & set(q.lower().split())) / (len(words) or 1), q, s) for q, s in pairs]
    scored.sort(key=lambda t: -t[0])
    return [Example(q, s, score) for score, q, s in scored[:k]]


@dataclass(frozen=True)
class StoredExample:
    """What :func:`add_example` stored: the pair, the database it belongs to and how many it now has."""

    db: str
    question: str
    sql: str
    examples: int

    def to_dict(self) -> dict[str, Any]:
        return {"stored": True, "db": self.db, "question": self.question, "sql": self.sql,
                "examples": self.examples}


def add_example(db_url: str, question: str, sql: str, *, audit: Any = None,
                store: ExampleStore | None = None, settings: Settings | None = None) -> StoredExample:
    """Verify a question → SQL pair on the database and store it as a few-shot example.

    The SQL must pass the guard (logged to the audit log, ``source="add-example"``) and run read-only
    on the database before it is stored.

    Args:
        db_url: the database (SQLAlchemy URL or SQLite file).
        audit: an ``AuditLog`` or a log path (default: the user audit log).
        store: where to keep it (default: the user examples store).
        settings: the caller's resolved settings (the default audit log and store they name).

    Raises:
        SQLRejected: the guard refused the SQL. SQLError: the database is unreachable, the SQL fails
            on it, or the question or SQL is empty.
    """
    from ..errors import SQLRejected
    from .audit import AuditLog
    from .executor import SQLDatabase
    from .guard import Guard
    from .schema import introspect

    if not question.strip() or not sql.strip():
        raise SQLError("An example needs a non-empty question and SQL.")
    log = audit if isinstance(audit, AuditLog) else AuditLog(audit, settings)
    with SQLDatabase(db_url) as db:
        verdict = Guard(introspect(db, samples=0), max_rows=5).check(sql)
        log.record(db=db.display_url, sql=sql, question=question, allowed=verdict.allowed,
                   violations=[v.to_dict() for v in verdict.violations], executed_sql=verdict.sql,
                   source="add-example")
        if not verdict.allowed or verdict.sql is None:
            raise SQLRejected("Example not stored: " + "; ".join(v.message for v in verdict.violations),
                              violations=[v.to_dict() for v in verdict.violations])
        db.run(verdict.sql, max_rows=5)
        target = store if store is not None else ExampleStore(settings=settings)
        try:
            target.add(db.display_url, question, sql)
            count = len(target.all(db.display_url))
        finally:
            if store is None:
                target.close()
        return StoredExample(db.display_url, question.strip(), sql.strip(), count)


def load_default_embedder() -> Any:
    """The default embedder (packaged MiniLM), or ``False`` when it cannot be loaded here."""
    try:
        from ..embedders import load_embedder

        return load_embedder(None)
    except (ImportError, LocalKBError):
        return False
