"""The server/SQL fault campaign (benchmarks/bench_faults_server.py) with small bounds: schemathesis
against the real ``localkb serve``, mutated guard fixtures and bombs through the real executor on a real
SQLite file, and cross-site attacks from another local port in Debian's Chromium."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_faults_server as campaign  # noqa: E402


def test_api_fuzz_finds_no_5xx_and_no_schema_violation(tmp_path: Path) -> None:
    pytest.importorskip("schemathesis")
    result = campaign.api_fuzz(tmp_path, examples=3, seconds=30)
    assert result["operations"] >= 15 and result["test_cases"] > 50, result
    assert result["server_errors"] == 0 and result["schema_violations"] == 0, result["failures"]
    assert result["tracebacks_in_log"] == 0


def test_guard_fuzz_no_write_and_every_bomb_stopped(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    conn = sqlite3.connect(db)
    conn.executescript((campaign.GUARD_FIXTURES / "schema.sql").read_text())
    conn.commit()
    conn.close()
    result = campaign.guard_fuzz(tmp_path, rounds=1, limit=400, database=db)
    assert result["statements"] >= 300
    assert result["writes"] == 0 and result["crashes"] == 0 and result["extra_files"] == [], result
    assert result["bombs_stopped"] == result["bombs"] >= 9, result
    assert result["worst_seconds"] < 6 and result["bomb_worst_seconds"] < 6
    assert result["worst_rss_mb"] < 400 and result["bomb_worst_rss_mb"] < 400


@pytest.mark.slow
@pytest.mark.skipif(not Path(campaign.CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_cross_site_pages_get_nothing_accepted(tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api")
    result = campaign.cross_site(tmp_path)
    assert result["requests"] >= 8, result  # the attacks really reached the server…
    assert result["accepted"] == 0, result["accepted_examples"]  # …and none was accepted
    assert result["rebind_page_status"] == 403
    assert result["documents_after"] == result["documents_before"] == 2 and result["uploads"] == []


def test_executor_fuzz_on_postgresql_writes_nothing() -> None:
    result = campaign.guard_fuzz_postgres(rounds=1, limit=250)
    if result is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    assert result["statements"] == 250 and result["writes"] == 0 and result["crashes"] == 0, result
    assert result["worst_seconds"] < 6
