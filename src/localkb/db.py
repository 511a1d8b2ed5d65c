"""The KB's source of truth: documents, chunks, sources and tags in one SQLite file.

Every vector and lexical index is derived from this file and can be rebuilt from it. Schema changes are
numbered, append-only migrations.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MIGRATIONS: list[str] = [
    # 1: the initial schema
    """
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,          -- absolute path: the identity of a document
        source TEXT NOT NULL,               -- the path as the user gave it (what search shows)
        root TEXT NOT NULL,                 -- the ingested folder (or file) this document came from
        content_hash TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime REAL NOT NULL,
        format TEXT NOT NULL,
        title TEXT,
        ingested_at REAL NOT NULL
    );
    CREATE INDEX documents_root ON documents(root);
    CREATE TABLE chunks (
        id TEXT PRIMARY KEY,                -- sha256 of the text that is embedded
        text TEXT NOT NULL,                 -- the chunk as shown to people
        embed_text TEXT NOT NULL,           -- what was embedded / indexed (text + enrichment)
        created_at REAL NOT NULL
    );
    CREATE TABLE doc_chunks (
        doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        chunk_id TEXT NOT NULL REFERENCES chunks(id),
        PRIMARY KEY (doc_id, position)
    );
    CREATE INDEX doc_chunks_chunk ON doc_chunks(chunk_id);
    CREATE TABLE doc_tags (
        doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (doc_id, tag)
    );
    CREATE INDEX doc_tags_tag ON doc_tags(tag);
    """,
    # 2: a write generation, bumped by every writer after its vector store is durable, so a long-running
    # process (the server) notices another process's writes before it searches or writes stale vectors
    """
    CREATE TABLE kb_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO kb_state(key, value) VALUES ('generation', 0);
    """,
    # 3: the KB as a map (issue 16): applied near-duplicate groups, cluster ids, the last cluster run
    """
    CREATE TABLE chunk_duplicates (
        chunk_id TEXT PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
        group_id INTEGER NOT NULL,
        representative TEXT NOT NULL,       -- the member kept (every member stays stored and searchable)
        score REAL NOT NULL,                -- cosine to the representative
        applied_at REAL NOT NULL
    );
    CREATE INDEX chunk_duplicates_group ON chunk_duplicates(group_id);
    CREATE TABLE chunk_clusters (
        chunk_id TEXT PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
        cluster INTEGER NOT NULL
    );
    CREATE INDEX chunk_clusters_cluster ON chunk_clusters(cluster);
    CREATE TABLE map_runs (
        name TEXT PRIMARY KEY,              -- 'cluster': k, labels, terms of the last run (JSON)
        data TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # 4: document metadata from the loaders (author, pages, a CSV column's values, a JSON key's values),
    # one row per value, for ``--where`` filters (``search.filters``); ``num`` is the value as a number
    """
    CREATE TABLE doc_meta (
        doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        num REAL,
        PRIMARY KEY (doc_id, key, value)
    );
    CREATE INDEX doc_meta_key_value ON doc_meta(key, value);
    CREATE INDEX doc_meta_key_num ON doc_meta(key, num);
    """,
    # 5: every chunk id inserted or deleted, in order, so derived indexes (search.lexical) catch up with a
    # cost proportional to the change instead of diffing every chunk id (issue 18); pruned by the writer
    """
    CREATE TABLE chunk_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL);
    CREATE TRIGGER chunk_log_insert AFTER INSERT ON chunks BEGIN INSERT INTO chunk_log(id) VALUES (new.id); END;
    CREATE TRIGGER chunk_log_delete AFTER DELETE ON chunks BEGIN INSERT INTO chunk_log(id) VALUES (old.id); END;
    CREATE TRIGGER chunk_log_update AFTER UPDATE OF id ON chunks BEGIN
        INSERT INTO chunk_log(id) VALUES (old.id); INSERT INTO chunk_log(id) VALUES (new.id); END;
    """,
    # 6: the page of its document a chunk comes from (PDF; NULL for formats without pages), for ``--where page=N``
    """
    ALTER TABLE doc_chunks ADD COLUMN page INTEGER;
    """,
]


class Database:
    """A thin, thread-safe wrapper: one connection, one lock, explicit transactions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                statement = ""
                for piece in sql.split(";"):  # whole statements only: a trigger's body holds ";" too
                    statement += piece + ";"
                    if sqlite3.complete_statement(statement):
                        if statement.strip(" \n;"):
                            self.conn.execute(statement)
                        statement = ""
                self.conn.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[object] | dict[str, object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cur = self.conn.execute(sql, params)
            cur.row_factory = sqlite3.Row
            return cur.fetchall()

    def scalar(self, sql: str, params: Sequence[object] = ()) -> Any:
        with self._lock:
            row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def generation(self) -> int:
        """How many writes have completed on this KB (any process); see migration 2."""
        return int(self.scalar("SELECT value FROM kb_state WHERE key='generation'") or 0)

    def bump_generation(self) -> int:
        """Record one more completed write; returns the new generation."""
        with self.transaction() as conn:
            conn.execute("UPDATE kb_state SET value = value + 1 WHERE key='generation'")
            return int(conn.execute("SELECT value FROM kb_state WHERE key='generation'").fetchone()[0])

    def chunk_count(self) -> int:
        return int(self.scalar("SELECT COUNT(*) FROM chunks") or 0)

    def chunk_ids(self) -> set[str]:
        return {r[0] for r in self.query("SELECT id FROM chunks")}

    def known_chunks(self) -> KnownChunks:
        """The chunk ids as a set that asks SQLite per lookup (an ingest of one file into a large KB
        then costs its own chunks, not a load of every id)."""
        return KnownChunks(self)

    def chunks_text(self, ids: Iterable[str]) -> dict[str, sqlite3.Row]:
        """``{id: row(id, text, embed_text)}`` for each id that exists."""
        return {row["id"]: row for row in self._rows_by_id("id, text, embed_text", ids)}

    def embed_texts(self, ids: Iterable[str]) -> dict[str, str]:
        """``{id: embed_text}`` (the indexed text: chunk + enrichment) for each id that exists; no chunk text
        read (the identifier rule's hot path)."""
        return {row[0]: row[1] for row in self._rows_by_id("id, embed_text", ids)}

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """The ids among ``ids`` that are chunks now."""
        return {row[0] for row in self._rows_by_id("id", ids)}

    def _rows_by_id(self, columns: str, ids: Iterable[str]) -> list[sqlite3.Row]:
        """``SELECT columns FROM chunks`` for ``ids``, one indexed query per 500 ids."""
        ids = list(ids)
        out: list[sqlite3.Row] = []
        for i in range(0, len(ids), 500):
            batch = ids[i:i + 500]
            out += self.query(f"SELECT {columns} FROM chunks WHERE id IN ({','.join('?' * len(batch))})", batch)
        return out

    def close(self) -> None:
        with self._lock:
            self.conn.close()


class KnownChunks:
    """``in`` / ``update`` / ``difference_update`` over the ``chunks`` table, answered by its primary key."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __contains__(self, chunk_id: object) -> bool:
        return self._db.scalar("SELECT 1 FROM chunks WHERE id=?", (chunk_id,)) is not None

    def update(self, ids: Iterable[str]) -> None:
        """Nothing to do: the ids were inserted into ``chunks`` (kept for the ``set`` interface)."""

    def difference_update(self, ids: Iterable[str]) -> None:
        """Nothing to do: the ids were deleted from ``chunks``."""
