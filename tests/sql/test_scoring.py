"""The two declared scores of text-to-SQL answers, on fixed rows and on a real SQLite database.

*Strict* execution accuracy compares rows as they are; *relaxed* (``scoring.relaxed_match``) also
accepts a prediction whose result holds the gold columns as a projection.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from localkb.sql.scoring import execution_match, projection_equal, relaxed_match


def test_projection_forgives_extra_columns_only() -> None:
    gold = [(1,), (2,), (2,)]
    assert projection_equal(gold, [("a", 1), ("b", 2), ("c", 2)])          # an extra column
    assert projection_equal(gold, [(2, "b"), (1, "a"), (2, "c")])          # any row order without ORDER BY
    assert not projection_equal(gold, [("a", 1), ("b", 2)])                # a row missing
    assert not projection_equal(gold, [("a", 1), ("b", 2), ("c", 2), ("d", 3)])  # a row too many
    assert not projection_equal(gold, [("a", 1), ("b", 2), ("c", 3)])      # another value
    assert not projection_equal([(1, "x")], [(1,)])                        # a gold column missing
    assert projection_equal([], []) and not projection_equal([], [(1,)]) and not projection_equal([(1,)], [])


def test_projection_keeps_gold_column_order_and_pairs_columns_by_row() -> None:
    gold = [("ann", 30), ("bob", 40)]
    assert projection_equal(gold, [(40, "bob", "x"), (30, "ann", "y")])    # columns found in another order
    # each column's values appear, but not paired as in the gold rows: not a projection
    assert not projection_equal(gold, [("ann", 40), ("bob", 30)])


def test_projection_order_and_distinct() -> None:
    gold = [(1,), (2,)]
    assert not projection_equal(gold, [(2, "b"), (1, "a")], ordered=True)
    assert projection_equal(gold, [(1, "a"), (2, "b")], ordered=True)
    # SELECT DISTINCT: an extra column may split a gold row; duplicates are dropped first
    assert projection_equal(gold, [(1, "a"), (1, "b"), (2, "c")], distinct=True)
    assert not projection_equal(gold, [(1, "a"), (1, "b"), (2, "c")])
    assert projection_equal([(1.00004,)], [(1.0, "x")])                    # floats rounded to 4 places
    # a gold query that names one column twice (Advising: "workload, workload") needs it once
    assert projection_equal([("a", 3, 3), ("b", 4, 4)], [("a", 3), ("b", 4)])


def test_relaxed_and_strict_side_by_side_on_real_sqlite(tmp_path: Path) -> None:
    fillings = []
    for i, rows in enumerate(([(1, "BOSTON", "AA"), (2, "DENVER", "UA")],
                              [(1, "BOSTON", "UA"), (2, "BOSTON", "AA"), (3, "MIAMI", "AA")])):
        path = tmp_path / f"f{i}.db"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE flight (flight_id INTEGER, city TEXT, airline TEXT)")
        conn.executemany("INSERT INTO flight VALUES (?, ?, ?)", rows)
        conn.commit()
        conn.close()
        fillings.append(path)

    def runner(path: Path):
        def run(sql: str):
            conn = sqlite3.connect(path)
            try:
                return conn.execute(sql).fetchall()
            except sqlite3.Error:
                return None
            finally:
                conn.close()
        return run

    runs = [runner(p) for p in fillings]
    gold = "SELECT DISTINCT flight_id FROM flight WHERE city = 'BOSTON'"
    with_names = "SELECT flight_id, airline FROM flight WHERE city = 'BOSTON'"
    assert execution_match(runs, gold, with_names) is False                # strict: the extra column counts
    assert relaxed_match(runs, gold, with_names) is True
    assert relaxed_match(runs, gold, "SELECT airline FROM flight WHERE city = 'BOSTON'") is False
    assert relaxed_match(runs, gold, "SELECT flight_id FROM flight") is False  # right on no filling
    assert relaxed_match(runs, gold, None) is False and relaxed_match(runs, gold, "SELEC nonsense") is False
    assert relaxed_match(runs, "SELECT nothing FROM nowhere", with_names) is None  # gold runs nowhere
    for sql in (gold, with_names):  # strict implies relaxed
        assert relaxed_match(runs, sql, sql) is True and execution_match(runs, sql, sql) is True
    ordered = "SELECT flight_id FROM flight ORDER BY flight_id DESC"
    assert relaxed_match(runs, ordered, "SELECT flight_id, city FROM flight ORDER BY flight_id DESC") is True
    assert relaxed_match(runs, ordered, "SELECT flight_id, city FROM flight ORDER BY flight_id") is False
