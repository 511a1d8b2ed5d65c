"""FAISS on disk: ``IndexIDMap2(IndexFlatIP)`` written with FAISS's native ``write_index``.

Layout of ``faiss://DIR``::

    DIR/index.faiss   the index (native FAISS format, no pickle)
    DIR/ids.sqlite    int64 id → chunk id (the int is derived from the hash, see ``base.vid``)

    DIR/journal-<seq>.npz  changes since index.faiss was written (ids removed, ids + vectors added)

The whole index lives in memory, so a process must ``reload`` after another one wrote (the KB does it
when the write generation in ``chunks.sqlite`` moved, see ``kb.py``); otherwise its next flush would put
back the file as it was before the other writer.

Persistence is atomic and costs what changed: a ``flush`` writes the changes since the last one as one
small journal file (temp file, fsync, rename); only when the journals hold more than ``JOURNAL_SHARE`` of
the index (or the index was rebuilt: exact → IVF, retrain) is ``index.faiss`` rewritten whole (temp,
fsync, rename) and the journals removed. Opening reads the index, then replays the journals in order
(remove, then add: replaying one already folded into the index is harmless). The id map is committed
first (extra rows are harmless because the int is a function of the chunk id).
FAISS's ``IndexIDMap2`` does not deduplicate, so ``add`` removes existing ids before adding (upsert).
"""
from __future__ import annotations

import io
import os
import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from ..disk import write_bytes
from ..errors import StoreError
from . import faiss_ann as ann
from .base import VectorHit, as_matrix, split_uri, store_path, vid
from .faiss_names import Names
from .faiss_raw import RawVectors

#: fold the journals into ``index.faiss`` once they hold more rows than this share of the index
JOURNAL_SHARE = 0.05

#: URI parameters: ``faiss://DIR?ann=auto|on|off&ann_threshold=N&nprobe=P&codes=sq8|flat`` (see ``faiss_ann``)
PARAMS = ("ann", "ann_threshold", "nprobe", "codes")


class FaissStore:
    supports_filters = True

    def __init__(self, uri: str, dim: int, base_dir: str | None = None) -> None:
        import faiss  # lazy: heavy

        self._faiss: Any = faiss
        self.uri = uri
        self.dim = dim
        rest, _, query = split_uri(uri)[1].partition("?")
        self._parse_params(query)
        self.path = store_path(rest, base_dir)
        os.makedirs(self.path, exist_ok=True)
        self._index_file = os.path.join(self.path, "index.faiss")
        self._map = sqlite3.connect(os.path.join(self.path, "ids.sqlite"), check_same_thread=False)
        self._map.execute("CREATE TABLE IF NOT EXISTS ids (vid INTEGER PRIMARY KEY, id TEXT NOT NULL)")
        self._raw = RawVectors(self.path, dim, self._map)  # exact vectors of an sq8 index (faiss_raw)
        #: what happened to the files on open (an unreadable index set aside), for the KB's notes
        self.notes: list[str] = []
        # faiss's stubs describe the SWIG classes loosely (numpy arrays where they say IDSelector)
        self._index: Any
        self._load()

    def _parse_params(self, query: str) -> None:
        from urllib.parse import parse_qs

        params = {k: v[-1] for k, v in parse_qs(query).items()}
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise StoreError(f"Unknown FAISS store parameter(s): {', '.join(unknown)} (known: {', '.join(PARAMS)}).")
        self._ann_mode = params.get("ann", "auto")
        if self._ann_mode not in ("auto", "on", "off"):
            raise StoreError(f"ann={self._ann_mode}: use auto, on or off.")
        self._codes = params.get("codes", ann.DEFAULT_CODES)
        if self._codes not in ("sq8", "flat"):
            raise StoreError(f"codes={self._codes}: use sq8 or flat.")
        try:
            self._threshold = int(params.get("ann_threshold", ann.DEFAULT_THRESHOLD))
            self._nprobe_param = int(params["nprobe"]) if "nprobe" in params else None
        except ValueError as exc:
            raise StoreError(f"FAISS store parameters must be integers: {exc}") from exc

    @property
    def is_ann(self) -> bool:
        return hasattr(self._index, "nprobe")

    @property
    def is_sq8(self) -> bool:
        return isinstance(self._index, self._faiss.IndexIVFScalarQuantizer)

    @property
    def kind(self) -> str:
        return "ivf-sq8" if self.is_sq8 else "ivf-flat" if self.is_ann else "exact (flat)"

    def _nprobe(self) -> int:
        return min(int(self._index.nlist), self._nprobe_param or ann.default_nprobe(int(self._index.nlist)))

    def _maybe_switch(self) -> None:
        """Exact → IVF when the store has grown past the threshold (or retrain an IVF grown 4×)."""
        n = int(self._index.ntotal)
        wanted = (self._ann_mode == "on" and n >= ann.MIN_TRAIN) or (self._ann_mode == "auto" and n >= self._threshold)
        meta = ann.read_meta(self.path)
        if self.is_ann:  # retrain when grown 4×, or move an IVF to the codes asked for (sq8 ↔ flat)
            trained = int(meta.get("trained_on") or n)
            if n < ann.RETRAIN_GROWTH * trained and self.kind == f"ivf-{self._codes}":
                return
        elif not wanted:
            return
        ids, vecs = self._all_exact()
        self._index = ann.build_ivf(self._faiss, ids, vecs, self.dim, self._codes)
        if self._codes == "sq8":
            self._raw.rewrite(ids, vecs)
        self._rewrite = True
        ann.write_meta(self.path, {"kind": self.kind, "nlist": int(self._index.nlist), "nprobe": self._nprobe(),
                                   "trained_on": n, "threshold": self._threshold, "mode": self._ann_mode,
                                   **({"rerank": ann.RERANK, "vectors": "vectors*.f32 (float32, read by row)"}
                                      if self.is_sq8 else {})})

    def _all_exact(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, exact vectors) of everything in the index: from the index itself, or for sq8 from the
        raw file with this process's unflushed changes applied."""
        if not self.is_sq8:
            return ann.all_vectors(self._faiss, self._index)
        keys, vecs = self._raw.all()
        changed = np.array([*self._added, *self._removed], dtype=np.int64)
        keep = ~np.isin(keys, changed)
        if self._added:
            return (np.concatenate([keys[keep], np.array(list(self._added), dtype=np.int64)]),
                    np.vstack([vecs[keep], *self._added.values()]).astype(np.float32))
        return keys[keep], vecs[keep]

    def _vectors_of(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, exact vectors of the found ``keys`` in order): reconstructed from a flat or IVF-flat
        index; for sq8 this process's unflushed adds, then the raw file."""
        if not self.is_sq8:
            try:  # one call for all (the common case: every key is stored)
                return np.ones(keys.size, dtype=bool), self._index.reconstruct_batch(keys)
            except RuntimeError:  # some key is not in the store: one at a time
                rows, found = [], np.zeros(keys.size, dtype=bool)
                for n, key in enumerate(keys.tolist()):
                    try:
                        rows.append(self._index.reconstruct(key))
                    except RuntimeError:
                        continue
                    found[n] = True
                return found, np.vstack(rows) if rows else np.zeros((0, self.dim), np.float32)
        if not self._added and not self._removed:  # nothing unflushed (a reader): the file has them all
            return self._raw.get(keys)
        out = np.zeros((keys.size, self.dim), dtype=np.float32)
        found = np.zeros(keys.size, dtype=bool)
        rest = []
        for n, key in enumerate(keys.tolist()):
            if key in self._added:
                out[n], found[n] = self._added[key], True
            elif key not in self._removed:
                rest.append(n)
        if rest:
            got, matrix = self._raw.get(keys[rest])
            where = np.asarray(rest)[got]
            out[where], found[where] = matrix, True
        return found, out[found]

    def describe(self) -> dict[str, Any]:
        """What ``localkb stats`` shows: exact or IVF, its lists and probes, and recall@10 against exact."""
        if not self.is_ann:
            return {"kind": "exact (flat)", "ann_threshold": self._threshold, "mode": self._ann_mode}
        recall = (self._recall_sq8() if self.is_sq8 else ann.recall_at_10(self._faiss, self._index, self._nprobe()))
        return {"kind": self.kind, "nlist": int(self._index.nlist), "nprobe": self._nprobe(),
                "ann_threshold": self._threshold, "mode": self._ann_mode, "recall_at_10": recall,
                **({"rerank": ann.RERANK} if self.is_sq8 else {})}

    def _recall_sq8(self, samples: int = 50) -> float | None:
        """recall@10 of this store's search (sq8 codes, exact re-rank) against exact search over the raw
        vectors, read in blocks (no full copy in memory); queries = a seeded sample of stored vectors."""
        if self._dirty:  # unflushed changes: the raw file plus this process's changes, in memory
            keys, rows = self._all_exact()
            pairs = np.stack([keys, np.arange(keys.size)], axis=1)
        else:
            pairs, rows = self._raw.pairs(), self._raw.matrix()
        if not pairs.size:
            return None
        rng = np.random.default_rng(10)
        queries = np.asarray(rows[pairs[rng.choice(len(pairs), min(samples, len(pairs)), replace=False), 1]])
        k = min(10, len(pairs))
        best = np.full((len(queries), k), -np.inf, dtype=np.float32)
        best_keys = np.zeros((len(queries), k), dtype=np.int64)
        for start in range(0, len(pairs), 50_000):
            block = pairs[start:start + 50_000]
            scores = queries @ np.asarray(rows[block[:, 1]]).T
            both = np.hstack([best, scores])
            both_keys = np.hstack([best_keys, np.broadcast_to(block[:, 0], scores.shape)])
            top = np.argsort(-both, axis=1, kind="stable")[:, :k]
            best, best_keys = np.take_along_axis(both, top, 1), np.take_along_axis(both_keys, top, 1)
        found = 0
        for q, truth in zip(queries, best_keys):
            got = {vid(h.id) for h in self.search(q, k)}
            found += len(got & set(truth.tolist()))
        return found / (k * len(queries))

    def _remove(self, keys: np.ndarray) -> None:
        if self.is_ann:  # the hashtable direct map removes by an explicit id array
            keys = np.ascontiguousarray(keys, dtype=np.int64)
            self._index.remove_ids(self._faiss.IDSelectorArray(keys.size, self._faiss.swig_ptr(keys)))
        else:
            self._index.remove_ids(keys)

    def _load(self) -> None:
        """(Re)read the index and the id map from disk, dropping whatever this process held in memory."""
        faiss = self._faiss
        journals = self._journals()  # listed first: one folded meanwhile is gone when replayed (skipped)
        if os.path.exists(self._index_file):
            try:
                self._index = faiss.read_index(self._index_file)
            except RuntimeError as exc:
                # a derived file: set it aside and start empty; the KB re-embeds from chunks.sqlite on open
                aside = f"{self._index_file}.unreadable"
                os.replace(self._index_file, aside)
                self.notes.append(f"The FAISS index {self._index_file} was unreadable ({str(exc).splitlines()[0][:120]}); "
                                  f"moved it to {aside} and rebuilt the vectors from chunks.sqlite.")
                self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
                journals = []
                self._drop_journals()
            if self._index.d != self.dim:
                raise StoreError(
                    f"FAISS index {self._index_file} has dimension {self._index.d}, expected {self.dim}."
                )
        else:  # no index: journals of a lost one cannot apply (the KB re-embeds from chunks.sqlite)
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            journals = []
            self._drop_journals()
        self._pending: dict[int, str] = {}
        self._names = Names(self._map)
        self._raw.invalidate()  # its row map too may have been changed by another process
        self._dirty = False
        self._rewrite = False  # the index was rebuilt in memory: the next flush writes it whole
        self._added: dict[int, np.ndarray] = {}  # changes since the last flush, for its journal
        self._removed: set[int] = set()
        self._replay(journals)

    def _journals(self) -> list[str]:
        names = sorted(n for n in os.listdir(self.path) if n.startswith("journal-") and n.endswith(".npz"))
        return [os.path.join(self.path, n) for n in names]

    def _drop_journals(self) -> None:
        for path in self._journals():
            os.unlink(path)

    def _replay(self, journals: list[str]) -> None:
        """Apply the journals written since ``index.faiss`` (in order) to the index just read."""
        self._journal_rows = 0
        for path in journals:
            try:
                with np.load(path, allow_pickle=False) as data:
                    removed, keys, vectors = data["removed"], data["keys"], data["vectors"]
            except FileNotFoundError:  # folded into index.faiss by a writer meanwhile
                continue
            except (OSError, ValueError, KeyError) as exc:  # as for an unreadable index: start empty
                os.replace(path, f"{path}.unreadable")
                self._drop_journals()
                self._index = self._faiss.IndexIDMap2(self._faiss.IndexFlatIP(self.dim))
                self._journal_rows = 0
                self._rewrite = True  # the index on disk is the stale base: the next flush replaces it
                self.notes.append(f"The FAISS journal {path} was unreadable ({str(exc)[:120]}); moved it to "
                                  f"{path}.unreadable and rebuilt the vectors from chunks.sqlite.")
                return
            gone = np.union1d(removed, keys).astype(np.int64)
            if gone.size:
                self._remove(gone)
            if keys.size:
                self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), keys.astype(np.int64))
            self._journal_rows += int(removed.size + keys.size)

    def reload(self) -> None:
        """Forget the in-memory index and read the one on disk (another process wrote it)."""
        self._load()

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        if not len(ids):
            return
        arr = as_matrix(vectors, self.dim, rows=len(ids))
        keys = np.array([vid(i) for i in ids], dtype=np.int64)
        self._remove(keys)  # upsert: IndexIDMap2 and IVF would keep a second copy otherwise
        self._index.add_with_ids(arr, keys)
        for row, (k, i) in enumerate(zip(keys.tolist(), ids)):
            self._names[k] = i
            self._pending[k] = i
            self._added[k] = arr[row]
            self._removed.discard(k)
        self._dirty = True
        if not self.is_ann and self._ann_mode != "off":
            self._maybe_switch()

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None = None) -> list[VectorHit]:
        n = self._index.ntotal
        if n == 0 or k <= 0:
            return []
        query = as_matrix(vector, self.dim)
        params = None
        if allowed is not None:
            if not allowed:
                return []
            if self.is_ann and len(allowed) <= ann.EXACT_FILTER:  # a few ids: their exact vectors
                return self._exact_among(query, k, allowed)
            sel = self._faiss.IDSelectorBatch(np.array([vid(i) for i in allowed], dtype=np.int64))
            params = self._faiss.SearchParameters(sel=sel)
        if self.is_ann:
            params = self._faiss.SearchParametersIVF(nprobe=self._nprobe(), **({"sel": sel} if allowed is not None else {}))
        fetch = min(k * ann.RERANK if self.is_sq8 else k, n)
        scores, keys = self._index.search(query, fetch, params=params)
        if self.is_ann and allowed is not None and int((keys[0] >= 0).sum()) < min(k, len(allowed)):
            # the probed lists held too few allowed ids: probe them all (exact over the IVF lists)
            params = self._faiss.SearchParametersIVF(nprobe=int(self._index.nlist), sel=sel)
            scores, keys = self._index.search(query, fetch, params=params)
        if self.is_sq8:  # the codes' scores are approximate: re-score the candidates with the exact vectors
            found, matrix = self._vectors_of(keys[0][keys[0] >= 0])
            kept = keys[0][keys[0] >= 0][found]
            exact = matrix @ query[0]
            order = np.argsort(-exact, kind="stable")[:k]
            return [VectorHit(name, float(exact[i])) for name, i in zip(self._names.names(kept[order]), order)]
        held = keys[0] >= 0
        return [VectorHit(name, float(score)) for name, score in zip(self._names.names(keys[0][held]), scores[0][held])]

    def _exact_among(self, query: np.ndarray, k: int, allowed: Collection[str]) -> list[VectorHit]:
        """Exact top-``k`` among ``allowed`` (their stored vectors, reconstructed by id)."""
        names = list(allowed)
        found, matrix = self._vectors_of(np.array([vid(c) for c in names], dtype=np.int64))
        names = [c for c, ok in zip(names, found.tolist()) if ok]
        if not names:
            return []
        scores = matrix @ query[0]
        order = np.argsort(-scores, kind="stable")[:k]
        return [VectorHit(names[i], float(scores[i])) for i in order]

    def delete(self, ids: Sequence[str]) -> None:
        if not len(ids):
            return
        keys = np.array([vid(i) for i in ids], dtype=np.int64)
        self._remove(keys)
        for k in keys.tolist():
            self._added.pop(k, None)
            self._removed.add(k)
        self._dirty = True

    def count(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> set[str]:
        if self._index.ntotal == 0:
            return set()
        keys = ann.ivf_ids(self._faiss, self._index) if self.is_ann else self._faiss.vector_to_array(self._index.id_map)
        return set(self._names.names(keys))

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of ``ids``, in that order (used by ``localkb migrate``).

        Raises:
            StoreError: an id is not in the index.
        """
        found, matrix = self._vectors_of(np.array([vid(c) for c in ids], dtype=np.int64))
        if not found.all():
            raise StoreError(f"Chunk {list(ids)[int(np.argmin(found))]} is not in the FAISS index {self._index_file}.")
        return matrix.reshape(len(ids), self.dim).astype(np.float32)

    def flush(self) -> None:
        if not self._dirty and not self._rewrite:
            return
        with self._map:
            self._map.executemany("INSERT OR REPLACE INTO ids VALUES (?, ?)", list(self._pending.items()))
        self._pending.clear()
        if self.is_sq8:  # the exact vectors first: a row nobody points to yet is harmless
            self._raw.append(np.array(list(self._added), dtype=np.int64),
                             np.array(list(self._added.values()), dtype=np.float32).reshape(-1, self.dim))
            self._raw.forget(self._removed)
        self._maybe_switch()
        rows = self._journal_rows + len(self._added) + len(self._removed)
        if self._rewrite or not os.path.exists(self._index_file) or rows > JOURNAL_SHARE * self._index.ntotal:
            tmp = self._index_file + ".tmp"
            self._faiss.write_index(self._index, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self._index_file)
            self._drop_journals()  # after the rename: a crash in between replays them again, harmlessly
            self._journal_rows = 0
        else:
            self._write_journal()
            self._journal_rows = rows
        self._added.clear()
        self._removed.clear()
        self._rewrite = False
        self._dirty = False

    def _write_journal(self) -> None:
        journals = self._journals()
        seq = int(os.path.basename(journals[-1])[8:-4]) + 1 if journals else 1
        final = os.path.join(self.path, f"journal-{seq:08d}.npz")
        keys = np.array(list(self._added), dtype=np.int64)
        vectors = np.vstack(list(self._added.values())) if keys.size else np.zeros((0, self.dim), np.float32)
        buffer = io.BytesIO()
        np.savez(buffer, removed=np.array(sorted(self._removed), dtype=np.int64), keys=keys,
                 vectors=vectors.astype(np.float32))
        write_bytes(final, buffer.getvalue())  # atomic: temp file, fsync, rename

    def close(self) -> None:
        self.flush()
        self._map.close()
