"""Immutable BM25 segments: term → (doc, tf) postings of a batch of chunks, stored as plain ``.npy`` files.

A segment holds raw term frequencies and document lengths, never precomputed scores, so the BM25
statistics (live document count, average length, document frequency) are taken over all live segments at
query time: the scores of many segments plus tombstones equal those of one segment built from scratch.

Layout of ``seg-<name>/``: ``ids.npy`` (chunk ids, unicode), ``lengths.npy`` (int32 tokens per chunk),
``vocab.npy`` (sorted unicode terms), ``indptr.npy`` (int64, len(vocab) + 1), ``docs.npy`` (int32 local
doc index per posting), ``tf.npy`` (int32). Loaded memory-mapped (``mmap_mode="r"``): the postings stay
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

    def triples(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term, new local doc, tf) of the docs where ``keep`` is True, docs renumbered densely."""
        new_index = np.cumsum(keep) - 1
        terms = np.repeat(np.arange(self.vocab.size), np.diff(self.indptr))
        docs = np.asarray(self.docs)
        live = keep[docs]
        return terms[live], new_index[docs[live]], np.asarray(self.tf)[live]


_EMPTY = np.zeros(0, dtype=np.int32)


def _csc(ids: Sequence[str], lengths: np.ndarray, vocab: np.ndarray, terms: np.ndarray, docs: np.ndarray,
         tf: np.ndarray, name: str) -> Segment:
    """Sort (term, doc, tf) postings into a segment (``terms`` index into ``vocab``)."""
    order = np.lexsort((docs, terms))
    terms, docs, tf = terms[order], docs[order], tf[order]
    indptr = np.zeros(vocab.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=vocab.size), out=indptr[1:])
    return Segment(name, np.array(list(ids), dtype=str), lengths.astype(np.int32), vocab,
                   indptr, docs.astype(np.int32), tf.astype(np.int32))


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
    for arr in ARRAYS:
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
    seg = Segment(name, **arrays)
    if seg.indptr.size != seg.vocab.size + 1 or seg.lengths.size != seg.ids.size or seg.docs.size != seg.tf.size:
        raise ValueError(f"segment {path} is inconsistent")
    return seg
