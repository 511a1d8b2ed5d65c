"""Every .sql file in tests/fixtures/sql_guard/ against the guard: verdicts as data."""
from __future__ import annotations

from pathlib import Path

import pytest

from localkb.sql.executor import SQLDatabase
from localkb.sql.guard import Guard
from localkb.sql.schema import introspect

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sql_guard"


def _load(path: Path) -> tuple[str, list[str], str, str]:
    """(verdict, expected rules, dialect, sql) from a fixture file's header lines."""
    text = path.read_text()
    lines = text.split("\n")
    header = lines.pop(0)
    assert header.startswith("-- expect: "), path
    words = header[len("-- expect: "):].split()
    dialect = "sqlite"
    if lines and lines[0].startswith("-- dialect: "):
        dialect = lines.pop(0)[len("-- dialect: "):].strip()
    return words[0], words[1:], dialect, "\n".join(lines)


REJECTED = sorted((FIXTURES / "rejected").glob("*.sql"))
ALLOWED = sorted((FIXTURES / "allowed").glob("*.sql"))


def test_enough_fixtures() -> None:
    assert len(REJECTED) >= 100
    assert len(ALLOWED) >= 20


@pytest.fixture(scope="module")
def shop_schema(tmp_path_factory: pytest.TempPathFactory):
    import sqlite3

    path = tmp_path_factory.mktemp("guard") / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "schema.sql").read_text())
    conn.commit()
    conn.close()
    db = SQLDatabase(str(path))
    yield db, introspect(db)
    db.close()


@pytest.mark.parametrize("path", REJECTED, ids=lambda p: p.stem)
def test_rejected(path: Path, shop_schema) -> None:
    verdict_word, rules, dialect, sql = _load(path)
    assert verdict_word == "reject"
    _, schema = shop_schema
    verdict = Guard(schema, dialect=dialect).check(sql)
    assert not verdict.allowed, f"{path.name} was allowed as {verdict.sql!r}"
    assert verdict.sql is None
    reported = {v.rule for v in verdict.violations}
    assert set(rules) <= reported, f"{path.name}: expected {rules}, got {verdict.to_dict()['violations']}"
    assert all(v.message for v in verdict.violations)


@pytest.mark.parametrize("path", ALLOWED, ids=lambda p: p.stem)
def test_allowed_and_runs(path: Path, shop_schema) -> None:
    verdict_word, _, dialect, sql = _load(path)
    assert verdict_word == "allow"
    db, schema = shop_schema
    verdict = Guard(schema, dialect=dialect, max_rows=50).check(sql)
    assert verdict.allowed, verdict.to_dict()
    assert verdict.sql and "LIMIT" in verdict.sql.upper()
    result = db.run(verdict.sql)  # the re-generated SQL really runs on the real database
    assert len(result.rows) <= 50
