"""Fixtures of the store contract suite: real MiniLM vectors once per session, one factory per backend.

Add a backend by adding a line to ``BACKENDS`` (name → function (tmp_path, request) → store URI and
``base_dir``). Every test in ``test_store_contract.py`` then runs over it, against ``exact`` as oracle.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from .sentences import QUERIES, sentences


@dataclass(frozen=True)
class Corpus:
    texts: list[str]
    ids: list[str]
    vectors: np.ndarray  # (n, 384) float32, L2-normalised
    queries: np.ndarray  # (q, 384)


@pytest.fixture(scope="session")
def corpus(embedder) -> Corpus:
    """~360 real sentences and 30 queries embedded with the packaged all-MiniLM-L6-v2 (a few seconds)."""
    texts = sentences()
    ids = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    return Corpus(texts, ids, embedder.embed(texts), embedder.embed(QUERIES))


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory) -> str:
    """A real Milvus Lite server process on 127.0.0.1 for the whole session; yields ``host:port``."""
    from tests.stores.milvus_server import milvus_lite_server

    with milvus_lite_server(tmp_path_factory.mktemp("milvus-server")) as port:
        yield f"127.0.0.1:{port}"


def _server_uri(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    address = request.getfixturevalue("milvus_server")
    return f"milvus://{address}?collection=c{uuid.uuid4().hex[:12]}"


BACKENDS: dict[str, Callable[[Path, pytest.FixtureRequest], str]] = {
    "exact": lambda tmp, req: "exact://index",
    "faiss": lambda tmp, req: "faiss://index",
    # the IVF index from the first vector on (issue 18): every contract test runs over the ANN path too
    "faiss-ivf": lambda tmp, req: "faiss://index?ann=on&nprobe=16",  # sq8 codes + exact vectors on disk
    "faiss-ivf-flat": lambda tmp, req: "faiss://index?ann=on&nprobe=16&codes=flat",
    "chroma": lambda tmp, req: "chroma://index",
    "milvus-lite": lambda tmp, req: "milvus://./kb.db",
    "milvus-server": _server_uri,
}


class StoreFactory:
    """Opens (and reopens) one store location; closes whatever it opened at teardown."""

    def __init__(self, uri: str, base_dir: Path) -> None:
        self.uri = uri
        self.base_dir = str(base_dir)
        self.opened: list = []

    def __call__(self, dim: int = 384):
        from localkb.stores.base import open_store

        store = open_store(self.uri, dim, base_dir=self.base_dir)
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            try:
                store.close()
            except Exception:  # noqa: BLE001, S110 - teardown of a store a test already closed
                pass


@pytest.fixture(params=list(BACKENDS))
def open_store(request, tmp_path):
    """A factory for the parametrised backend: ``open_store()`` opens, calling it again reopens."""
    factory = StoreFactory(BACKENDS[request.param](tmp_path, request), tmp_path)
    factory.name = request.param
    yield factory
    factory.close_all()


@pytest.fixture()
def oracle(tmp_path):
    from localkb.stores.exact import ExactStore

    return ExactStore("exact://oracle", 384, base_dir=str(tmp_path))
