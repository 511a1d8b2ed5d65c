"""The SQL guard: parse with sqlglot, apply every rule, enforce the row limit.

What runs is what was checked: an allowed statement is re-generated from the parsed tree (comments
dropped, LIMIT added or lowered), so the engine never sees text the parser read differently.
The guard is the first wall; the read-only connection (``executor.py``) is the second.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import SQLRejected
from .rules import RULES, Context, Rule, Violation
from .schema import Schema

#: longer statements are refused before parsing (no one writes a 20 kB question's SQL by hand)
MAX_SQL_CHARS = 20_000


@dataclass(frozen=True)
class Verdict:
    """The guard's answer. ``sql`` is the statement to run (set only when ``allowed``)."""

    allowed: bool
    violations: list[Violation]
    original: str
    sql: str | None = None
    rewrites: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "violations": [v.to_dict() for v in self.violations],
                "sql": self.sql, "rewrites": self.rewrites}

    def raise_for_rejection(self) -> None:
        """Raise :class:`SQLRejected` listing every violation if the statement was refused."""
        if not self.allowed:
            reasons = "; ".join(v.message for v in self.violations)
            raise SQLRejected(f"SQL rejected: {reasons}", violations=[v.to_dict() for v in self.violations])


class Guard:
    """Checks one SQL text against ``rules`` and a schema.

    Args:
        schema: the database's schema; ``None`` skips the table/column rules.
        dialect: sqlglot dialect to parse and generate (defaults to the schema's).
        max_rows: the LIMIT every allowed statement ends up with (at most).
        rules: the rule tuple (default :data:`localkb.sql.rules.RULES`).
    """

    def __init__(self, schema: Schema | None = None, *, dialect: str | None = None, max_rows: int = 1000,
                 rules: Sequence[Rule] = RULES) -> None:
        self.schema = schema
        self.dialect = dialect or (schema.dialect if schema else "sqlite")
        self.max_rows = int(max_rows)
        self.rules = tuple(rules)

    def check(self, sql: str) -> Verdict:
        """Return the verdict on ``sql``: allowed or not, with every violation found."""
        text = sql or ""
        if not text.strip():
            return Verdict(False, [Violation("single_statement", "There is no SQL statement.")], text)
        if len(text) > MAX_SQL_CHARS:
            return Verdict(False, [Violation("too_long", f"The statement is longer than {MAX_SQL_CHARS} "
                                             "characters.")], text)
        if "\x00" in text:
            return Verdict(False, [Violation("parse", "The statement contains a NUL byte.")], text)
        statements, error = self._parse(text)
        if error is not None:
            return Verdict(False, [Violation("parse", error)], text)
        try:
            return self._judge(text, statements)
        except Exception as exc:  # noqa: BLE001 - a guard that crashes must refuse, never raise
            return Verdict(False, [_crash("the guard", exc)], text)

    def _judge(self, text: str, statements: list[Any]) -> Verdict:
        notes: list[str] = []
        if self.dialect == "sqlite" and self.schema is not None:
            statements, notes = _sqlite_string_identifiers(statements, self.schema, text)
        ctx = Context(statements, self.schema, self.dialect, self.max_rows)
        violations: list[Violation] = []
        for rule in self.rules:
            try:
                violations.extend(rule(ctx))
            except Exception as exc:  # noqa: BLE001 - one broken rule is a rejection with its name
                violations.append(_crash(f"the rule {getattr(rule, '__name__', rule)}", exc))
        if violations:
            return Verdict(False, violations, text)
        final, rewrites = self._enforce_limit(statements[0])
        return Verdict(True, [], text, final.sql(dialect=self.dialect, comments=False), notes + rewrites)

    def _parse(self, text: str) -> tuple[list[Any], str | None]:
        import sqlglot
        from sqlglot.errors import SqlglotError

        logger = logging.getLogger("sqlglot")
        level = logger.level
        logger.setLevel(logging.ERROR)  # "falling back to parsing as a Command" is ours to report
        try:
            parsed = sqlglot.parse(text, read=self.dialect)
        except SqlglotError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return [], f"Cannot parse the SQL ({self.dialect}): {_plain(first)}"
        except (RecursionError, ValueError, TypeError) as exc:  # pathological input
            return [], f"Cannot parse the SQL ({self.dialect}): {type(exc).__name__}"
        finally:
            logger.setLevel(level)
        return [p for p in parsed if p is not None], None

    def _enforce_limit(self, statement: Any) -> tuple[Any, list[str]]:
        from sqlglot import exp

        st = statement
        while isinstance(st, exp.Subquery) and not st.args.get("limit") and not st.alias:
            st = st.this
        limit = st.args.get("limit")
        if limit is None:
            return st.limit(self.max_rows, copy=True), [f"added LIMIT {self.max_rows}"]
        if isinstance(limit, exp.Fetch):  # FETCH FIRST/NEXT n ROWS ONLY: the same cap, written as LIMIT
            count = limit.args.get("count")
            value = int(str(count.this)) if count is not None else 1
            st = st.copy()
            st.set("limit", exp.Limit(expression=exp.Literal.number(min(value, self.max_rows))))
            note = f"FETCH {limit.args.get('direction') or 'FIRST'} {value} ROWS ONLY → LIMIT"
            return st, [f"{note} {min(value, self.max_rows)}" + (" (lowered)" if value > self.max_rows else "")]
        value = int(str(limit.args["expression"].this))
        if value > self.max_rows:
            st = st.copy()
            st.args["limit"].set("expression", exp.Literal.number(self.max_rows))
            return st, [f"lowered LIMIT {value} to {self.max_rows}"]
        return st, []


def _sqlite_string_identifiers(statements: list[Any], schema: Schema, text: str) -> tuple[list[Any], list[str]]:
    """SQLite reads a double-quoted name that matches no column as a string ("Math" = 'Math').

    Make that explicit, so the rules and the executed SQL agree with what SQLite would do. Unquoted,
    qualified, `backtick` or [bracket] quoted names are left alone (SQLite does not read those as
    strings: an unknown one is still an error). sqlglot does not record the quote character, so a name
    counts as double-quoted only if ``"name"`` appears in the text.
    """
    from sqlglot import exp

    from .rules import _derived_names

    columns = {c.name.lower() for t in schema.tables for c in t.columns}
    out, notes = [], []
    for st in statements:
        names = columns | {n.lower() for n in _derived_names(st)}
        def is_target(c: Any, names: set[str] = names) -> bool:
            return (not c.table and isinstance(c.this, exp.Identifier) and c.this.quoted
                    and c.name.lower() not in names and f'"{c.name}"' in text)

        if any(is_target(c) for c in st.find_all(exp.Column)):
            st = st.copy()
            for col in [c for c in st.find_all(exp.Column) if is_target(c)]:
                notes.append(f'read "{col.name}" as the string \'{col.name}\' (SQLite does the same)')
                col.replace(exp.Literal.string(col.name))
        out.append(st)
    return out, notes


def _crash(where: str, exc: Exception) -> Violation:
    """A guard that fails on a statement refuses it, saying so (and the statement is audited as refused)."""
    return Violation("guard_error", f"The statement was refused: {where} could not check it "
                     f"({type(exc).__name__}: {_plain(str(exc))[:200]}).")


def _plain(text: str) -> str:
    """Drop the ANSI underline codes sqlglot puts into parse errors."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def check_sql(sql: str, schema: Schema | None = None, *, dialect: str | None = None,
              max_rows: int = 1000) -> Verdict:
    """Convenience: ``Guard(schema, ...).check(sql)``."""
    return Guard(schema, dialect=dialect, max_rows=max_rows).check(sql)
