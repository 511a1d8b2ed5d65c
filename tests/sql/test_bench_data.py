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


def test_unseen_split_shares_no_database_with_spider_and_joins(bench, tmp_path: Path) -> None:
    spider, sql_data = bench
    sys.path.insert(0, str(BENCH))
    try:
        import sql_unseen
    finally:
        sys.path.remove(str(BENCH))
    questions, schemas = sql_unseen.unseen_split()
    assert len(questions) == 216 and set(schemas) == set(sql_unseen.DEFOG_DBS)
    assert not set(schemas) & set(sql_data.SPIDER_DEV_DBS)
    assert sum(q["db_id"] == "atis" for q in questions) == 120
    geo = [q for q in questions if q["db_id"] == "geography"]
    lits = sql_unseen.shared_literals([q["query"] for q in geo], schemas["geography"])
    fill = spider.build_filling(schemas["geography"], tmp_path / "geo.db", 0, lits, rows=(30, 60), literal_share=0.8)
    # joined columns draw from one pool: a join on state_name finds partners
    joined = spider.run_sql(fill, "SELECT count(*) FROM city JOIN state ON city.state_name = state.state_name")
    assert joined and joined[0][0] > 0
    assert sum(bool(spider.run_sql(fill, q["query"])) for q in geo) >= len(geo) // 2
