"""The benchmark's data and scoring: Chinook from its package, Spider fillings, execution and exact-set match."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    try:
        import spider
        import sql_data
    finally:
        sys.path.remove(str(BENCH))
    return spider, sql_data


def test_chinook_is_complete(chinook_db: Path) -> None:
    conn = sqlite3.connect(chinook_db)
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
        "album", "artist", "customer", "employee", "genre", "invoice", "invoice_line", "media_type", "playlist",
        "playlist_track", "track")}
    assert sum(counts.values()) == 15607 and counts["track"] == 3503
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("SELECT count(*) FROM customer WHERE country = 'Canada'").fetchone() == (8,)


def test_spider_fillings_and_scoring(bench, tmp_path: Path) -> None:
    spider, sql_data = bench
    questions, schemas = sql_data.spider_dev(("concert_singer",))
    assert len(questions) == 45
    lits = spider.literals_by_column([q["query"] for q in questions])
    fills = [spider.build_filling(schemas["concert_singer"], tmp_path / f"f{s}.db", s, lits) for s in range(3)]
    for f in fills:  # keys hold: every foreign key points at an existing row
        conn = sqlite3.connect(f)
        conn.execute("PRAGMA foreign_keys = ON")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM singer").fetchone()[0] >= 4
    gold = "SELECT count(*) FROM singer WHERE country = 'France'"
    assert spider.execution_match(fills, gold, "select COUNT(*) from singer where Country = 'France'")
    assert not spider.execution_match(fills, gold, "SELECT count(*) FROM singer")
    assert not spider.execution_match(fills, gold, None)
    assert not spider.execution_match(fills, gold, "SELECT nonsense FROM nowhere")
    for q in questions:  # every gold query runs and matches itself
        assert spider.execution_match(fills, q["query"], q["query"]) is True
        assert spider.exact_set_match(q["query"], q["query"])
    assert spider.exact_set_match("SELECT name FROM singer WHERE age > 20",
                                  "SELECT T1.name FROM singer AS T1 WHERE T1.age > 30 LIMIT 10000")
    assert not spider.exact_set_match("SELECT name FROM singer WHERE age > 20", "SELECT name FROM singer")
