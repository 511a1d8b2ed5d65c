"""The guard's rules: small pure functions over parsed statements, each returning its violations.

A rule takes a :class:`Context` (the parsed statements, the schema, the settings) and returns a list
of :class:`Violation`. Rules never modify the tree and never stop the others: the guard reports
every reason a statement is refused. ``RULES`` is the default tuple, in reporting order.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..suggest import did_you_mean
from .functions import DANGEROUS_FUNCTIONS, SAFE_ANONYMOUS
from .schema import Schema

Rule = Callable[["Context"], list["Violation"]]


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class Context:
    statements: list[Any]  # sqlglot Expressions
    schema: Schema | None
    dialect: str
    max_rows: int


def _exp() -> Any:
    from sqlglot import exp

    return exp


#: node types that write, change the schema, change the session or touch files
WRITE_NODES = ("Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "AlterColumn", "TruncateTable",
               "Command", "Pragma", "Attach", "Detach", "Copy", "Grant", "Revoke", "Set", "Transaction", "Commit",
               "Rollback", "Analyze", "Into", "Lock", "Use", "Kill", "LoadData", "Cache", "Uncache", "Refresh",
               "Declare", "Execute", "Export", "Comment", "Describe", "Show", "Summarize")

ROW_ALIASES = frozenset({"rowid", "oid", "_rowid_"})
SYSTEM_PREFIXES = ("sqlite_", "pg_", "information_schema", "mysql", "performance_schema", "sys")


def single_statement(ctx: Context) -> list[Violation]:
    """Exactly one statement: stacked statements are how most injections turn a read into a write."""
    n = len(ctx.statements)
    if n == 0:
        return [Violation("single_statement", "There is no SQL statement.")]
    if n > 1:
        return [Violation("single_statement", f"Exactly one statement is allowed; found {n}.")]
    return []


def select_only(ctx: Context) -> list[Violation]:
    """The statement itself must be a SELECT (or WITH … SELECT, or a UNION/INTERSECT/EXCEPT of them)."""
    exp = _exp()
    out = []
    for st in ctx.statements:
        if not isinstance(st, (exp.Select, exp.SetOperation, exp.Subquery)):
            kind = _kind(st)
            out.append(Violation("select_only", f"Only SELECT queries are allowed; this is {kind}."))
    return out


def no_writes(ctx: Context) -> list[Violation]:
    """No writing, schema or session node anywhere in the tree (e.g. ``WITH d AS (DELETE …) SELECT``)."""
    exp = _exp()
    kinds = tuple(getattr(exp, n) for n in WRITE_NODES if hasattr(exp, n))
    out: list[Violation] = []
    seen: set[str] = set()
    for st in ctx.statements:
        for node in st.walk():
            # a top-level write is reported by select_only; here: writes hidden inside a query
            if node is not st and isinstance(node, kinds):
                kind = _kind(node)
                if kind not in seen:
                    seen.add(kind)
                    out.append(Violation("no_writes",
                                         f"{kind} inside the query is not allowed: the agent only reads."))
    return out


def no_dangerous_functions(ctx: Context) -> list[Violation]:
    """No function that loads code, touches files, sleeps, changes settings or signals other sessions."""
    exp = _exp()
    out = []
    for st in ctx.statements:
        for fn in st.find_all(exp.Func):
            name = _func_name(fn)
            if name in DANGEROUS_FUNCTIONS:
                out.append(Violation("dangerous_function", f"The function {name}() is not allowed."))
            elif isinstance(fn, exp.Anonymous) and name not in SAFE_ANONYMOUS:
                out.append(Violation("unknown_function",
                                     f"The function {name}() is not on the list of allowed functions."))
    return _dedupe(out)


def known_tables(ctx: Context) -> list[Violation]:
    """Every table exists in the schema (CTE names excepted); unknown names get near matches."""
    if ctx.schema is None:
        return []
    exp = _exp()
    out = []
    names = ctx.schema.table_names
    for st in ctx.statements:
        ctes = {c.alias_or_name.lower() for c in st.find_all(exp.CTE)}
        for table in st.find_all(exp.Table):
            name = table.name
            if not name or (not table.args.get("db") and name.lower() in ctes):
                continue
            if table.args.get("db") or table.args.get("catalog"):
                qualified = ".".join(p for p in (table.args.get("catalog") and table.catalog,
                                                 table.args.get("db") and table.db, name) if p)
                if not _is_main_schema(table.db, ctx.dialect):
                    out.append(Violation("unknown_table", f"Table '{qualified}' is outside the database's "
                                         f"own tables. Known tables: {_list(names)}."))
                    continue
            if ctx.schema.table(name) is None:
                if name.lower().startswith(SYSTEM_PREFIXES):
                    msg = f"System table '{name}' is not allowed. Known tables: {_list(names)}."
                else:
                    msg = f"Unknown table '{name}'.{_did_you_mean(name, names)} Known tables: {_list(names)}."
                out.append(Violation("unknown_table", msg))
    return _dedupe(out)


def known_columns(ctx: Context) -> list[Violation]:
    """Every column exists in the table it names (or, unqualified, in some table of the query)."""
    if ctx.schema is None:
        return []
    exp = _exp()
    out = []
    for st in ctx.statements:
        aliases: dict[str, str | None] = {}  # alias or table name (lower) → real table name or None (derived)
        for table in st.find_all(exp.Table):
            real = ctx.schema.table(table.name)
            target = real.name if real is not None else None
            aliases[table.name.lower()] = target
            if table.alias:
                aliases[table.alias.lower()] = target
        for node in st.find_all(exp.CTE, exp.Subquery, exp.Lateral, exp.Unnest):
            if node.alias:
                aliases[node.alias.lower()] = None
        derived = {n.lower() for n in _derived_names(st)}
        real_tables = [ctx.schema.table(t) for t, v in aliases.items() if v is not None]
        real_cols = {c.name.lower(): t.name for t in real_tables if t is not None for c in t.columns}
        for col in st.find_all(exp.Column):
            name = col.name
            if not name or isinstance(col.this, exp.Star) or name.lower() in ROW_ALIASES:
                continue
            qualifier = col.table
            if qualifier:
                if qualifier.lower() not in aliases:
                    out.append(Violation("unknown_column", f"'{qualifier}.{name}': '{qualifier}' is not a table or "
                                         f"alias in this query.{_did_you_mean(qualifier, list(aliases))}"))
                    continue
                real_name = aliases[qualifier.lower()]
                table_obj = ctx.schema.table(real_name) if real_name else None
                if table_obj is not None and table_obj.column(name) is None:
                    out.append(Violation("unknown_column", f"Table '{table_obj.name}' has no column '{name}'."
                                         f"{_did_you_mean(name, table_obj.column_names)} Its columns: "
                                         f"{_list(table_obj.column_names)}."))
            elif name.lower() not in real_cols and name.lower() not in derived:
                tables = [t for t in real_tables if t is not None]
                candidates = sorted({c.name for t in tables for c in t.columns})
                if candidates:
                    columns = " ".join(f"Columns of {t.name}: {_list(t.column_names)}." for t in tables)
                    msg = (f"Unknown column '{name}' in {_list([t.name for t in tables])}."
                           f"{_did_you_mean(name, candidates)} {columns}")
                else:
                    candidates = sorted({c.name for t in ctx.schema.tables for c in t.columns})
                    msg = f"Unknown column '{name}'.{_did_you_mean(name, candidates)}"
                out.append(Violation("unknown_column", msg))
    return _dedupe(out)


def limit_literal(ctx: Context) -> list[Violation]:
    """LIMIT/OFFSET must be plain non-negative integers so the guard can enforce the row cap."""
    exp = _exp()
    out = []
    for st in ctx.statements:
        for node in st.find_all(exp.Limit, exp.Offset, exp.Fetch):
            value = node.args.get("expression") if not isinstance(node, exp.Fetch) else node.args.get("count")
            if value is None:
                continue
            if not (isinstance(value, exp.Literal) and not value.is_string and str(value.this).isdigit()):
                out.append(Violation("limit_literal", f"{node.key.upper()} must be a plain integer, "
                                     f"not '{value.sql(dialect=ctx.dialect)}'."))
        for node in st.find_all(exp.Fetch):
            options = node.args.get("limit_options")
            if options is not None and (options.args.get("percent") or options.args.get("with_ties")):
                out.append(Violation("limit_literal", "FETCH … PERCENT / WITH TIES cannot be capped to a row "
                                     "count: write FETCH FIRST n ROWS ONLY or LIMIT n."))
    return _dedupe(out)


def no_executable_comments(ctx: Context) -> list[Violation]:
    """No MySQL ``/*! … */`` version comments or ``/*+ … */`` optimizer hints: the engine runs their text."""
    exp = _exp()
    for st in ctx.statements:
        for node in st.walk():
            if isinstance(node, exp.Hint) or any(c.lstrip().startswith(("!", "+")) for c in node.comments or ()):
                return [Violation("executable_comment", "Executable comments and optimizer hints "
                                  "(/*! … */, /*+ … */) are not allowed.")]
    return []


#: functions whose numeric arguments (or format widths) size the value they build
SIZING_FUNCTIONS = frozenset({"printf", "format", "repeat", "lpad", "rpad", "space", "replicate", "zeroblob",
                              "randomblob"})
#: a size literal above this builds a value the executor would refuse anyway (see ``bounds.MAX_VALUE_BYTES``)
MAX_SIZE_LITERAL = 1_000_000
_WIDTH = re.compile(r"%[-+ #0]*(\d*)(?:\.(\d+))?")


def no_size_bombs(ctx: Context) -> list[Violation]:
    """No literal size over ``MAX_SIZE_LITERAL`` given to a function that builds a value of that size
    (``printf('%.*c', 900000000, 'a')``, ``format('%0900000000d', 1)``, ``repeat('a', 1e9)``). Computed sizes
    are the executor's to bound (``bounds.py``); this refuses the obvious ones with a reason."""
    exp = _exp()
    out = []
    for st in ctx.statements:
        for fn in st.find_all(exp.Func):
            name = _func_name(fn)
            if name not in SIZING_FUNCTIONS and not isinstance(fn, (exp.Repeat, exp.Pad)):
                continue
            for lit in fn.find_all(exp.Literal):
                if lit.is_string:
                    sizes = [int(g) for m in _WIDTH.finditer(str(lit.this)) for g in m.groups() if g]
                else:
                    try:
                        sizes = [int(float(str(lit.this)))]
                    except (ValueError, OverflowError):
                        sizes = []
                if any(size > MAX_SIZE_LITERAL for size in sizes):
                    out.append(Violation("size_bomb", f"{name}() with a size over {MAX_SIZE_LITERAL:,} "
                                         "would build a huge value; ask for less."))
                    break
    return _dedupe(out)


RULES: tuple[Rule, ...] = (single_statement, select_only, no_writes, no_dangerous_functions, known_tables,
                           known_columns, limit_literal, no_executable_comments, no_size_bombs)


# -- helpers ------------------------------------------------------------------------------------
def _kind(node: Any) -> str:
    exp = _exp()
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, (exp.Create, exp.Drop)):
        return f"{node.key.upper()} {str(node.args.get('kind') or '').upper()}".strip()
    if isinstance(node, exp.Into):
        return "SELECT … INTO"
    if isinstance(node, exp.Lock):
        return "a locking clause (FOR UPDATE/SHARE)"
    if isinstance(node, exp.Column):
        return f"a bare name ({node.sql()})"
    return {"truncatetable": "TRUNCATE", "altercolumn": "ALTER"}.get(node.key, node.key.upper())


def _func_name(fn: Any) -> str:
    exp = _exp()
    if isinstance(fn, exp.Anonymous):
        return str(fn.this).lower()
    return fn.sql_name().lower()


def _derived_names(st: Any) -> set[str]:
    """Output names of CTEs, subqueries and select aliases: unqualified columns may refer to them."""
    exp = _exp()
    names: set[str] = set()
    for alias in st.find_all(exp.Alias):
        names.add(alias.alias)
    for ta in st.find_all(exp.TableAlias):
        names.update(c.name for c in ta.columns)
    for sel in st.find_all(exp.Select):
        if sel is st:
            continue
        names.update(n for n in sel.named_selects if n)
    return names


def _is_main_schema(db: str, dialect: str) -> bool:
    return db.lower() in ({"main"} if dialect == "sqlite" else {"public"} if dialect == "postgres" else set())


def _did_you_mean(name: str, options: list[str]) -> str:
    return did_you_mean(name, options, n=3, ignore_case=True)


def _list(names: list[str], most: int = 30) -> str:
    shown = ", ".join(names[:most])
    return shown + (f", … ({len(names) - most} more)" if len(names) > most else "") if names else "(none)"


def _dedupe(items: list[Violation]) -> list[Violation]:
    seen: set[Violation] = set()
    return [v for v in items if not (v in seen or seen.add(v))]  # type: ignore[func-returns-value]
