"""``localkb migrate``: rebuild a KB's vectors in another store, into a new KB folder.

The source KB is only read: ``chunks.sqlite`` through a read-only SQLite connection, its vector store
through ``get_vectors`` (no model needed); chunks whose vector cannot be read from the store are embedded
again from ``chunks.embed_text`` with the KB's own model. The original files are never read again.

The new folder gets a copy of ``chunks.sqlite`` (SQLite's backup API: a consistent snapshot), of the
other derived files (the lexical index), and a manifest whose ``store`` is the new URI. The manifest is
written last, so a half-built folder is never mistaken for a KB.

Resuming: chunk ids are processed in sorted order; after every checkpoint (vectors flushed to the new
store) ``.migrate-state.json`` records the last id done. Run the same command again after an
interruption and it continues after that id (``add`` is an upsert, so redoing part of a batch is harmless).
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ConfigError, KBError, KBNotFound, StoreError
from .lock import WriteLock
from .manifest import MANIFEST, Manifest
from .registry import resolve, split_uri

if TYPE_CHECKING:
    from .settings import Settings
    from .stores.base import VectorStore

STATE = ".migrate-state.json"
#: seconds between saved checkpoints when the ``migrate_checkpoint_seconds`` setting is unset
CHECKPOINT_SECONDS = 5.0
#: never copied from the source folder (besides its vector store's own files)
_SKIP = {MANIFEST, "chunks.sqlite", "chunks.sqlite-wal", "chunks.sqlite-shm", ".lock", STATE,
         ".ingest-in-progress"}

Progress = Callable[[int, int], None]


@dataclass
class MigrateReport:
    source: str
    out: str
    store: str
    chunks: int
    copied: int  # vectors read from the source store
    reembedded: int  # vectors embedded again from chunks.embed_text
    resumed_at: int  # chunks already done by an earlier, interrupted run
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def target_uri(to: str) -> str:
    """``milvus`` → ``milvus://./kb.db``, ``chroma`` → ``chroma://index``; full URIs pass through."""
    from .stores.base import store_uri

    return store_uri(to)


def default_out(kb: Path, uri: str) -> Path:
    """``KB-<scheme>`` beside the source KB (``milvus+https`` → ``milvus``)."""
    scheme = split_uri(uri)[0].split("+")[0]
    return kb.parent / f"{kb.name}-{scheme}"


def migrate(kb: str | os.PathLike[str], to: str, *, out: str | os.PathLike[str] | None = None,
            batch_size: int = 1000, reembed: bool = False, progress: Progress | None = None,
            settings: Settings | None = None) -> MigrateReport:
    """Copy the KB at ``kb`` into a new KB at ``out`` whose vectors live in the store ``to``.

    Args:
        kb: the source KB folder (never modified; its write lock is held while reading).
        to: a store URI (``milvus://host:19530?collection=docs``, ``chroma://index``) or a bare scheme.
        out: the new KB folder; default ``<kb>-<scheme>`` beside the source.
        batch_size: chunks per read/write batch.
        reembed: embed every chunk again instead of reading vectors from the source store.
        progress: called with ``(done, total)`` after every batch.
        settings: the resolved settings (default: the environment's, ``settings.current``).

    Returns:
        What was done (:class:`MigrateReport`).

    Raises:
        KBNotFound: no KB at ``kb``. KBError: ``out`` holds something that is not this migration.
        StoreError / ConfigError: the target store cannot be opened, is not empty, or the URI is bad.
    """
    from .settings import current

    settings = current(settings)
    started = time.perf_counter()
    src = Path(kb).resolve()
    if not (src / MANIFEST).exists():
        raise KBNotFound(f"No knowledge base at {src}.")
    manifest = Manifest.load(src)
    uri = target_uri(to)
    resolve("store", split_uri(uri)[0], _stores())  # a misspelt scheme fails before anything is created
    dest = Path(out).resolve() if out else default_out(src, uri)
    if dest == src:
        raise ConfigError("The new KB folder must differ from the source KB folder.")
    batch_size = max(1, int(batch_size))
    delay = settings.migrate_batch_delay or 0.0  # tests: make a run interruptible

    lock = WriteLock(src)
    lock.acquire(timeout=settings.lock_timeout)
    try:
        state = _prepare_destination(src, dest, uri)
        resumed_at = int(state.get("done", 0))
        from .stores.base import open_store

        with _readonly(src / "chunks.sqlite") as conn:
            total = int(conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
            source_store = None if reembed else open_store(manifest.store, manifest.dim, base_dir=str(src))
            target = None
            try:
                target = open_store(uri, manifest.dim, base_dir=str(dest))
                if not state.get("started"):
                    if target.count():
                        raise StoreError(f"The target store {uri} already holds {target.count()} vectors; use "
                                         f"an empty one (for Milvus: ?collection=NEW_NAME).")
                    state["started"] = True  # from here on, vectors in the target are ours: resume over them
                    _save_state(dest, state)
            except BaseException:
                if target is not None:
                    target.close()
                if source_store is not None:
                    source_store.close()
                if not state.get("started"):
                    shutil.rmtree(dest, ignore_errors=True)  # we created it: leave nothing behind
                raise
            try:
                copied, reembedded = _copy_vectors(conn, manifest, source_store, target, dest, state,
                                                   total, batch_size, delay, progress,
                                                   CHECKPOINT_SECONDS if settings.migrate_checkpoint_seconds is None
                                                   else settings.migrate_checkpoint_seconds)
                target.flush()
                if target.count() != total:
                    raise StoreError(f"The target store holds {target.count()} vectors, expected {total}.")
            finally:
                target.close()
                if source_store is not None:
                    source_store.close()
        new = Manifest(**{**asdict(manifest), "store": uri})
        new.extra = {**manifest.extra, "migrated_from": {"path": str(src), "store": manifest.store,
                                                        "at": time.time()}}
        new.save(dest)
        (dest / STATE).unlink(missing_ok=True)
    finally:
        lock.release()
    return MigrateReport(str(src), str(dest), uri, total, copied, reembedded, resumed_at,
                         round(time.perf_counter() - started, 2))


def _stores() -> dict[str, str]:
    from .stores.base import STORES

    return STORES


class _readonly:
    """A read-only SQLite connection (``mode=ro``): the source KB cannot be written through it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _prepare_destination(src: Path, dest: Path, uri: str) -> dict[str, Any]:
    """Create ``dest`` with a snapshot of the source's SQLite and derived files, or resume into it."""
    state_file = dest / STATE
    if state_file.exists():
        state = json.loads(state_file.read_text(encoding="utf-8"))
        if state.get("source") != str(src) or state.get("store") != uri:
            raise KBError(f"{dest} holds an unfinished migration from {state.get('source')} to "
                          f"{state.get('store')}; finish it with the same --kb and --to, or delete {dest}.")
        if state.get("prepared", True):
            return state
        shutil.rmtree(dest)  # killed while copying the snapshot: it is ours, start it again
    elif dest.exists() and any(not e.name.startswith(".migrate") for e in dest.iterdir()):  # our temp state aside
        raise KBError(f"{dest} already exists and is not an unfinished migration; choose another --out.")
    dest.mkdir(parents=True, exist_ok=True)
    # the state file comes first, so a run killed while copying is recognised (and redone) next time
    _save_state(dest, {"source": str(src), "store": uri, "done": 0, "last_id": "", "prepared": False})
    with _readonly(src / "chunks.sqlite") as conn, sqlite3.connect(dest / "chunks.sqlite") as copy:
        conn.backup(copy)
    copy.close()
    source_files = _store_entry(src)
    for entry in src.iterdir():
        if entry.name in _SKIP or entry.name == source_files or entry.name.startswith(".migrate"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name)
        else:
            shutil.copy2(entry, dest / entry.name)
    state = {"source": str(src), "store": uri, "done": 0, "last_id": "", "prepared": True}
    _save_state(dest, state)
    return state


def _store_entry(src: Path) -> str | None:
    """The top-level name of the source store's files inside the KB folder (``index``, ``kb.db``)."""
    rest = split_uri(Manifest.load(src).store)[1].split("?")[0]
    path = (src / rest).resolve() if rest and not os.path.isabs(rest) else None
    if path is None or src not in path.parents:
        return None
    return path.relative_to(src).parts[0]


def _save_state(dest: Path, state: dict[str, Any]) -> None:
    from .disk import write_json

    write_json(dest / STATE, state)


def _batches(conn: sqlite3.Connection, after: str, size: int) -> Iterator[list[tuple[str, str]]]:
    last = after
    while True:
        rows = conn.execute("SELECT id, embed_text FROM chunks WHERE id > ? ORDER BY id LIMIT ?",
                            (last, size)).fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _copy_vectors(conn: sqlite3.Connection, manifest: Manifest, source: VectorStore | None, target: VectorStore,
                  dest: Path, state: dict[str, Any], total: int, batch_size: int, delay: float,
                  progress: Progress | None, every: float) -> tuple[int, int]:
    """Copy (or re-embed) the vectors batch by batch, saving the state every ``every`` seconds."""
    embedder = None
    copied = reembedded = 0
    done = int(state.get("done", 0))
    last_checkpoint = time.monotonic()
    for rows in _batches(conn, str(state.get("last_id", "")), batch_size):
        ids = [r[0] for r in rows]
        vectors = None
        if source is not None:
            try:
                vectors = source.get_vectors(ids)
            except StoreError:
                vectors = None  # some chunks have no vector in the source store: embed this batch again
        if vectors is None:
            if embedder is None:
                from .embedders import load_embedder

                spec = manifest.model_id
                embedder = load_embedder(spec.removeprefix("local/"))
                manifest.check_model(embedder.id)
            vectors = np.asarray(embedder.embed([r[1] for r in rows]), dtype=np.float32)
            reembedded += len(ids)
        else:
            copied += len(ids)
        target.add(ids, vectors)
        done += len(ids)
        if delay:
            time.sleep(delay)
        if time.monotonic() - last_checkpoint >= every or delay:
            target.flush()
            state.update(done=done, last_id=ids[-1])
            _save_state(dest, state)
            last_checkpoint = time.monotonic()
        if progress is not None:
            progress(done, total)
    return copied, reembedded
