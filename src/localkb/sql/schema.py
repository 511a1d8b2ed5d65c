"""What the agent and the guard know about a database: tables, columns, types, keys, sample values.

Introspected through SQLAlchemy on the same read-only connection the executor uses, so looking at a
database can never change it. ``Schema.render`` turns (a selection of) it into the prompt text.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import SQLError

if TYPE_CHECKING:  # pragma: no cover
    from .executor import SQLDatabase

#: longest sample value shown in a prompt; long text is where injected instructions hide
SAMPLE_CHARS = 32


@dataclass(frozen=True)
class Column:
    """One column; ``samples`` are a few distinct non-null values, already shortened for prompts."""

    name: str
    type: str
    nullable: bool = True
    primary_key: bool = False
    samples: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()

    def column(self, name: str) -> Column | None:
        low = name.lower()
        return next((c for c in self.columns if c.name.lower() == low), None)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def describe(self) -> str:
        """One line for embedding-based table selection: the table name and its column names."""
        return f"{_words(self.name)}: " + ", ".join(_words(c.name) for c in self.columns)

    def render(self) -> str:
        """A ``CREATE TABLE`` statement with keys, plus sample values as SQL comments."""
        lines = []
        pk = [c.name for c in self.columns if c.primary_key]
        for c in self.columns:
            line = f"  {_q(c.name)} {c.type or 'TEXT'}"
            if not c.nullable and not c.primary_key:
                line += " NOT NULL"
            if c.samples:
                line += "  -- e.g. " + ", ".join(_sample_repr(s) for s in c.samples)
            lines.append(line)
        extra = []
        if pk:
            extra.append(f"  PRIMARY KEY ({', '.join(_q(p) for p in pk)})")
        for fk in self.foreign_keys:
            extra.append(f"  FOREIGN KEY ({', '.join(_q(c) for c in fk.columns)}) REFERENCES "
                         f"{_q(fk.ref_table)}({', '.join(_q(c) for c in fk.ref_columns)})")
        # comments end at the newline, so the separating comma goes before the comment
        body = []
        items = lines + extra
        for i, item in enumerate(items):
            sep = "," if i < len(items) - 1 else ""
            if "  -- e.g. " in item:
                code, comment = item.split("  -- e.g. ", 1)
                body.append(f"{code}{sep}  -- e.g. {comment}")
            else:
                body.append(item + sep)
        return f"CREATE TABLE {_q(self.name)} (\n" + "\n".join(body) + "\n);"


@dataclass(frozen=True)
class Schema:
    """Every table of one database (``dialect`` is sqlglot's name for it: sqlite, postgres, mysql…)."""

    dialect: str
    tables: tuple[Table, ...] = field(default_factory=tuple)

    def table(self, name: str) -> Table | None:
        low = name.lower()
        return next((t for t in self.tables if t.name.lower() == low), None)

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]

    def subset(self, names: Iterable[str]) -> Schema:
        wanted = {n.lower() for n in names}
        return Schema(self.dialect, tuple(t for t in self.tables if t.name.lower() in wanted))

    def neighbours(self, name: str) -> set[str]:
        """Tables linked to ``name`` by a foreign key in either direction."""
        low = name.lower()
        out: set[str] = set()
        for t in self.tables:
            for fk in t.foreign_keys:
                if t.name.lower() == low:
                    out.add(fk.ref_table)
                elif fk.ref_table.lower() == low:
                    out.add(t.name)
        return {n for n in out if self.table(n) is not None}

    def render(self) -> str:
        return "\n\n".join(t.render() for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "tables": [
                {"name": t.name,
                 "columns": [{"name": c.name, "type": c.type, "primary_key": c.primary_key,
                              "samples": list(c.samples)} for c in t.columns],
                 "foreign_keys": [{"columns": list(f.columns), "ref_table": f.ref_table,
                                   "ref_columns": list(f.ref_columns)} for f in t.foreign_keys]}
                for t in self.tables
            ],
        }


def introspect(db: SQLDatabase, *, samples: int = 3) -> Schema:
    """Read tables, columns, keys and ``samples`` distinct values per column through SQLAlchemy.

    Raises:
        SQLError: the database has no tables, or cannot be inspected.
    """
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.exc import SQLAlchemyError

    engine = db.engine
    try:
        insp = sa_inspect(engine)
        names = [n for n in insp.get_table_names() if not n.startswith("sqlite_")]
        tables = []
        for name in sorted(names, key=str.lower):
            pk = set(insp.get_pk_constraint(name).get("constrained_columns") or [])
            fks = tuple(
                ForeignKey(tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                for fk in insp.get_foreign_keys(name) if fk.get("referred_table")
            )
            cols = []
            for col in insp.get_columns(name):
                cols.append(Column(col["name"], _type_name(col["type"]), bool(col.get("nullable", True)),
                                   col["name"] in pk))
            tables.append(Table(name, tuple(cols), fks))
    except SQLAlchemyError as exc:
        raise SQLError(f"Cannot read the schema of {db.display_url}: {_first_line(exc)}") from exc
    if not tables:
        raise SQLError(f"The database {db.display_url} has no tables: there is nothing to query.")
    if samples > 0:
        tables = [_with_samples(db, t, samples) for t in tables]
    return Schema(db.dialect, tuple(tables))


def _with_samples(db: SQLDatabase, table: Table, n: int) -> Table:
    # key columns' samples (1, 2, 3) only cost prompt tokens
    keys = {c for fk in table.foreign_keys for c in fk.columns}
    cols = []
    for c in table.columns:
        if c.primary_key or c.name in keys:
            cols.append(c)
            continue
        try:
            values = db.sample_values(table.name, c.name, n)
        except SQLError:
            values = []
        cols.append(Column(c.name, c.type, c.nullable, c.primary_key,
                           tuple(_shorten(v) for v in values if v is not None)))
    return Table(table.name, tuple(cols), table.foreign_keys)


def _type_name(t: Any) -> str:
    try:
        return str(t)
    except Exception:  # noqa: BLE001 - some dialect types cannot render without a dialect
        return type(t).__name__.upper()


def _shorten(value: Any) -> str:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    text = " ".join(str(value).split())
    return text if len(text) <= SAMPLE_CHARS else text[: SAMPLE_CHARS - 1] + "…"


def _sample_repr(value: str) -> str:
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value.replace("'", "''") + "'"


def _q(name: str) -> str:
    if name.replace("_", "").isalnum() and not name[:1].isdigit():
        return name
    return '"' + name.replace('"', '""') + '"'


def _words(name: str) -> str:
    import re

    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").lower()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def select_tables(schema: Schema, question: str, *, embedder: Any = None, k: int = 6,
                  neighbours: bool = True) -> list[str]:
    """The ``k`` tables most relevant to ``question`` (plus their foreign-key neighbours).

    With an embedder (``embed(list[str]) -> (n, d)`` normalised) tables are ranked by cosine
    similarity of their descriptions; without one, by word overlap. Small schemas are returned whole.
    """
    if len(schema.tables) <= k:
        return schema.table_names
    descs = [t.describe() for t in schema.tables]
    if embedder is not None:
        from ..embedders.base import embed_queries

        question_vec = embed_queries(embedder, [question])[0]  # e5: the question as 'query: …'
        scores: Sequence[float] = [float(s) for s in embedder.embed(descs) @ question_vec]
    else:
        qwords = set(_words(question).replace("?", " ").split())
        scores = [len(qwords & set(d.replace(":", " ").replace(",", " ").split())) for d in descs]
    order = sorted(range(len(descs)), key=lambda i: -scores[i])
    picked = [schema.tables[i].name for i in order[:k]]
    if neighbours:
        for name in list(picked):
            for n in sorted(schema.neighbours(name)):
                if n not in picked and len(picked) < 2 * k:
                    picked.append(n)
    return picked
