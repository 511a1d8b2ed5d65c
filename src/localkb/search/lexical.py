"""The BM25 index beside the vector index (bm25s), derived from ``chunks.sqlite`` and rebuildable.

Layout of ``KB/lexical/``::

    tokens.sqlite      chunk id → its tokens (of ``embed_text``: chunk text + enrichment prefix)
    current.json       which bm25s folder is live, its chunk ids in index order, tokenizer version
    bm25-<n>/          the bm25s index (numpy arrays saved with allow_pickle=False, vocabulary as JSON)

How it stays current. bm25s indexes are static (a CSC matrix of precomputed BM25 term scores), so:

1. **At ingest** (``kb.add_listener``), the chunks that were added are tokenised into ``tokens.sqlite``
   and removed ones are deleted from it: tokenisation, the costly part (jieba for Chinese), happens
   once per chunk, incrementally.
2. **On the first search after a change**, the BM25 matrix is rebuilt from the cached tokens (no text is
   tokenised again) and saved. A change is noticed from the listener in this process, or, for a change
   made by another process, from the chunk ids in SQLite (checked only when ``chunks.sqlite`` or its WAL
   changed on disk, so an idle KB costs one ``stat`` per search).

Measured (docs/benchmarks.md, "Search latency"): rebuilding the matrix from cached tokens takes 0.7 s at
11k chunks on 2 cores, and bm25s indexes 100k chunks' tokens in 3.5 s; a lexical search is a sparse
column sum, 0.4 ms p50 at 11k chunks.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import KBError
from .tokenize import STEMMER, TOKENIZER_ID, tokenize

if TYPE_CHECKING:
    from ..parts import KBParts

EXTENSION = "lexical"
BATCH = 500


class LexicalIndex:
    """BM25 over a KB's chunks. Positions in score arrays follow :attr:`ids`."""

    def __init__(self, kb: KBParts) -> None:
        self.kb = kb
        self.folder = Path(kb.path) / "lexical"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._cache = sqlite3.connect(
            str(self.folder / "tokens.sqlite"), check_same_thread=False, isolation_level=None, timeout=30
        )
        self._cache.execute("PRAGMA journal_mode=WAL")
        self._cache.execute("CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, toks TEXT NOT NULL)")
        self._cache.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        version = self._cache.execute("SELECT value FROM meta WHERE key='tokenizer'").fetchone()
        if version is None or version[0] != TOKENIZER_ID:
            self._cache.execute("DELETE FROM tokens")
            self._cache.execute("INSERT OR REPLACE INTO meta VALUES ('tokenizer', ?)", (TOKENIZER_ID,))
        self.ids: list[str] = []
        self.pos: dict[str, int] = {}
        self._bm25: Any = None
        self._dirty = True  # until checked against SQLite once
        self._seen: tuple[object, ...] | None = None
        self.rebuilds = 0
        self._load()

    # -- maintenance ---------------------------------------------------------------------------
    def on_chunks_changed(self, added: list[str], removed: list[str]) -> None:
        """Listener: tokenise the added chunks now, forget the removed ones; rebuild lazily."""
        with self._lock:
            if removed:
                self._forget(removed)
            if added:
                self._tokenise_missing(added)
            self._dirty = True

    def _forget(self, ids: list[str]) -> None:
        for i in range(0, len(ids), BATCH):
            batch = ids[i : i + BATCH]
            self._cache.execute(f"DELETE FROM tokens WHERE id IN ({','.join('?' * len(batch))})", batch)

    def _tokenise_missing(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        have: set[str] = set()
        for i in range(0, len(ids), BATCH):
            batch = ids[i : i + BATCH]
            have.update(
                r[0]
                for r in self._cache.execute(
                    f"SELECT id FROM tokens WHERE id IN ({','.join('?' * len(batch))})", batch
                )
            )
        missing = [i for i in ids if i not in have]
        rows = self.kb.db.chunks_text(missing)
        values = [(cid, " ".join(tokenize(row["embed_text"]))) for cid, row in rows.items()]
        self._cache.execute("BEGIN")
        self._cache.executemany("INSERT OR REPLACE INTO tokens VALUES (?, ?)", values)
        self._cache.execute("COMMIT")
        return len(values)

    def _disk_state(self) -> tuple[object, ...]:
        out: list[object] = []
        for name in ("chunks.sqlite", "chunks.sqlite-wal"):
            try:
                st = os.stat(Path(self.kb.path) / name)
                out += [st.st_mtime_ns, st.st_size]
            except FileNotFoundError:
                out += [None, None]
        return tuple(out)

    def ensure_fresh(self) -> None:
        """Rebuild the BM25 matrix if SQLite's chunks differ from the indexed ones."""
        with self._lock:
            state = self._disk_state()
            if not self._dirty and state == self._seen:
                return
            ids = sorted(r[0] for r in self.kb.db.query("SELECT id FROM chunks"))
            if ids != self.ids:
                self.rebuild(ids)
            self._dirty = False
            self._seen = state

    def rebuild(self, ids: list[str] | None = None) -> None:
        """Build the BM25 matrix for ``ids`` (default: every chunk) from cached tokens and save it."""
        import bm25s

        with self._lock:
            if ids is None:
                ids = sorted(r[0] for r in self.kb.db.query("SELECT id FROM chunks"))
            self._tokenise_missing(ids)
            stale = {r[0] for r in self._cache.execute("SELECT id FROM tokens")} - set(ids)
            if stale:
                self._forget(sorted(stale))
            toks = dict(self._cache.execute("SELECT id, toks FROM tokens").fetchall())
            corpus = [toks[i].split(" ") if toks.get(i) else [] for i in ids]
            retriever = None
            if ids:
                retriever = bm25s.BM25()
                retriever.index(corpus, show_progress=False)
            self._publish(retriever, ids)
            self._bm25, self.ids = retriever, ids
            self.pos = {cid: n for n, cid in enumerate(ids)}
            self.rebuilds += 1

    def _publish(self, retriever: Any, ids: list[str]) -> None:
        name = f"bm25-{os.getpid()}-{self.rebuilds}-{len(ids)}"
        target = self.folder / name
        if target.exists():
            shutil.rmtree(target)
        if retriever is not None:
            retriever.save(str(target))
        tmp = self.folder / f"current.json.{os.getpid()}.tmp"
        tmp.write_text(
            json.dumps({"tokenizer": TOKENIZER_ID, "stemmer": STEMMER, "folder": name if retriever else None,
                        "ids": ids}),
            encoding="utf-8",
        )
        os.replace(tmp, self.folder / "current.json")
        for old in self.folder.glob("bm25-*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)

    def _load(self) -> None:
        current = self.folder / "current.json"
        if not current.is_file():
            return
        try:
            data = json.loads(current.read_text(encoding="utf-8"))
            if data.get("tokenizer") != TOKENIZER_ID:
                return
            retriever = None
            if data.get("folder"):
                import bm25s

                retriever = bm25s.BM25.load(str(self.folder / data["folder"]), mmap=False, allow_pickle=False)
        except (OSError, ValueError, KeyError) as exc:  # a damaged derived index is rebuilt, not fatal
            self._bm25, self.ids = None, []
            raise_if_strict(exc)
            return
        self._bm25, self.ids = retriever, list(data.get("ids", []))
        self.pos = {cid: n for n, cid in enumerate(self.ids)}

    # -- queries -------------------------------------------------------------------------------
    def count(self) -> int:
        return len(self.ids)

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every indexed chunk (0 where no query token occurs), in :attr:`ids` order."""
        self.ensure_fresh()
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        known = [t for t in tokens if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def top(
        self, scores: np.ndarray, n: int, allowed: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``n`` best chunks with a positive score, best first, optionally only ``allowed`` ones."""
        if scores.size == 0 or n <= 0:
            return []
        if allowed is not None:
            mask = np.zeros(scores.size, dtype=bool)
            idx = [self.pos[c] for c in allowed if c in self.pos]
            mask[idx] = True
            scores = np.where(mask, scores, 0.0)
        n = min(n, scores.size)
        part = np.argpartition(-scores, n - 1)[:n]
        order = part[np.argsort(-scores[part], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in order if scores[i] > 0]

    def containing(self, token: str) -> list[str]:
        """Chunk ids whose tokens include ``token`` (lower-cased, as indexed)."""
        self.ensure_fresh()
        if self._bm25 is None:
            return []
        tid = self._bm25.vocab_dict.get(token)
        if tid is None:
            return []
        indptr, indices = self._bm25.scores["indptr"], self._bm25.scores["indices"]
        return [self.ids[int(i)] for i in indices[indptr[tid] : indptr[tid + 1]]]

    def ideal_score(self, tokens: list[str]) -> float:
        """BM25 of a chunk of average length holding each query token once: ``sum(idf)`` (Lucene idf).

        Tokens the corpus lacks count with the largest idf, so a query half made of unknown words can
        reach at most about half of this. Used to put BM25 on an absolute [0, 1] scale for fusion.
        """
        self.ensure_fresh()
        n = len(self.ids)
        if self._bm25 is None or n == 0:
            return 0.0
        indptr = self._bm25.scores["indptr"]
        total = 0.0
        for token in tokens:
            tid = self._bm25.vocab_dict.get(token)
            df = 0 if tid is None else int(indptr[tid + 1] - indptr[tid])
            total += float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
        return total

    def has_all(self, tokens: list[str], allowed: Collection[str] | None = None) -> bool:
        """Does some chunk (among ``allowed``) contain every one of ``tokens``?"""
        self.ensure_fresh()
        wanted = sorted(set(tokens))
        if self._bm25 is None or not wanted:
            return False
        indptr, indices = self._bm25.scores["indptr"], self._bm25.scores["indices"]
        common: np.ndarray | None = None
        for token in wanted:
            tid = self._bm25.vocab_dict.get(token)
            if tid is None:
                return False
            docs = np.asarray(indices[indptr[tid] : indptr[tid + 1]])
            common = docs if common is None else np.intersect1d(common, docs, assume_unique=True)
            if common.size == 0:
                return False
        if allowed is None or common is None:
            return common is not None and common.size > 0
        return any(self.ids[int(i)] in allowed for i in common)

    def close(self) -> None:
        with self._lock:
            self._cache.close()


def raise_if_strict(exc: Exception) -> None:
    """Loading a damaged derived index falls back to a rebuild; set LOCALKB_STRICT_LEXICAL=1 to fail."""
    if os.environ.get("LOCALKB_STRICT_LEXICAL"):
        raise KBError(f"Cannot load the lexical index: {exc}") from exc


def describe(kb_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The lexical index as saved (for ``localkb stats``): its tokenizer id and stemmer, chunks, and
    whether it is current (an index from another tokenizer or stemmer is rebuilt by the next search)."""
    try:
        data = json.loads((Path(kb_path) / "lexical" / "current.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    built = data.get("tokenizer")
    return {"tokenizer": built, "stemmer": data.get("stemmer", "none" if built else None),
            "chunks": len(data.get("ids") or []), "current": built == TOKENIZER_ID,
            "note": None if built == TOKENIZER_ID else
            f"built with tokenizer {built or 'none yet'}; the next search rebuilds it with {TOKENIZER_ID}"}


def lexical_index(kb: KBParts) -> LexicalIndex:
    """The KB's lexical index (one per open KB)."""
    return kb.extension(EXTENSION, LexicalIndex)


def attach(kb: KBParts) -> None:
    """Subscribe the lexical index to the KB's chunk changes (called when a KB is opened)."""
    kb.add_listener(lambda base, added, removed: lexical_index(base).on_chunks_changed(added, removed))
