"""The BM25 index beside the vector index: incremental segments derived from ``chunks.sqlite``.

Layout of ``KB/lexical/``::

    tokens.sqlite      chunk id → its tokens (of ``embed_text``: chunk text + enrichment prefix)
    current.json       the live segments, each with its tombstones (deleted local docs), tokenizer id
    seg-<name>/        an immutable segment (``search.segments``: postings with raw tf, memory-mapped)

How it stays current, at a cost proportional to the change (issue 18):

1. **At ingest** (``kb.add_listener``), added chunks are tokenised into ``tokens.sqlite`` (once per
   chunk: jieba for Chinese is the costly part) and become a new small segment; removed chunks become
   tombstones in the segment that holds them. Nothing already indexed is read again.
2. **Merges** keep the number of segments logarithmic: after a change, the newest segment is merged into
   the one before it while that one is at most ``TIER`` × its size (and the merge at most ``SYNC_MERGE``
   docs); a segment more than ``COMPACT_DEAD`` tombstones is rewritten without them. Merges read
   postings, not text. ``compact()`` merges everything into one segment.
3. **Scores** are BM25 (Lucene idf, k1 = 1.5, b = 0.75, the formula bm25s uses) with the statistics of
   the live documents of all segments, computed at query time: they equal those of a full rebuild
   (property-tested) and today's bm25s scores.
4. A change made by **another process** is noticed from ``current.json`` (reloaded) and from SQLite
   (looked at only when ``chunks.sqlite`` or its WAL changed on disk) through ``chunk_log`` (every chunk id
   inserted or deleted, kept by triggers; ``current.json`` records the log position its segments reflect),
   so catching up costs the change — opening a KB too (comparing every id held ~0.5 GB at 1M chunks). Every
   chunk id is compared instead when the log cannot be trusted: no position, the log pruned past it or
   behind it (another ``chunks.sqlite``), a trigger missing (on the first check in a process), or a count
   that disagrees with SQLite's.
   One search checks once (``one_check``), however many things it asks the index.

Crash safety: a segment is written to ``tmp-<name>/`` and renamed; ``current.json`` is replaced
atomically last, so a SIGKILL at any point leaves the old or the new set of segments, both complete;
unreferenced folders are removed by the next publish. A damaged index is rebuilt from the token cache.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import KBError
from . import segments as seg_mod
from .tokenizer import STEMMER, TOKENIZER_ID, tokenize

if TYPE_CHECKING:
    from ..parts import LexicalHost

EXTENSION = "lexical"
BATCH = 500
K1, B = 1.5, 0.75
#: merge the newest segment into the previous one while that one is at most TIER times as big
TIER = 4
#: merges larger than this many docs wait for the ``MAX_ALL_SEGMENTS`` cap or ``compact()``, so one ingest stays fast
SYNC_MERGE = 50_000
#: never more segments under half of ``SYNC_MERGE`` docs than this (each costs a vocabulary lookup per query term)
MAX_SEGMENTS = 16
#: and never more segments of any size than this: segments of half ``SYNC_MERGE`` docs or more (the tiered merges
#: make one per ~that many chunks ingested) do not count towards ``MAX_SEGMENTS``, or past ~16 of them every
#: ingest would merge one (1.7 s at 1M chunks, ``bench_scale``); they merge by this cap, rarely, or by ``compact()``
MAX_ALL_SEGMENTS = 64
#: a segment with more than this share of tombstones is rewritten without them
COMPACT_DEAD = 0.25
FORMAT = 2
#: rows of ``chunk_log`` the writer keeps (a reader further behind compares every chunk id once)
LOG_KEEP = 100_000


class LexicalIndex:
    """BM25 over a KB's chunks. Positions in score arrays follow :attr:`ids` (the live chunks)."""

    def __init__(self, kb: LexicalHost, *, strict: bool = False) -> None:
        self.kb = kb
        self.strict = strict  # a damaged index on disk is an error, not a rebuild (``strict_lexical``)
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
        self.segments: list[seg_mod.Segment] = []
        self._live: list[np.ndarray] = []  # per segment: True where the doc is not deleted
        self._locals: list[np.ndarray] = []  # per segment: its live local docs, ascending
        self._starts = np.zeros(1, dtype=np.int64)  # per segment: position of its first live doc
        self._gpos: list[np.ndarray] = []
        self._ids: list[str] | None = None
        self._pos: dict[str, int] | None = None
        self._df: dict[str, int] = {}
        self._stats: tuple[int, float] = (0, 0.0)
        self._norm: list[np.ndarray] = []  # per segment: K1 * (1 - B + B * dl / avgdl) of each doc
        self._dirty = True  # until checked against SQLite once
        self._seen: tuple[object, ...] | None = None
        self._current_stat: tuple[int, int] | None = None
        self.rebuilds = 0
        self.merges = 0
        #: the ``chunk_log`` position the segments reflect (saved in current.json); None: unknown
        self._mark: int | None = None
        self._verified = False  # checked once in this process (the log's triggers or every chunk id)
        self._load()

    # -- the in-memory view ----------------------------------------------------------------------
    def _set(self, segments: list[seg_mod.Segment], live: list[np.ndarray]) -> None:
        """Adopt ``segments``: positions and BM25 statistics (numpy over the live masks). There is no chunk id
        map to keep: a chunk is found by bisecting each segment's sorted ids (:meth:`_find`), so at 1M chunks
        the process holds no per-chunk Python objects (a dict of them was ~275 MB)."""
        self.segments, self._live = segments, live
        self._locals = [np.flatnonzero(a) for a in live]
        self._starts = np.cumsum([0, *[loc.size for loc in self._locals]]).astype(np.int64)
        # per segment: each local doc's position in :attr:`ids` (-1 when deleted), so scores scatter
        # straight into one array instead of one array per segment concatenated through the live masks
        self._gpos = []
        for k, a in enumerate(live):
            g = np.full(a.size, -1, dtype=np.int64)
            g[self._locals[k]] = np.arange(self._starts[k], self._starts[k + 1])
            self._gpos.append(g)
        self._ids = None
        self._pos = None
        self._df = {}
        n = int(self._starts[-1])
        total = sum(float(np.asarray(s.lengths)[a].sum()) for s, a in zip(segments, live))
        self._stats = (n, total / n if n else 0.0)
        # BM25's length part of each doc, K1 * (1 - B + B * dl / avgdl): it follows avgdl, so it is
        # recomputed here (numpy over the lengths) rather than per query term
        avgdl = np.float32(self._stats[1] or 1.0)
        self._norm = [np.float32(K1) * (np.float32(1 - B) + np.float32(B) * np.asarray(s.lengths, dtype=np.float32) / avgdl)
                      for s in segments]

    @property
    def ids(self) -> list[str]:
        """The live chunk ids, in the order of :meth:`scores` (built on first use after a change; searches do
        not need it)."""
        if self._ids is None:
            self._ids = self._live_ids()
        return self._ids

    def _live_ids(self) -> list[str]:
        parts = [np.asarray(s.ids)[loc] for s, loc in zip(self.segments, self._locals)]
        return np.concatenate(parts).tolist() if parts else []

    def _find(self, cids: Collection[str]) -> tuple[np.ndarray, np.ndarray]:
        """(segment index, local doc) of the live copy of each of ``cids``; -1, -1 where none is indexed (a
        copy in a newer segment wins). A bisection per segment, numpy over all of ``cids`` at once."""
        seg_of = np.full(len(cids), -1, dtype=np.int64)
        local = np.full(len(cids), -1, dtype=np.int64)
        if not len(cids) or not self.segments:
            return seg_of, local
        wanted = np.array(cids if isinstance(cids, list) else list(cids), dtype=str)
        keys = seg_mod.prefix_keys(wanted)
        for k in range(len(self.segments) - 1, -1, -1):
            got = self.segments[k].find(wanted, keys)
            hit = got >= 0
            if not hit.any():  # most segments hold none of them
                continue
            hit &= self._live[k][np.where(hit, got, 0)] & (seg_of < 0)
            seg_of[hit], local[hit] = k, got[hit]
        return seg_of, local

    def positions(self, cids: Collection[str]) -> np.ndarray:
        """The position of each of ``cids`` in :meth:`scores` arrays, -1 where it is not indexed."""
        seg_of, local = self._find(cids)
        out = np.full(seg_of.size, -1, dtype=np.int64)
        for k in np.unique(seg_of[seg_of >= 0]).tolist():
            at = seg_of == k
            out[at] = self._gpos[k][local[at]]
        return out

    def _held(self, cids: list[str]) -> set[str]:
        """Those of ``cids`` the index holds."""
        return {c for c, k in zip(cids, self._find(cids)[0].tolist()) if k >= 0}

    @property
    def pos(self) -> dict[str, int]:
        """``{chunk id: position}`` of every live chunk (built on first use; :meth:`position` is cheaper)."""
        if self._pos is None:
            self._pos = {cid: n for n, cid in enumerate(self.ids)}
        return self._pos

    def position(self, chunk_id: str) -> int | None:
        """The position of ``chunk_id`` in :meth:`scores` arrays (None when it is not indexed)."""
        at = int(self.positions([chunk_id])[0])
        return None if at < 0 else at

    def ids_at(self, positions: list[int]) -> list[str]:
        """The chunk ids at ``positions`` of :meth:`scores` arrays."""
        segs = (np.searchsorted(self._starts, positions, side="right") - 1).tolist()
        return [str(self.segments[k].ids[self._locals[k][p - int(self._starts[k])]]) for p, k in zip(positions, segs)]

    # -- maintenance ---------------------------------------------------------------------------
    def on_chunks_changed(self, added: list[str], removed: list[str]) -> None:
        """Listener: tokenise the added chunks now; the index follows on the next :meth:`ensure_fresh`."""
        with self._lock:
            if removed:
                self._forget(removed)
            if added:
                self._tokenise_missing(added)
            self._dirty = True
            self._prune_log()

    def _forget(self, ids: list[str]) -> None:
        for i in range(0, len(ids), BATCH):
            batch = ids[i : i + BATCH]
            self._cache.execute(f"DELETE FROM tokens WHERE id IN ({','.join('?' * len(batch))})", batch)

    def _tokens_of(self, ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for i in range(0, len(ids), BATCH):
            batch = ids[i : i + BATCH]
            for cid, toks in self._cache.execute(
                f"SELECT id, toks FROM tokens WHERE id IN ({','.join('?' * len(batch))})", batch
            ):
                out[cid] = toks.split(" ") if toks else []
        return out

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
        """Bring the index to SQLite's chunks: reload what another process published, apply the rest.
        Inside :func:`one_check` this happens once per index and thread."""
        checked = getattr(_CHECKED, "ids", None)
        if checked is not None:
            if id(self) in checked:
                return
            checked.add(id(self))
        with self._lock:
            if self._current_stat is not None and self._current_stat != _stat(self.folder / "current.json"):
                self._load()  # another process published segments
                self._dirty = True
            state = self._disk_state()
            if not self._dirty and state == self._seen:
                return
            top = int(self.kb.db.scalar("SELECT MAX(seq) FROM chunk_log") or 0)  # read before the chunks
            trusted = self._verified or self._logging()
            changed = self._logged_since(top) if self.segments and trusted else None
            if changed is not None:  # the log's answer must leave as many chunks as SQLite holds
                if self.count() + len(changed[0]) - len(changed[1]) != self.kb.db.chunk_count():
                    changed = None
            if changed is None:  # first check in this process, or no usable log: compare every chunk id
                wanted = {r[0] for r in self.kb.db.query("SELECT id FROM chunks")}
                have = set(self._live_ids())
                added, removed = sorted(wanted - have), sorted(have - wanted)
            else:
                added, removed = changed
            self._mark, self._verified = top, True
            if not self.segments and added:
                self.rebuild(sorted(wanted))
            elif added or removed:
                self.apply(added, removed)
            self._dirty = False
            self._seen = state

    def _logged_since(self, top: int) -> tuple[list[str], list[str]] | None:
        """(added, removed) from ``chunk_log`` rows after the position the index reflects, up to ``top``:
        each logged id is looked up in ``chunks`` now (cost ∝ the change). None when there is no position
        or the writer pruned the log past it."""
        if self._mark is None or top < self._mark:  # behind the position: not the log the segments followed
            return None
        low = self.kb.db.scalar("SELECT MIN(seq) FROM chunk_log")
        if low is not None and int(low) > self._mark + 1:
            return None
        logged = sorted({r[0] for r in self.kb.db.query(
            "SELECT id FROM chunk_log WHERE seq > ? AND seq <= ?", (self._mark, top))})
        present = self.kb.db.existing_ids(logged)
        held = self._held(logged)
        return ([c for c in logged if c in present and c not in held],
                [c for c in logged if c not in present and c in held])

    def _logging(self) -> bool:
        """Are all of ``chunk_log``'s triggers there (so every write since the index's position is logged)?"""
        return int(self.kb.db.scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN "
                                     "('chunk_log_insert', 'chunk_log_delete', 'chunk_log_update')") or 0) == 3

    def _prune_log(self) -> None:
        """Keep the last ``LOG_KEEP`` rows of ``chunk_log`` (a reader further behind compares all ids)."""
        low, high = self.kb.db.query("SELECT MIN(seq), MAX(seq) FROM chunk_log")[0]
        if low is not None and high - low > 2 * LOG_KEEP:
            with self.kb.db.transaction() as conn:
                conn.execute("DELETE FROM chunk_log WHERE seq <= ?", (high - LOG_KEEP,))

    def apply(self, added: list[str], removed: list[str]) -> None:
        """Index ``added`` as a new segment and tombstone ``removed`` (cost ∝ the change), then publish."""
        with self._lock:
            segments, live = list(self.segments), [a.copy() for a in self._live]
            gone = np.array([*removed, *added], dtype=str)  # an added id already indexed is replaced
            gone_keys = seg_mod.prefix_keys(gone)
            for k, seg in enumerate(segments if gone.size else []):  # every live copy (same id = same text)
                at = seg.find(gone, gone_keys)
                live[k][at[at >= 0]] = False
            if added:
                self._tokenise_missing(added)
                toks = self._tokens_of(added)
                new = seg_mod.build(_name(), added, [toks.get(c, []) for c in added])
                seg_mod.save(new, self.folder)
                segments.append(new)
                live.append(np.ones(len(new), dtype=bool))
            segments, live = self._maintain(segments, live)
            self._publish(segments, live)
            self._set(segments, live)

    def _maintain(self, segments: list[seg_mod.Segment], live: list[np.ndarray],
                  limit: int | None = None) -> tuple[list[seg_mod.Segment], list[np.ndarray]]:
        """Tiered merges of the newest segments and rewrites of segments full of tombstones (merges of at
        most ``limit`` docs, default ``SYNC_MERGE``, read when called)."""
        limit = SYNC_MERGE if limit is None else limit
        def size(k: int) -> int:
            return int(live[k].sum())

        while len(segments) > 1 and size(-2) <= TIER * max(size(-1), 1) and size(-2) + size(-1) <= limit:
            merged = seg_mod.merge(_name(), [(segments[-2], live[-2]), (segments[-1], live[-1])])
            seg_mod.save(merged, self.folder)
            self.merges += 1
            segments, live = [*segments[:-2], merged], [*live[:-2], np.ones(len(merged), dtype=bool)]
        for k, (seg, alive) in enumerate(zip(segments, live)):
            dead = len(seg) - int(alive.sum())
            if dead and (dead > COMPACT_DEAD * len(seg) or not alive.any()) and len(seg) <= limit:
                rewritten = seg_mod.merge(_name(), [(seg, alive)])
                seg_mod.save(rewritten, self.folder)
                self.merges += 1
                segments[k], live[k] = rewritten, np.ones(len(rewritten), dtype=bool)
        keep = [k for k in range(len(segments)) if len(segments[k])]
        segments, live = [segments[k] for k in keep], [live[k] for k in keep]
        def over_cap() -> bool:
            return (len(segments) > MAX_ALL_SEGMENTS
                    or sum(1 for seg in segments if len(seg) < limit // 2) > MAX_SEGMENTS)

        while over_cap():  # past a cap, the smallest neighbours merge whatever their size
            k = min(range(len(segments) - 1), key=lambda i: len(segments[i]) + len(segments[i + 1]))
            merged = seg_mod.merge(_name(), [(segments[k], live[k]), (segments[k + 1], live[k + 1])])
            seg_mod.save(merged, self.folder)
            self.merges += 1
            segments[k:k + 2], live[k:k + 2] = [merged], [np.ones(len(merged), dtype=bool)]
        return segments, live

    def compact(self) -> int:
        """Merge every segment into one, without tombstones and as this version writes it; returns docs kept.
        Nothing calls it on its own (an ingest's merges are bounded, see ``SYNC_MERGE``): it is maintenance,
        ``localkb compact``. Segments an older version wrote (ids in ingest order, no ``keys.npy``) work as
        they are, found by id through an argsort per process, until a merge or this rewrites them."""
        with self._lock:
            self.ensure_fresh()
            if len(self.segments) <= 1 and all(a.all() for a in self._live) and all(
                    s.keys is not None for s in self.segments):
                return len(self.ids)
            merged = seg_mod.merge(_name(), list(zip(self.segments, self._live)))
            seg_mod.save(merged, self.folder)
            self.merges += 1
            segments, live = ([merged], [np.ones(len(merged), dtype=bool)]) if len(merged) else ([], [])
            self._publish(segments, live)
            self._set(segments, live)
            return len(merged)

    def rebuild(self, ids: list[str] | None = None) -> None:
        """Build one segment for ``ids`` (default: every chunk) from cached tokens and publish it."""
        with self._lock:
            if ids is None:
                self._mark = int(self.kb.db.scalar("SELECT MAX(seq) FROM chunk_log") or 0)
                ids = sorted(r[0] for r in self.kb.db.query("SELECT id FROM chunks"))
            self._tokenise_missing(ids)
            stale = {r[0] for r in self._cache.execute("SELECT id FROM tokens")} - set(ids)
            if stale:
                self._forget(sorted(stale))
            toks = self._tokens_of(ids)
            segments: list[seg_mod.Segment] = []
            live: list[np.ndarray] = []
            if ids:
                seg = seg_mod.build(_name(), ids, [toks.get(i, []) for i in ids])
                seg_mod.save(seg, self.folder)
                segments, live = [seg], [np.ones(len(seg), dtype=bool)]
            self._publish(segments, live)
            self._set(segments, live)
            self.rebuilds += 1

    def _publish(self, segments: list[seg_mod.Segment], live: list[np.ndarray]) -> None:
        from ..disk import write_json

        write_json(self.folder / "current.json", {
            "format": FORMAT, "tokenizer": TOKENIZER_ID, "stemmer": STEMMER,
            "chunks": sum(int(a.sum()) for a in live), "log_seq": self._mark,
            "segments": [{"name": s.name, "docs": len(s), "dead": np.flatnonzero(~a).tolist()}
                         for s, a in zip(segments, live)],
        })
        self._current_stat = _stat(self.folder / "current.json")
        names = {f"seg-{s.name}" for s in segments}
        for old in [*self.folder.glob("seg-*"), *self.folder.glob("tmp-*"), *self.folder.glob("bm25-*")]:
            if old.name not in names:
                shutil.rmtree(old, ignore_errors=True)

    def _load(self) -> None:
        current = self.folder / "current.json"
        self._current_stat = _stat(current)
        segments: list[seg_mod.Segment] = []
        live: list[np.ndarray] = []
        if current.is_file():
            try:
                data = json.loads(current.read_text(encoding="utf-8"))
                if data.get("tokenizer") == TOKENIZER_ID and data.get("format") == FORMAT:
                    self._mark = data.get("log_seq")
                    for entry in data["segments"]:
                        seg = seg_mod.load(self.folder, str(entry["name"]))
                        alive = np.ones(len(seg), dtype=bool)
                        alive[np.asarray(entry.get("dead", []), dtype=np.int64)] = False
                        segments.append(seg)
                        live.append(alive)
            except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
                # a damaged derived index is rebuilt (by ensure_fresh), not fatal
                segments, live = [], []
                if self.strict:
                    raise KBError(f"Cannot load the lexical index: {exc}") from exc
        self._set(segments, live)

    # -- queries -------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self._starts[-1])

    def _whole(self, k: int) -> bool:
        """Does segment ``k`` have no tombstones (every local doc live, in order)?"""
        return bool(self._locals[k].size == len(self.segments[k]))

    def _gather(self, term: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Live postings of ``term``: (segment index, local docs, tf) per segment that has it (inside
        :func:`one_check`, gathered once per term while the segments stay the same)."""
        memo = getattr(_CHECKED, "gathered", None)
        if memo is not None:
            kept = memo.get((id(self), term))
            if kept is not None and kept[0] is self.segments:
                return kept[1]
        out = []
        for k, seg in enumerate(self.segments):
            docs, tf = seg.postings(term)
            if docs.size and self._whole(k):
                out.append((k, docs, tf))
            elif docs.size:
                alive = self._live[k][docs]
                if alive.any():
                    out.append((k, docs[alive], tf[alive]))
        if memo is not None:
            memo[(id(self), term)] = (self.segments, out)
        return out

    def _df_of(self, term: str, found: list[tuple[int, np.ndarray, np.ndarray]] | None = None) -> int:
        """Live document frequency of ``term`` (remembered until the segments change)."""
        df = self._df.get(term)
        if df is None:
            if len(self._df) > 100_000:  # many distinct query words: start again rather than grow
                self._df.clear()
            found = self._gather(term) if found is None else found
            df = self._df[term] = sum(int(d.size) for _, d, _ in found)
        return df

    def _idf(self, df: int) -> float:
        n = self._stats[0]
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every live chunk (0 where no query token occurs), in :attr:`ids` order."""
        self.ensure_fresh()
        n = self._stats[0]
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        out = np.zeros(n, dtype=np.float32)
        for term in tokens:  # a repeated query token counts again, as in bm25s
            found = self._gather(term)
            if not found:
                continue
            idf = np.float32(self._idf(self._df_of(term, found)))
            for k, docs, tf in found:  # in place: a common word has postings in a good share of the KB
                tf32 = tf.astype(np.float32)
                w = self._norm[k][docs]
                w += tf32
                tf32 *= idf
                np.divide(tf32, w, out=w)  # idf * tf / (norm + tf)
                if self._whole(k):  # the segment's live docs are one slice of the scores
                    view = out[int(self._starts[k]):int(self._starts[k + 1])]
                    view[docs] += w  # each doc once per term
                else:
                    out[self._gpos[k][docs]] += w
        return out

    def top(
        self, scores: np.ndarray, n: int, allowed: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``n`` best chunks with a positive score, best first, optionally only ``allowed`` ones."""
        if scores.size == 0 or n <= 0:
            return []
        if allowed is not None:
            mask = np.zeros(scores.size, dtype=bool)
            idx = self.positions(allowed)
            mask[idx[idx >= 0]] = True
            scores = np.where(mask, scores, 0.0)
        hit = np.flatnonzero(scores > 0)  # the docs holding a query word: usually a small share
        if hit.size > n:  # the n best, and every doc tied with the n-th, before the exact order below
            vals = scores[hit]
            hit = hit[vals >= np.partition(vals, hit.size - n)[hit.size - n]]
        order = hit[np.lexsort((hit, -scores[hit]))][:n]  # best first; ties by position (deterministic)
        chosen = order.tolist()
        return list(zip(self.ids_at(chosen), (float(scores[i]) for i in chosen)))

    def containing(self, token: str, limit: int | None = None) -> list[str]:
        """Chunk ids whose tokens include ``token`` (lower-cased, as indexed), the first ``limit`` of them in
        segment order. Only those ids are read: a common token ("50") has postings in a fifth of a 1M-chunk
        KB, and turning all of them into ids would page in most of the segments' id files."""
        self.ensure_fresh()
        out: list[str] = []
        for k, docs, _ in self._gather(token):
            take = docs if limit is None else docs[: max(limit - len(out), 0)]
            ids = self.segments[k].ids
            out.extend(str(ids[d]) for d in take.tolist())
            if limit is not None and len(out) >= limit:
                break
        return out

    def ideal_score(self, tokens: list[str]) -> float:
        """BM25 of a chunk of average length holding each query token once: ``sum(idf)`` (Lucene idf).

        Tokens the corpus lacks count with the largest idf, so a query half made of unknown words can
        reach at most about half of this. Used to put BM25 on an absolute [0, 1] scale for fusion.
        """
        self.ensure_fresh()
        if self._stats[0] == 0:
            return 0.0
        return sum(self._idf(self._df_of(t)) for t in tokens)

    def terms_in(self, ids: list[str], terms: Iterable[str]) -> dict[str, set[str]]:
        """Which of ``terms`` each of ``ids`` holds (as indexed: what BM25 counts), read from the postings of
        those terms, not from the chunks' token lists; an id the index does not hold is left out."""
        self.ensure_fresh()
        with self._lock:
            groups: dict[int, list[str]] = {}  # segment index → the ids it holds
            docs_of: dict[int, list[int]] = {}
            for cid, k, doc in zip(ids, *(a.tolist() for a in self._find(ids))):
                if k >= 0:
                    groups.setdefault(k, []).append(cid)
                    docs_of.setdefault(k, []).append(doc)
            local = {k: np.array(docs, dtype=np.int64) for k, docs in docs_of.items()}
            out: dict[str, set[str]] = {c: set() for cids in groups.values() for c in cids}
            for term in dict.fromkeys(terms):
                for k, docs, _ in self._gather(term):
                    if k in groups:  # a term's postings are sorted by doc (``segments._csc``): bisect
                        at = np.minimum(np.searchsorted(docs, local[k]), docs.size - 1)
                        for cid, held in zip(groups[k], (docs[at] == local[k]).tolist()):
                            if held:
                                out[cid].add(term)
            return out

    def has_all(self, tokens: list[str], allowed: Collection[str] | None = None) -> bool:
        """Does some chunk (among ``allowed``) contain every one of ``tokens``?"""
        self.ensure_fresh()
        wanted = sorted(set(tokens))
        if not self.count() or not wanted:
            return False
        common: set[tuple[int, int]] | None = None
        for token in wanted:
            docs = {(k, d) for k, ds, _ in self._gather(token) for d in ds.tolist()}
            common = docs if common is None else common & docs
            if not common:
                return False
        if allowed is None or common is None:
            return bool(common)
        return any(str(self.segments[k].ids[d]) in allowed for k, d in common)

    def close(self) -> None:
        with self._lock:
            self._cache.close()


_CHECKED = threading.local()


@contextmanager
def one_check() -> Iterator[None]:
    """Within the block (one search), each lexical index is checked against SQLite and ``current.json``
    once in this thread (a search asks the index several things, and each ask stats three files), and
    a query term's postings are gathered once.
    Changes made meanwhile (by this process or another) are seen by the next block."""
    outer = getattr(_CHECKED, "ids", None)
    if outer is None:
        _CHECKED.ids, _CHECKED.gathered = set(), {}
    try:
        yield
    finally:
        if outer is None:
            _CHECKED.ids, _CHECKED.gathered = None, None


def _name() -> str:
    return uuid.uuid4().hex[:12]


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


def describe(kb_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The lexical index as saved (for ``localkb stats``): its tokenizer id and stemmer, chunks, and
    whether it is current (an index from another tokenizer or stemmer is rebuilt by the next search)."""
    try:
        data = json.loads((Path(kb_path) / "lexical" / "current.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    built = data.get("tokenizer")
    current = built == TOKENIZER_ID and data.get("format") == FORMAT
    return {"tokenizer": built, "stemmer": data.get("stemmer", "none" if built else None),
            "chunks": int(data.get("chunks") or len(data.get("ids") or [])), "current": current,
            "segments": len(data.get("segments") or []),
            "tombstones": sum(len(s.get("dead") or []) for s in data.get("segments") or []),
            "note": None if current else
            f"built with tokenizer {built or 'none yet'}; the next search rebuilds it with {TOKENIZER_ID}"}


def lexical_index(kb: LexicalHost) -> LexicalIndex:
    """The KB's lexical index (one per open KB)."""
    return kb.extension(EXTENSION, lambda host: LexicalIndex(host, strict=host.settings.strict_lexical))


def attach(kb: LexicalHost) -> None:
    """Subscribe the lexical index to the KB's chunk changes (called when a KB is opened)."""
    kb.add_listener(lambda base, added, removed: lexical_index(base).on_chunks_changed(added, removed))
