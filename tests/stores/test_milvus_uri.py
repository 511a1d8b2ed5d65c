"""Unit tests of the milvus:// URI parsing (no server needed)."""
from __future__ import annotations

import os

import pytest

from localkb.errors import ConfigError, UnknownBackend
from localkb.stores.milvus_store import parse_milvus_uri


@pytest.mark.parametrize(("uri", "expected"), [
    ("milvus://./kb.db", ("/kb/kb.db", "localkb", True)),
    ("milvus://kb.db?collection=docs", ("/kb/kb.db", "docs", True)),
    ("milvus:///data/x.db", ("/data/x.db", "localkb", True)),
    ("milvus://db-host:19530", ("http://db-host:19530", "localkb", False)),
    ("milvus://db-host", ("http://db-host:19530", "localkb", False)),
    ("milvus+http://10.0.0.5:19531?collection=kb_2", ("http://10.0.0.5:19531", "kb_2", False)),
    ("milvus+https://cluster.example.org", ("https://cluster.example.org:443", "localkb", False)),
    ("milvus+https://cluster.example.org:8443/prod", ("https://cluster.example.org:8443/prod", "localkb", False)),
])
def test_parse(uri, expected):
    address, collection, lite = parse_milvus_uri(uri, "/kb")
    assert (os.path.normpath(address) if lite else address, collection, lite) == expected


@pytest.mark.parametrize(("uri", "message"), [
    ("milvus://", "names no Milvus"),
    ("milvus://root:secret@host:19530", "LOCALKB_MILVUS_TOKEN"),
    ("milvus://host:19530?collection=bad-name", "collection name"),
    ("milvus://host:19530?collection=1abc", "collection name"),
    ("milvus+https://./kb.db", "plain milvus://"),
    ("milvus://host:notaport", "bad port"),
])
def test_bad_uris_are_config_errors(uri, message):
    with pytest.raises(ConfigError, match=message):
        parse_milvus_uri(uri, "/kb")


def test_misspelt_scheme_suggests_milvus():
    from localkb.stores.base import open_store

    with pytest.raises(UnknownBackend, match="Did you mean 'milvus'"):
        open_store("milvsu://./kb.db", 384)
