"""Immutable BM25 segments: term → (doc, tf) postings of a batch of chunks, stored as plain ``.npy`` files.

A segment holds raw term frequencies and document lengths, never precomputed scores, so the BM25
statistics (live document count, average length, document frequency) are taken over all live segments at
query time: the scores of many segments plus tombstones equal those of one segment built from scratch.

Layout of ``seg-<name>/``: ``ids.npy`` (chunk ids, unicode), ``lengths.npy`` (int32 tokens per chunk),
``vocab.npy`` (sorted unicode terms), ``indptr.npy`` (int64, len(vocab) + 1), ``docs.npy`` (int32 local
doc index per posting), ``tf.npy`` (int32); ``keys.npy`` (uint64, :func:`prefix_keys`) in a segment whose ids are in sorted order, which
every segment this version writes is: a chunk id is found by bisecting those 8-byte keys (a segment of an older
version, without it, through an argsort of its ids made once per process). Loaded memory-mapped (``mmap_mode="r"``): the postings stay
on disk and in the page cache. Written into a temp folder, fsynced and renamed: a segment is whole or absent.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ARRAYS = ("ids", "lengths", "vocab", "indptr", "docs", "tf")


@dataclass
class Segment:
    name: str
    ids: np.ndarray
    lengths: np.ndarray
    vocab: np.ndarray
    indptr: np.ndarray
    docs: np.ndarray
    tf: np.ndarray
    keys: np.ndarray | None = None  # None: a segment of an older version (ids in ingest order)
    _sorter: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(local doc indices, term frequencies) of ``term`` in this segment (empty when absent)."""
        if self.vocab.size == 0:
            return _EMPTY, _EMPTY
        i = int(np.searchsorted(self.vocab, term))
        if i >= self.vocab.size or self.vocab[i] != term:
            return _EMPTY, _EMPTY
        lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
        return np.asarray(self.docs[lo:hi]), np.asarray(self.tf[lo:hi])

    def find(self, cids: np.ndarray, keys: np.ndarray | None = None) -> np.ndarray:
        """Local doc index of each of ``cids`` (a unicode array; ``keys``: its :func:`prefix_keys`), -1 where this
        segment lacks it. Bisects the 8-byte keys (in memory, cache-friendly), then checks the id where the key
        matched; ids sharing their first 8 characters are bisected as strings. An older segment bisects its ids through an argsort."""
        n = len(self)
        if not n or not cids.size:
            return np.full(cids.size, -1, dtype=np.int64)
        if self.keys is None:
            if self._sorter is None:
                self._sorter = np.argsort(self.ids, kind="stable")
            at = np.searchsorted(self.ids, cids, sorter=self._sorter)
            at[at == n] = n - 1
            at = self._sorter[at]
        else:
            keys = prefix_keys(cids) if keys is None else keys
            at = np.searchsorted(self.keys, keys)
            at[at == n] = n - 1
            shared = at < n - 1
            shared[shared] = self.keys[at[shared] + 1] == keys[shared]  # another id with the same first 8
            if shared.any():
                at[shared] = np.minimum(np.searchsorted(self.ids, cids[shared]), n - 1)
            # only ids whose key matched are read: each read maps its neighbouring pages of ids.npy too, and
            # reading every candidate's would map the whole file into the process within a few hundred searches
            check = np.flatnonzero(self.keys[at] == keys)
            found = np.full(cids.size, -1, dtype=np.int64)
            found[check] = np.where(self.ids[at[check]] == cids[check], at[check], -1)
            return found
        return np.where(self.ids[at] == cids, at, -1)

    def triples(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term, new local doc, tf) of the docs where ``keep`` is True, docs renumbered densely."""
        new_index = np.cumsum(keep) - 1
        terms = np.repeat(np.arange(self.vocab.size), np.diff(self.indptr))
        docs = np.asarray(self.docs)
        live = keep[docs]
        return terms[live], new_index[docs[live]], np.asarray(self.tf)[live]


_EMPTY = np.zeros(0, dtype=np.int32)
_SHIFTS = np.arange(56, -1, -8, dtype=np.uint64)


def prefix_keys(ids: np.ndarray) -> np.ndarray:
    """An 8-byte key per id (unicode array) that sorts as the ids do (non-decreasing in their order): its first 8
    characters, one byte each, up to the first one past U+00FE, which counts as 0xFF with zeros after it."""
    n, width = ids.shape[0], ids.dtype.itemsize // 4
    chars = np.zeros((n, 8), dtype=np.uint64)
    if n and width:
        head = np.ascontiguousarray(ids).view(np.uint32).reshape(n, width)[:, :8]
        chars[:, :head.shape[1]] = head
    big = chars >= 0xFF
    past = np.cumsum(big, axis=1)
    first = big & (past == 1)
    chars[past > 0] = 0
    chars[first] = 0xFF
    return (chars << _SHIFTS).sum(axis=1, dtype=np.uint64)


def _csc(ids: Sequence[str], lengths: np.ndarray, vocab: np.ndarray, terms: np.ndarray, docs: np.ndarray,
         tf: np.ndarray, name: str) -> Segment:
    """Sort (term, doc, tf) postings into a segment (``terms`` index into ``vocab``), docs renumbered so the
    ids are in sorted order (:meth:`Segment.find` bisects them)."""
    id_arr = np.array(list(ids), dtype=str)
    by_id = np.argsort(id_arr, kind="stable")
    if by_id.size and not (by_id == np.arange(by_id.size)).all():
        renumber = np.empty_like(by_id)
        renumber[by_id] = np.arange(by_id.size)
        id_arr, lengths, docs = id_arr[by_id], np.asarray(lengths)[by_id], renumber[np.asarray(docs, dtype=np.int64)]
    order = np.lexsort((docs, terms))
    terms, docs, tf = terms[order], docs[order], tf[order]
    indptr = np.zeros(vocab.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=vocab.size), out=indptr[1:])
    return Segment(name, id_arr, np.asarray(lengths).astype(np.int32), vocab,
                   indptr, docs.astype(np.int32), tf.astype(np.int32), prefix_keys(id_arr))


def build(name: str, ids: Sequence[str], token_lists: Sequence[Sequence[str]]) -> Segment:
    """A segment of ``ids`` whose tokens (as indexed, duplicates counted) are ``token_lists``."""
    lengths = np.array([len(t) for t in token_lists], dtype=np.int64)
    flat = np.array([tok for toks in token_lists for tok in toks], dtype=str)
    if flat.size == 0:
        return _csc(ids, lengths, np.zeros(0, dtype=str), _EMPTY, _EMPTY, _EMPTY, name)
    vocab, term_ids = np.unique(flat, return_inverse=True)
    doc_ids = np.repeat(np.arange(len(ids)), lengths)
    pairs, tf = np.unique(term_ids.astype(np.int64) * max(len(ids), 1) + doc_ids, return_counts=True)
    n = max(len(ids), 1)
    return _csc(ids, lengths, vocab, pairs // n, pairs % n, tf, name)


def merge(name: str, parts: Sequence[tuple[Segment, np.ndarray]]) -> Segment:
    """One segment of the live docs of ``parts`` ((segment, keep mask) pairs), without re-tokenising."""
    ids: list[str] = []
    lengths, vocabs, term_parts, doc_parts, tf_parts = [], [], [], [], []
    offset = 0
    for seg, keep in parts:
        terms, docs, tf = seg.triples(keep)
        vocabs.append(np.asarray(seg.vocab))
        term_parts.append((terms, len(vocabs) - 1))
        doc_parts.append(docs + offset)
        tf_parts.append(tf)
        ids.extend(str(x) for x in np.asarray(seg.ids)[keep])
        lengths.append(np.asarray(seg.lengths)[keep])
        offset += int(keep.sum())
    all_vocab = np.concatenate(vocabs) if vocabs else np.zeros(0, dtype=str)
    vocab, inverse = np.unique(all_vocab, return_inverse=True)
    starts = np.cumsum([0, *[v.size for v in vocabs]])
    terms = np.concatenate([inverse[starts[k] + t] for t, k in term_parts]) if term_parts else _EMPTY
    used = np.zeros(vocab.size, dtype=bool)
    used[terms] = True  # terms only dead docs had are dropped, as a rebuild would
    remap = np.cumsum(used) - 1
    return _csc(ids, np.concatenate(lengths) if lengths else _EMPTY, vocab[used], remap[terms],
                np.concatenate(doc_parts) if doc_parts else _EMPTY,
                np.concatenate(tf_parts) if tf_parts else _EMPTY, name)


def save(seg: Segment, folder: Path, *, before_rename: object = None) -> Path:
    """Write ``seg`` to ``folder/seg-<name>`` atomically; returns the final path."""
    final = folder / f"seg-{seg.name}"
    tmp = folder / f"tmp-{seg.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for arr in (*ARRAYS, "keys") if seg.keys is not None else ARRAYS:
        with open(tmp / f"{arr}.npy", "wb") as fh:
            np.save(fh, getattr(seg, arr), allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
    if callable(before_rename):
        before_rename()
    os.replace(tmp, final)
    return final


def load(folder: Path, name: str) -> Segment:
    """The segment ``seg-<name>`` of ``folder``, memory-mapped. Raises OSError/ValueError when damaged."""
    path = folder / f"seg-{name}"
    # plain ndarray views of the maps (no copy): slicing them skips np.memmap's per-slice bookkeeping
    arrays = {a: np.asarray(np.load(path / f"{a}.npy", mmap_mode="r", allow_pickle=False)) for a in ARRAYS}
    keys = np.asarray(np.load(path / "keys.npy", mmap_mode="r", allow_pickle=False)) if (path / "keys.npy").is_file() else None
    seg = Segment(name, **arrays, keys=keys)
    if (seg.indptr.size != seg.vocab.size + 1 or seg.lengths.size != seg.ids.size or seg.docs.size != seg.tf.size
            or (keys is not None and keys.size != seg.ids.size)):
        raise ValueError(f"segment {path} is inconsistent")
    return seg
