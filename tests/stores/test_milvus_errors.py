"""Milvus failures are one clear StoreError, fast, and nothing is written: refused connection, wrong token,
a collection made by another tool, another dimension, a Milvus Lite file held by another process."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from localkb.errors import StoreError
from localkb.stores.base import open_store
from tests.conftest import LOCALKB

from ..procs import free_port
from .milvus_server import milvus_lite_server


def test_connection_refused_fails_fast():
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(StoreError, match=f"Cannot connect to Milvus at http://127.0.0.1:{port}"):
        open_store(f"milvus://127.0.0.1:{port}", 384)
    assert time.monotonic() - started < 10


def test_wrong_token_is_an_auth_error_and_writes_nothing(tmp_path, monkeypatch):
    with milvus_lite_server(tmp_path / "secured", token="root:Milvus") as port:
        uri = f"milvus://127.0.0.1:{port}?collection=docs"
        monkeypatch.delenv("LOCALKB_MILVUS_TOKEN", raising=False)
        with pytest.raises(StoreError, match="refused the credentials"):
            open_store(uri, 384)
        monkeypatch.setenv("LOCALKB_MILVUS_TOKEN", "root:wrong")
        started = time.monotonic()
        with pytest.raises(StoreError, match="LOCALKB_MILVUS_TOKEN"):
            open_store(uri, 384)
        assert time.monotonic() - started < 10
        monkeypatch.setenv("LOCALKB_MILVUS_TOKEN", "root:Milvus")
        from pymilvus import MilvusClient

        raw = MilvusClient(uri=f"http://127.0.0.1:{port}", token="root:Milvus")
        assert raw.list_collections() == []  # the refused attempts created nothing
        raw.close()
        store = open_store(uri, 4)  # the right token works
        store.add(["a" * 64], np.array([[1, 0, 0, 0]], dtype=np.float32))
        assert [h.id for h in store.search(np.array([1, 0, 0, 0], dtype=np.float32), 3)] == ["a" * 64]
        store.close()


def _foreign_collection(address: str, name: str, dim: int) -> None:
    from pymilvus import DataType, MilvusClient

    client = MilvusClient(uri=f"http://{address}")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=dim)
    index = client.prepare_index_params()
    index.add_index(field_name="embedding", index_type="AUTOINDEX", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
    client.load_collection(name)
    client.insert(name, [{"pk": i, "embedding": [float(i)] * dim} for i in range(3)])
    client.close()


def _count(address: str, name: str) -> int:
    from pymilvus import MilvusClient

    client = MilvusClient(uri=f"http://{address}")
    try:
        return int(client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"])
    finally:
        client.close()


def test_collection_of_another_tool_is_refused(milvus_address):
    _foreign_collection(milvus_address, "their_docs", 768)
    with pytest.raises(StoreError, match="not created by localkb.*refusing to write"):
        open_store(f"milvus://{milvus_address}?collection=their_docs", 384)
    assert _count(milvus_address, "their_docs") == 3


def test_other_dimension_is_refused_before_writing(milvus_address):
    uri = f"milvus://{milvus_address}?collection=kb384"
    store = open_store(uri, 384)
    store.add(["b" * 64], np.ones((1, 384), dtype=np.float32))
    store.close()
    with pytest.raises(StoreError, match="holds 384-d vectors, expected 768; nothing was written"):
        open_store(uri, 768)
    again = open_store(uri, 384)
    assert again.count() == 1
    again.close()


def _hold_lite_file(tmp_path) -> subprocess.Popen[str]:
    """A real second process that opens the KB's Milvus Lite file and keeps it until its stdin closes."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from localkb.stores.base import open_store
            store = open_store("milvus://./kb.db", 384, base_dir={str(tmp_path)!r})
            print("ready", flush=True)
            sys.stdin.read()
            store.close()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    return holder


def test_lite_file_held_by_another_process_is_refused_after_lock_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALKB_LOCK_TIMEOUT", "1")
    holder = _hold_lite_file(tmp_path)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="in use by another process"):
            open_store("milvus://./kb.db", 384, base_dir=str(tmp_path))
        assert 1 <= time.monotonic() - started < 20  # it waited for the holder, then gave up
    finally:
        holder.communicate("", timeout=30)
    store = open_store("milvus://./kb.db", 384, base_dir=str(tmp_path))  # free again once released
    assert store.count() == 0
    store.close()


def test_lite_file_released_while_waiting_is_opened(tmp_path):
    """milvus-lite 3.2 swallows its DataDirLockedError (pymilvus only says "Open local milvus failed"):
    the wait must not depend on that exception reaching us, or a second writer fails at random."""
    holder = _hold_lite_file(tmp_path)
    releaser = threading.Timer(2.0, lambda: holder.communicate("", timeout=30))
    releaser.start()
    try:
        started = time.monotonic()
        store = open_store("milvus://./kb.db", 384, base_dir=str(tmp_path))
        waited = time.monotonic() - started
    finally:
        releaser.join()
    assert holder.returncode == 0
    assert waited >= 1.5  # it did wait for the holder, and then opened the file
    store.add(["a" * 64], np.ones((1, 384), dtype=np.float32))
    assert store.count() == 1
    store.close()


def test_cli_prints_one_line_for_a_refused_connection(source_kb, tmp_path):
    port = free_port()
    out = tmp_path / "kb-server"
    proc = subprocess.run(
        [LOCALKB, "migrate", "--kb", str(source_kb), "--to", f"milvus://127.0.0.1:{port}", "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        (f"Error: Cannot connect to Milvus at http://127.0.0.1:{port}: Fail connecting to server on "
         f"127.0.0.1:{port}, illegal connection params or server unavailable")]
    assert not out.exists()  # nothing left behind
