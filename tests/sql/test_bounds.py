"""Memory and time bombs straight through the read-only executor on a real SQLite file (the guard
bypassed): each is stopped with a clear SQLError, quickly, without a large memory spike, and the file
is byte-identical afterwards. And the guard: FETCH FIRST handled, a crashing rule is a rejection."""
from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localkb.errors import SQLError
from localkb.sql.executor import SQLDatabase
from localkb.sql.guard import Guard
from localkb.sql.rules import RULES, Violation

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sql_guard"
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_faults_server import PeakRSS  # noqa: E402 - one RSS sampler for the test and the campaign


def _bombs() -> dict[str, tuple[str, str]]:
    """name → (statement, pattern of the error that must stop it), from tests/fixtures/sql_guard/bombs/."""
    out = {}
    for path in sorted((FIXTURES / "bombs").glob("*.sql")):
        header, _, sql = path.read_text().partition("\n")
        assert header.startswith("-- stopped: "), path
        out[path.stem] = (sql.strip(), header[len("-- stopped: "):].strip())
    return out


#: statements that would allocate hundreds of MB or run for ever, and the error each must end with
BOMBS = _bombs()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SQLDatabase]]:
    import sqlite3

    path = tmp_path_factory.mktemp("bombs") / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "schema.sql").read_text())
    conn.commit()
    conn.close()
    db = SQLDatabase(str(path), timeout=3)
    yield path, db
    db.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_is_stopped_quickly_and_small(shop: tuple[Path, SQLDatabase], name: str) -> None:
    path, db = shop
    sql, message = BOMBS[name]
    before = digest(path)
    started = time.monotonic()
    with PeakRSS() as peak, pytest.raises(SQLError, match=message):
        db.run(sql)
    assert time.monotonic() - started < 3 + 2.0, name
    assert peak.growth_mb < 400, f"{name}: grew {peak.growth_mb:.0f} MB"
    assert digest(path) == before
    assert db.run("SELECT count(*) FROM customers").rows  # the connection still works afterwards


def test_fetch_first_is_capped_not_a_crash() -> None:
    guard = Guard(None, dialect="postgres", max_rows=10)
    verdict = guard.check("SELECT a FROM t ORDER BY a OFFSET 5 ROWS FETCH NEXT 50 ROWS ONLY")
    assert verdict.allowed and verdict.sql == "SELECT a FROM t ORDER BY a LIMIT 10 OFFSET 5"
    assert any("lowered" in r for r in verdict.rewrites)


def test_a_crashing_rule_is_a_rejection_with_a_reason() -> None:
    def broken(ctx: object) -> list[Violation]:
        raise KeyError("expression")

    verdict = Guard(None, rules=(*RULES, broken)).check("SELECT 1")
    assert not verdict.allowed
    assert [v.rule for v in verdict.violations] == ["guard_error"]
    assert "broken" in verdict.violations[0].message and "KeyError" in verdict.violations[0].message
