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
    fill = spider.build_filling(schemas["geography"], tmp_path / "geo.db", 0, lits, rows=(30, 60), literal_share=0.8,
                                qualified=True)
    # joined columns draw from one pool: a join on state_name finds partners
    joined = spider.run_sql(fill, "SELECT count(*) FROM city JOIN state ON city.state_name = state.state_name")
    assert joined and joined[0][0] > 0
    assert sum(bool(spider.run_sql(fill, q["query"])) for q in geo) >= len(geo) // 2


#: a tiny ATIS-like schema: two tables have a column ``name``; gold queries use aliases and joins
TINY = {"db_id": "tiny", "table_names_original": ["city", "airport_service", "airport"],
        "column_names_original": [[0, "city_code"], [0, "name"], [1, "city_code"], [1, "airport_code"],
                                  [2, "airport_code"], [2, "name"], [2, "year"]],
        "column_types": ["text", "text", "text", "text", "text", "text", "number"],
        "primary_keys": [], "foreign_keys": []}
TINY_GOLD = [
    "SELECT DISTINCT AIRPORT_SERVICE_0.airport_code FROM airport_service AS AIRPORT_SERVICE_0, city AS CITY_0 "
    "WHERE CITY_0.city_code = AIRPORT_SERVICE_0.city_code AND CITY_0.name = 'BOSTON'",
    "SELECT airport_code FROM airport WHERE year > 1990",
]


def _unseen():
    sys.path.insert(0, str(BENCH))
    try:
        import sql_unseen
    finally:
        sys.path.remove(str(BENCH))
    return sql_unseen


def test_unseen_literals_go_only_where_the_gold_query_compares_them(bench, tmp_path: Path) -> None:
    spider, _ = bench
    unseen = _unseen()
    lits = unseen.shared_literals(TINY_GOLD, TINY)
    assert "BOSTON" in lits["city.name"] and "airport.name" not in lits  # the alias CITY_0 is resolved
    assert {1990, 1991, 1989} <= set(lits["airport.year"])               # unqualified: the one table with it
    assert unseen.join_groups(TINY_GOLD, TINY) == [{"city.city_code", "airport_service.city_code"}]
    fills = [spider.build_filling(TINY, tmp_path / f"t{s}.db", s, lits, rows=(30, 40), literal_share=0.8,
                                  qualified=True) for s in range(3)]
    results = []
    for path in fills:
        conn = sqlite3.connect(path)
        city = {r[0] for r in conn.execute("SELECT name FROM city")}
        airport = {r[0] for r in conn.execute("SELECT name FROM airport")}
        assert "BOSTON" in city and "BOSTON" not in airport
        assert not city & airport and all(v.startswith("airport.name_") for v in airport)  # distinct placeholders
        conn.close()
        results.append(spider.run_sql(path, TINY_GOLD[0]))
    assert all(results)                       # the joined columns share a pool: the gold query finds rows
    boston = [spider.run_sql(p, "SELECT count(*) FROM city WHERE name = 'BOSTON'") for p in fills]
    assert len({tuple(r) for r in boston if r}) > 1  # and the fillings differ (a test suite, not copies)
    assert spider.execution_match(fills, TINY_GOLD[0], TINY_GOLD[0]) is True


def test_hidden_literals_flag_gold_queries_unanswerable_as_phrased() -> None:
    hidden = _unseen().hidden_literals
    sql = ("SELECT flight_id FROM flight, city WHERE city.name = 'NEW YORK' AND flight.departure_time > 1800 "
           "AND flight.stops = 0")
    assert hidden("nonstop flights from new york after 1800", sql) == []   # 0 is exempt ("nonstop")
    assert hidden("nonstop flights from NEWARK after 1800", sql) == ["'NEW YORK'"]
    assert hidden("flights to boston on wednesday",
                  "SELECT 1 FROM date_day WHERE day_number = 23 AND year = 1991 AND name LIKE '%boston%'") \
        == ["23", "1991"]
    assert hidden("Does Dennis Capozza teach ENVIRON 377 ?",
                  "SELECT 1 FROM c WHERE dept = 'ENVIRON' AND num = 377 AND who LIKE '%Dennis Capozza%'") == []
