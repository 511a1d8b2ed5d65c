"""Milvus through pymilvus's ``MilvusClient``: Milvus Lite embedded, or a Milvus server / cluster.

URIs (the same calls for all of them; only the address differs)::

    milvus://./kb.db                    Milvus Lite, embedded; the path is relative to the KB folder
    milvus:///abs/path/kb.db            Milvus Lite at an absolute path
    milvus://host:19530                 a Milvus server or cluster over plain gRPC (milvus+http:// too)
    milvus+https://host:443             the same over TLS
    ...?collection=NAME                 the collection to use (default ``localkb``); one per KB on a server

The token (``user:password`` or an API key) comes from ``LOCALKB_MILVUS_TOKEN`` (or ``milvus_token`` in
localkb.toml), never from the URI, so it is not written into the KB's manifest.

Schema: ``id`` VARCHAR(64) primary key (the chunk's content hash), ``vector`` FLOAT_VECTOR(dim), a COSINE
``AUTOINDEX`` (HNSW on a cluster), so ``score`` = cosine similarity like every other store. The collection
carries the properties ``localkb.owner`` and ``localkb.dim``: a collection made by another tool, or with
another dimension, is refused before anything is written.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import numpy as np

from ..errors import ConfigError, StoreError
from .base import VectorHit, as_matrix, gather_vectors, split_uri, store_path

if TYPE_CHECKING:
    from ..settings import Settings

DEFAULT_COLLECTION = "localkb"
OWNER = "localkb"
#: rows per upsert call (a 384-d row is ~1.6 KB: 2,000 rows stay far below gRPC's message limit)
WRITE_BATCH = 2_000
#: ids per ``id in [...]`` filter expression; larger allow-lists are searched in parts and merged
FILTER_BATCH = 4_096
#: Milvus refuses a larger top-k
MAX_TOPK = 16_384
T = TypeVar("T")

_lite_lock = threading.Lock()
_lite_users: dict[str, int] = {}


def parse_milvus_uri(uri: str, base_dir: str | None) -> tuple[str, str, bool]:
    """``(address for MilvusClient, collection name, is_lite)`` for a localkb milvus URI."""
    scheme, rest = split_uri(uri)
    rest, _, query = rest.partition("?")
    params = parse_qs(query)
    collection = params.get("collection", [DEFAULT_COLLECTION])[0]
    if not collection.replace("_", "a").isalnum() or collection[0].isdigit():
        raise ConfigError(f"Invalid Milvus collection name '{collection}' (letters, digits and _ only).")
    if not rest:
        raise ConfigError(f"Store URI '{uri}' names no Milvus server or file (e.g. milvus://./kb.db).")
    if rest.endswith(".db"):
        if scheme != "milvus":
            raise ConfigError(f"'{uri}': a Milvus Lite file takes the plain milvus:// scheme.")
        return store_path(rest, base_dir), collection, True
    parts = urlsplit("//" + rest)
    if not parts.hostname:
        raise ConfigError(f"Store URI '{uri}' has no host (e.g. milvus://localhost:19530).")
    if parts.username or parts.password:
        raise ConfigError("Do not put credentials in the store URI: set LOCALKB_MILVUS_TOKEN instead.")
    try:
        port = parts.port or (443 if scheme == "milvus+https" else 19530)
    except ValueError as exc:
        raise ConfigError(f"Store URI '{uri}' has a bad port.") from exc
    tls = "https" if scheme == "milvus+https" else "http"
    db_name = parts.path.strip("/")
    address = f"{tls}://{parts.hostname}:{port}" + (f"/{db_name}" if db_name else "")
    return address, collection, False


def _lite_locked(exc: BaseException, data_dir: str) -> bool:
    """Did Milvus Lite refuse because another process holds its data folder's lock?

    Older milvus-lite raised ``DataDirLockedError`` through pymilvus; 3.2 logs it and pymilvus raises a
    bare "Open local milvus failed", so the folder's ``LOCK`` file is also asked directly.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == "DataDirLockedError" or "holds the lock" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return _lite_folder_locked(data_dir)


def _lite_folder_locked(data_dir: str) -> bool:
    """Does another process hold the lock Milvus Lite takes on ``data_dir/LOCK`` (``flock``, exclusive)?"""
    lock_path = os.path.join(data_dir, "LOCK")
    if not os.path.isfile(lock_path):
        return False
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: Milvus Lite does not run there
        return False
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _message(exc: BaseException) -> str:
    return str(getattr(exc, "message", "") or exc).strip() or type(exc).__name__


def _auth_failure(exc: BaseException) -> str | None:
    """Did the server refuse the credentials? pymilvus wraps the gRPC error of a refused connect into a
    generic "Fail connecting" MilvusException, so look down the chain of causes."""
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:  # pymilvus does ``raise e from e``
        visited.add(id(seen))
        code = getattr(seen, "code", None)
        name = getattr(code() if callable(code) else code, "name", "")
        details = getattr(seen, "details", None)
        text = (str(details() if callable(details) else "") + " " + _message(seen)).lower()
        if name == "UNAUTHENTICATED" or any(w in text for w in ("auth", "credential", "password", "api key")):
            return text.strip()
        seen = seen.__cause__ or seen.__context__
    return None


class MilvusStore:
    """A ``VectorStore`` over one Milvus collection (see the module docstring for URIs)."""

    supports_filters = True

    def __init__(self, uri: str, dim: int, base_dir: str | None = None, settings: Settings | None = None) -> None:
        from ..settings import current

        self._settings = current(settings)
        try:
            import pymilvus
        except ImportError as exc:  # pragma: no cover - the registry reports it first
            raise StoreError("Milvus needs: pip install 'localkb[milvus]'") from exc
        # pymilvus logs every failed RPC with a traceback on stderr; we translate errors ourselves.
        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
        self._pm = pymilvus
        self.uri = uri
        self.dim = dim
        self.address, self.collection, self.lite = parse_milvus_uri(uri, base_dir)
        if self.lite:  # the embedded server runs in this process and logs calls it does not implement
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
            # it logs a traceback when another process holds the file; we wait for it or say so ourselves
            logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)
        self._timeout = self._settings.milvus_timeout or 30.0
        self._client: Any = None
        self._released = False
        self._dirty = False
        if self.lite:
            os.makedirs(os.path.dirname(self.address) or ".", exist_ok=True)
            with _lite_lock:
                _lite_users[self.address] = _lite_users.get(self.address, 0) + 1
        try:
            self._client = self._connect_waiting()
            self._ensure_collection()
        except BaseException:
            self.close()
            raise

    # -- opening ------------------------------------------------------------------------------
    def _connect_waiting(self) -> Any:
        """Connect; for Milvus Lite, wait (up to ``lock_timeout``) while another process holds its file.

        The KB's write lock is released a moment before the previous writer closes Milvus Lite, so the
        next writer would otherwise find the file still locked and fail.
        """
        deadline = time.monotonic() + self._settings.lock_timeout
        while True:
            try:
                return self._connect()
            except StoreError as exc:
                if not (self.lite and _lite_locked(exc, self.address)) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def _connect(self) -> Any:
        token = self._settings.milvus_token or ""
        where = f"Milvus Lite file {self.address}" if self.lite else f"Milvus at {self.address}"
        try:
            # Own channel per store (a shared one broken by another user would be reused), and no
            # keepalive pings while idle: Milvus Lite's gRPC server answers them with GOAWAY
            # "too_many_pings"; a channel that went idle simply reconnects on the next call.
            client = self._pm.MilvusClient(
                uri=self.address, token=token, timeout=self._timeout, dedicated=True,
                grpc_options={"grpc.keepalive_permit_without_calls": False})
            client.list_collections(timeout=self._timeout)  # fails fast on a bad token
            return client
        except Exception as exc:
            text = _message(exc)
            if self.lite and "open local milvus failed" in text.lower():
                raise StoreError(f"Cannot open {where}: it is missing, not a Milvus Lite folder, or in use "
                                 f"by another process.", uri=self.uri) from exc
            refused = _auth_failure(exc)
            if refused is not None:
                raise StoreError(f"{where} refused the credentials (check LOCALKB_MILVUS_TOKEN): {refused}",
                                 uri=self.uri) from exc
            raise StoreError(f"Cannot connect to {where}: {text}", uri=self.uri) from exc

    def _ensure_collection(self) -> None:
        name = self.collection
        if self._call(lambda: self._client.has_collection(name, timeout=self._timeout), "check collection"):
            info = self._call(lambda: self._client.describe_collection(name, timeout=self._timeout),
                              "describe collection")
            self._check_schema(info)
        else:
            pm = self._pm
            schema = pm.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", pm.DataType.VARCHAR, is_primary=True, max_length=64)
            schema.add_field("vector", pm.DataType.FLOAT_VECTOR, dim=self.dim)
            index = self._client.prepare_index_params()
            index.add_index(field_name="vector", index_type="AUTOINDEX", metric_type="COSINE")
            self._call(lambda: self._client.create_collection(
                name, schema=schema, index_params=index, consistency_level="Strong",
                properties={"localkb.owner": OWNER, "localkb.dim": str(self.dim)}, timeout=self._timeout),
                "create collection")
        self._call(lambda: self._client.load_collection(name, timeout=self._timeout), "load collection")

    def _check_schema(self, info: dict[str, Any]) -> None:
        where = f"Milvus collection '{self.collection}' at {self.address}"
        props = info.get("properties") or {}
        fields = {f["name"]: f for f in info.get("fields", [])}
        vector = fields.get("vector")
        dim = int((vector or {}).get("params", {}).get("dim", 0) or 0)
        pk = fields.get("id")
        if props.get("localkb.owner") != OWNER or not pk or not pk.get("is_primary") or vector is None:
            found = f"{dim}-d vectors" if dim else "no 'vector' field"
            raise StoreError(f"{where} was not created by localkb ({found}, fields: {', '.join(fields)}); "
                             f"refusing to write to it. Use another collection: ?collection=NAME.",
                             uri=self.uri)
        if dim != self.dim:
            raise StoreError(f"{where} holds {dim}-d vectors, expected {self.dim}; nothing was written.",
                             uri=self.uri)

    def _call(self, fn: Callable[[], T], what: str) -> T:
        try:
            return fn()
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"Milvus {what} failed ({self.address}): {_message(exc)}", uri=self.uri) from exc

    # -- the Protocol -------------------------------------------------------------------------
    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        if not len(ids):
            return
        arr = as_matrix(vectors, self.dim, rows=len(ids))
        for start in range(0, len(ids), WRITE_BATCH):
            rows = [{"id": cid, "vector": vec} for cid, vec in
                    zip(ids[start:start + WRITE_BATCH], arr[start:start + WRITE_BATCH].tolist())]
            self._call(partial(self._client.upsert, self.collection, rows, timeout=self._timeout), "upsert")
            self._dirty = True

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None = None) -> list[VectorHit]:
        if k <= 0:
            return []
        query = as_matrix(vector, self.dim)[0].tolist()
        k = min(k, MAX_TOPK)
        if allowed is None:
            return self._search(query, k, "")
        ids = sorted(allowed)
        hits: list[VectorHit] = []
        for start in range(0, len(ids), FILTER_BATCH):
            part = ids[start:start + FILTER_BATCH]
            hits += self._search(query, min(k, len(part)), "id in " + json.dumps(part))
        # the global top k is inside the union of each part's top k
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:k]

    def _search(self, query: list[float], k: int, expr: str) -> list[VectorHit]:
        res = self._call(lambda: self._client.search(
            self.collection, data=[query], limit=k, filter=expr, output_fields=[],
            search_params={"metric_type": "COSINE"}, timeout=self._timeout), "search")
        return [VectorHit(str(hit["id"]), float(hit["distance"])) for hit in res[0]]

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), WRITE_BATCH):
            part = list(ids[start:start + WRITE_BATCH])
            self._call(partial(self._client.delete, self.collection, ids=part, timeout=self._timeout), "delete")
            self._dirty = True

    def describe(self) -> dict[str, Any]:
        """The collection's index as created here (``AUTOINDEX``: Milvus picks it; Lite searches flat)."""
        return {"kind": "Milvus AUTOINDEX, cosine"}

    def count(self) -> int:
        rows = self._call(lambda: self._client.query(
            self.collection, filter="", output_fields=["count(*)"], timeout=self._timeout), "count")
        return int(rows[0]["count(*)"]) if rows else 0

    def ids(self) -> set[str]:
        out: set[str] = set()

        def scan() -> None:
            it = self._client.query_iterator(self.collection, batch_size=5_000, filter="",
                                             output_fields=["id"], timeout=self._timeout)
            try:
                while batch := it.next():
                    out.update(str(row["id"]) for row in batch)
            finally:
                it.close()

        self._call(scan, "list ids")
        return out

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of ``ids``, in that order (float32 ``(len(ids), dim)``).

        Raises:
            StoreError: an id is not in the store.
        """
        def pairs() -> Iterator[tuple[str, Sequence[float]]]:
            for start in range(0, len(ids), WRITE_BATCH):
                part = list(ids[start:start + WRITE_BATCH])
                rows = self._call(partial(self._client.get, self.collection, ids=part, output_fields=["vector"],
                                          timeout=self._timeout), "get vectors")
                yield from ((str(row["id"]), row["vector"]) for row in rows)

        return gather_vectors(ids, self.dim, pairs(), f"Milvus collection '{self.collection}' ({self.uri})")

    def flush(self) -> None:
        """Seal what was written into segments (Milvus has already acknowledged every write durably in
        its log; this makes reopening fast). Nothing to do after reads only."""
        if self._client is not None and self._dirty:
            self._call(lambda: self._client.flush(self.collection, timeout=self._timeout), "flush")
            self._dirty = False

    def reload(self) -> None:
        """Nothing to re-read: every call asks the Milvus engine, which holds the only copy of the vectors
        (Milvus Lite additionally locks its file, so no second process can write it meanwhile)."""

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            if self._dirty:
                try:
                    client.flush(self.collection, timeout=self._timeout)
                except Exception:  # noqa: BLE001, S110 - closing must not fail; the writes are in Milvus's log
                    pass
            client.close()
        if self.lite and not self._released:
            self._released = True
            self._release_lite()

    def _release_lite(self) -> None:
        """Stop the in-process Milvus Lite server when its last user closes, releasing the folder lock."""
        with _lite_lock:
            users = _lite_users.get(self.address, 0) - 1
            if users > 0:
                _lite_users[self.address] = users
                return
            _lite_users.pop(self.address, None)
        try:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.address)
        except ImportError:  # pragma: no cover
            pass
