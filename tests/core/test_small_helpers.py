"""The shared helpers for error hints (``localkb.suggest``) and atomic state files (``localkb.disk``)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from localkb.disk import write_json, write_text
from localkb.suggest import close_matches, did_you_mean


def test_did_you_mean_reads_the_same_everywhere() -> None:
    assert did_you_mean("chorma", ["chroma", "faiss", "milvus"]) == " Did you mean 'chroma'?"
    assert did_you_mean("zzz", ["chroma", "faiss"]) == ""
    assert did_you_mean("Nmae", ["name", "names"], n=2, ignore_case=True) == " Did you mean 'name' or 'names'?"
    assert did_you_mean("tem", ["team"], prefix="meta.") == " Did you mean 'meta.team'?"
    assert close_matches("CUSTOMER", ["Customers", "orders"], ignore_case=True) == ["Customers"]


def test_disk_json_replaces_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old", encoding="utf-8")
    write_json(target, {"名": "IBE"}, indent=2)
    assert json.loads(target.read_text(encoding="utf-8")) == {"名": "IBE"}
    write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "new"
    assert sorted(os.listdir(tmp_path)) == ["state.json"]


def test_disk_write_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_json(target, {"v": 1})
    with pytest.raises(TypeError):
        write_json(target, {"v": object()})  # not serialisable: fails before anything is written
    assert json.loads(target.read_text()) == {"v": 1} and sorted(os.listdir(tmp_path)) == ["state.json"]
