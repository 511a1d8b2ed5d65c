"""Checks on a result that ran but looks wrong; the agent feeds the first problem back to the model once.

* an empty result although the question names a value the database stores, and the SQL does not use
  that exact spelling;
* a join without a condition (a cartesian product) when the query has no WHERE either.

Column type mismatches are not checked: SQLite compares '2019' and 2019 by affinity, so the same
query is right on one engine and wrong on another, and no reliable signal came out of the result.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlglot.errors import SqlglotError

from .executor import QueryResult
from .values import ValueMatch


def result_problem(sql: str, result: QueryResult, links: Sequence[ValueMatch], dialect: str) -> str | None:
    """The problem to feed back, or None when the result looks plausible."""
    if not result.rows and links:
        missing = [m for m in links if m.score >= 88 and f"'{m.value}'" not in sql.replace("''", "'")]
        if missing:
            named = ", ".join(f"{m.table}.{m.column} = '{m.value}'" for m in missing[:3])
            return (f"The query returned no rows, but the database stores {named}: compare with that exact "
                    "stored value.")
    if cartesian(sql, dialect):
        return ("The query joins tables without a join condition (a cartesian product): join on the "
                "foreign keys shown in the schema.")
    return None


def cartesian(sql: str, dialect: str) -> bool:
    """A SELECT that joins two or more tables with no ON/USING and has no WHERE clause at all."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except SqlglotError:
        return False
    for select in tree.find_all(exp.Select):
        joins = select.args.get("joins") or []
        # sqlglot parses "FROM a, b" as a CROSS join too: both are flagged, when nothing filters them
        # and a JOIN without ON as "ON TRUE"
        bare = [j for j in joins if not j.args.get("using")
                and (not j.args.get("on") or isinstance(j.args["on"], exp.Boolean))]
        if bare and select.args.get("where") is None:
            return True
    return False
