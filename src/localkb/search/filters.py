"""Typed metadata filters: ``--where format=pdf``, ``--where pages>3``, ``--where path~docs/*.md``.

One parser serves the CLI (``--where``, repeatable), HTTP (``where`` / ``filter`` in ``POST /api/search``,
repeatable ``where=`` in GET), MCP and Python (``kb.search(..., where=...)``). Conditions are ANDed.

Fields (``FIELDS``): ``tag``, ``format``, ``path`` (absolute), ``source`` (as ingested), ``title``,
``size`` (bytes), ``ingested`` (ISO date/time or Unix seconds), ``page`` (the page of a PDF a chunk comes
from: a chunk field, ``CHUNK_FIELDS``; chunks of formats without pages have none), the loader metadata known by name
(``author``, ``pages``, ``subject``; ``ingest.loaders.META_FIELDS``) and ``meta.NAME`` for any metadata a
loader recorded (a CSV column's values, a JSON key's values). Operators: ``=``, ``!=``, ``>``, ``>=``,
``<``, ``<=`` and ``~`` (glob: ``*``, ``?``, ``[abc]``). ``=`` and ``!=`` ignore case; comparisons need
a number (or a date for ``ingested``).

Filters are evaluated exactly in the KB's SQLite file (the source of truth, where the metadata lives) to
the set of chunks they allow; the search then gives that set to the vector store, which filters inside
its engine (FAISS id selector, Chroma ``ids``, Milvus ``id in [...]``), and to the BM25 index. A store
that cannot filter (``supports_filters = False``) is searched with growing over-fetch and its hits are
filtered afterwards, so k hits still come back when k chunks match (``search.engine.dense_hits``).
An unknown field, operator or value is a ``FilterError`` naming it — never silently dropped.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import FilterError
from ..suggest import did_you_mean

if TYPE_CHECKING:
    from ..db import Database

#: what callers may pass as ``where``: "format=pdf", ["format=pdf", "pages>3"] or {"format": "pdf"}
WhereSpec = str | Sequence[str] | Mapping[str, Any] | None

OPERATORS = ("!=", ">=", "<=", "=", ">", "<", "~")
#: field → (column of ``documents`` or None for ``doc_meta``, kind)
DOCUMENT_FIELDS: dict[str, tuple[str, str]] = {
    "tag": ("", "tag"),
    "format": ("format", "text"),
    "path": ("path", "path"),
    "source": ("source", "path"),
    "title": ("title", "text"),
    "size": ("size", "number"),
    "ingested": ("ingested_at", "time"),
}
#: field → (column of ``doc_chunks``, kind): what a chunk knows of its place in its document
CHUNK_FIELDS: dict[str, tuple[str, str]] = {
    "page": ("page", "number"),
}
ALIASES = {"tags": "tag", "ingested_at": "ingested", "ext": "format"}
_SPLIT = re.compile(r"^\s*([A-Za-z_][\w.\- ]*?)\s*(!=|>=|<=|=|>|<|~)\s*(.*?)\s*$", re.S)


def meta_fields() -> tuple[str, ...]:
    from ..ingest.loaders import META_FIELDS

    return tuple(META_FIELDS)


def known_fields() -> tuple[str, ...]:
    return (*DOCUMENT_FIELDS, *CHUNK_FIELDS, *meta_fields(), "meta.NAME")


@dataclass(frozen=True)
class Condition:
    """One parsed condition: ``field op value``; ``meta`` is the doc_meta key for loader metadata."""

    field: str
    op: str
    value: str
    meta: str | None = None
    #: several values for "any of" (a list in the mapping form)
    any_of: tuple[str, ...] = ()

    def __str__(self) -> str:
        value = ",".join(self.any_of) if self.any_of else self.value
        return f"{self.field}{self.op}{value}"


def parse_where(spec: WhereSpec) -> list[Condition]:
    """Parse ``where`` in any of its forms; ``FilterError`` names the bad field, operator or value.

    Args:
        spec: ``"format=pdf"``, a sequence of such strings (ANDed), or a mapping ``{"format": "pdf",
            "tag": ["a", "b"]}`` (equality; a list means any of its values).
    Returns:
        The conditions, in order; empty when ``spec`` is None or empty.
    """
    if spec is None:
        return []
    if isinstance(spec, str):
        return [_parse_one(spec)]
    if isinstance(spec, Mapping):
        out = []
        for name, value in spec.items():
            values = [value] if not isinstance(value, (list, tuple)) else list(value)
            if not values or any(isinstance(v, (dict, list, tuple)) or v is None for v in values):
                raise FilterError(f"Filter '{name}': give a value or a list of values.", field=str(name))
            each = [_condition(str(name), "=", str(v)) for v in values]  # every value checked
            cond = each[0]
            if len(values) > 1:
                cond = Condition(cond.field, "=", cond.value, cond.meta, tuple(c.value for c in each))
            out.append(cond)
        return out
    if isinstance(spec, Sequence):
        return [_parse_one(str(item)) for item in spec]
    raise FilterError(f"A filter is 'FIELD=VALUE' text or a mapping, not {type(spec).__name__}.")


def _parse_one(text: str) -> Condition:
    match = _SPLIT.match(text)
    if not match:
        raise FilterError(f"Cannot read the filter '{text}': write FIELD OP VALUE, e.g. format=pdf, pages>3 or "
                          f"path~docs/*.md (operators: {' '.join(OPERATORS)}).", field=text)
    name, op, value = match.groups()
    if value == "":
        raise FilterError(f"The filter '{text}' has no value after '{op}'.", field=name)
    return _condition(name, op, value)


def _condition(name: str, op: str, value: str) -> Condition:
    key = name.strip()
    lowered = ALIASES.get(key.lower(), key.lower())
    if lowered.startswith("meta."):
        meta = key[5:]
        if not meta:
            raise FilterError("The filter field 'meta.' needs a name, e.g. meta.author.", field=key)
        cond = Condition(key, op, value, meta=meta)
    elif lowered in DOCUMENT_FIELDS or lowered in CHUNK_FIELDS:
        cond = Condition(lowered, op, value)
    elif lowered in meta_fields():
        cond = Condition(lowered, op, value, meta=lowered)
    else:
        hint = did_you_mean(lowered, [*DOCUMENT_FIELDS, *CHUNK_FIELDS, *meta_fields()])
        raise FilterError(f"Unknown filter field '{key}'.{hint} Known: {', '.join(known_fields())} "
                          "(meta.NAME: a CSV column or JSON key, e.g. meta.country).", field=key)
    _check_value(cond)
    return cond


def _check_value(cond: Condition) -> None:
    kind = "number" if cond.meta else {**DOCUMENT_FIELDS, **CHUNK_FIELDS}[cond.field][1]
    if cond.field in CHUNK_FIELDS and cond.op == "~":
        raise FilterError(f"Filter '{cond}': '{cond.field}' is a number (use =, !=, >, >=, < or <=).",
                          field=cond.field)
    if cond.op in (">", ">=", "<", "<="):
        if kind == "time":
            parse_time(cond.value, cond.field)
        elif kind == "number" or cond.meta:
            number(cond.value, cond.field)
        else:
            raise FilterError(f"Filter '{cond}': '{cond.op}' compares numbers; '{cond.field}' is text "
                              "(use =, != or ~).", field=cond.field)
    elif cond.op != "~" and not cond.meta and kind in ("number", "time"):  # size=12, ingested=2026-12-01
        for value in cond.any_of or (cond.value,):
            if kind == "time":
                parse_time(value, cond.field)
            else:
                number(value, cond.field)
    if cond.field == "tag" and cond.op not in ("=", "!=", "~"):
        raise FilterError(f"Filter '{cond}': tags take =, != or ~.", field=cond.field)


def number(value: str, name: str) -> float:
    try:
        out = float(value)
    except ValueError:
        raise FilterError(f"Filter '{name}': '{value}' is not a number.", field=name) from None
    if out != out or out in (float("inf"), float("-inf")):
        raise FilterError(f"Filter '{name}': '{value}' is not a finite number.", field=name)
    return out


def parse_time(value: str, name: str) -> float:
    """Unix seconds from a number or an ISO date/time (``2026-12-01``, ``2026-12-01T10:00``; UTC if no zone)."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(f"Filter '{name}': '{value}' is not a date (2026-12-01), a date and time "
                          "(2026-12-01T10:00) or Unix seconds.", field=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


_COMPARE = {"=": "=", "!=": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


def _documents_sql(cond: Condition) -> tuple[str, list[Any]]:
    """SQL selecting the ids of the documents that satisfy ``cond`` (before negation)."""
    values = list(cond.any_of) or [cond.value]
    if cond.field == "tag":
        if cond.op == "~":
            return "SELECT doc_id FROM doc_tags WHERE tag GLOB ?", [cond.value]
        marks = ",".join("?" * len(values))
        return f"SELECT doc_id FROM doc_tags WHERE lower(tag) IN ({marks})", [v.lower() for v in values]
    if cond.meta is not None:
        if cond.op == "~":
            return "SELECT doc_id FROM doc_meta WHERE key = ? AND value GLOB ?", [cond.meta, cond.value]
        if cond.op in ("=", "!="):
            marks = ",".join("?" * len(values))
            return (f"SELECT doc_id FROM doc_meta WHERE key = ? AND lower(value) IN ({marks})",
                    [cond.meta, *(v.lower() for v in values)])
        return (f"SELECT doc_id FROM doc_meta WHERE key = ? AND num {_COMPARE[cond.op]} ?",
                [cond.meta, number(cond.value, cond.field)])
    column, kind = DOCUMENT_FIELDS[cond.field]
    if cond.op == "~":
        if kind == "path":  # a glob on either spelling of the path
            return "SELECT id FROM documents WHERE path GLOB ? OR source GLOB ?", [cond.value, cond.value]
        return f"SELECT id FROM documents WHERE {column} GLOB ?", [cond.value]
    if cond.op in ("=", "!=") and kind in ("text", "path"):
        marks = ",".join("?" * len(values))
        return (f"SELECT id FROM documents WHERE lower({column}) IN ({marks})", [v.lower() for v in values])
    if kind == "time":
        if cond.op in ("=", "!="):  # a day given as a date: that whole day (any of several days)
            spans: list[Any] = []
            for value in values:
                bound = parse_time(value, cond.field)
                spans += [bound, bound + (86400 if len(value) <= 10 else 1)]
            ors = " OR ".join([f"({column} >= ? AND {column} < ?)"] * len(values))
            return f"SELECT id FROM documents WHERE {ors}", spans
        return f"SELECT id FROM documents WHERE {column} {_COMPARE[cond.op]} ?", [parse_time(cond.value, cond.field)]
    if cond.any_of:  # size: [100, 200]: any of these numbers
        marks = ",".join("?" * len(values))
        return f"SELECT id FROM documents WHERE {column} IN ({marks})", [number(v, cond.field) for v in values]
    return f"SELECT id FROM documents WHERE {column} {_COMPARE[cond.op]} ?", [number(cond.value, cond.field)]


def has_meta_key(db: Database, key: str) -> bool:
    """Does any document of this KB have the loader metadata ``key``?"""
    return db.scalar("SELECT 1 FROM doc_meta WHERE key = ? LIMIT 1", (key,)) is not None


def meta_keys(db: Database, limit: int = 50) -> list[str]:
    """The loader metadata keys this KB's documents have (sorted; at most ``limit``), for messages."""
    return [r[0] for r in db.query("SELECT DISTINCT key FROM doc_meta ORDER BY key LIMIT ?", (limit,))]


def check_meta_keys(db: Database, conditions: Sequence[Condition]) -> None:
    """``meta.NAME`` that no document of this KB has is an error naming the keys it does have."""
    for cond in conditions:
        if cond.meta is None or cond.meta in meta_fields():
            continue
        if not has_meta_key(db, cond.meta):
            keys = meta_keys(db)
            hint = did_you_mean(cond.meta, keys, prefix="meta.")
            raise FilterError(f"Unknown filter field '{cond.field}': no document in this KB has the metadata "
                              f"'{cond.meta}'.{hint} Known here: {', '.join(keys) or 'none'}.", field=cond.field)


def _chunks_sql(cond: Condition) -> tuple[str, list[Any]]:
    """SQL condition on ``dc`` (a ``doc_chunks`` row) for a chunk field; ``!=`` keeps chunks without one
    (a text file has no page), as ``author!=X`` keeps documents without an author."""
    column = f"dc.{CHUNK_FIELDS[cond.field][0]}"
    values = [number(v, cond.field) for v in (cond.any_of or (cond.value,))]
    marks = ",".join("?" * len(values))
    if cond.op == "=":
        return f"{column} IN ({marks})", values
    if cond.op == "!=":
        return f"({column} IS NULL OR {column} NOT IN ({marks}))", values
    return f"{column} {_COMPARE[cond.op]} ?", values


def matching_chunks(db: Database, conditions: Sequence[Condition]) -> set[str]:
    """The ids of the chunks that satisfy every condition (exact, in SQLite): document fields select the
    chunks of the documents that satisfy them, chunk fields (``page``) the chunks themselves."""
    check_meta_keys(db, conditions)
    parts, params = [], []
    for cond in conditions:
        if cond.field in CHUNK_FIELDS:
            sql, args = _chunks_sql(cond)
            parts.append(sql)
        else:
            sql, args = _documents_sql(cond)
            parts.append(f"d.id {'NOT IN' if cond.op == '!=' else 'IN'} ({sql})")
        params.extend(args)
    where = " AND ".join(parts) or "1"
    return {r[0] for r in db.query(
        f"SELECT DISTINCT dc.chunk_id FROM doc_chunks dc JOIN documents d ON d.id = dc.doc_id WHERE {where}",
        params)}


def describe(conditions: Sequence[Condition]) -> list[str]:
    """The conditions as text, for the result's ``filters`` block."""
    return [str(c) for c in conditions]
