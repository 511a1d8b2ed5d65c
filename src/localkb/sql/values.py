"""Value linking: which text columns hold the literals a question names, and their exact stored spelling.

``ValueIndex.build`` reads the distinct values of every text column through the read-only executor
(bounded: at most ``MAX_PER_COLUMN`` values per column, ``MAX_TOTAL`` in all, values up to
``MAX_CHARS`` characters, ``BUILD_SECONDS`` in all; what the bounds cut is listed in ``truncated``). ``lookup`` matches the
question's phrases (quoted strings and word n-grams) against them: case-insensitive equality first,
then fuzzy similarity with rapidfuzz (typos, plurals, "Aberdeen" vs "ABERDEEN"), then a phrase that is
one word of a short stored value ("heavy" → "Heavy Metal"). The agent puts the matches in the prompt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import MissingDependency, SQLError

if TYPE_CHECKING:  # pragma: no cover
    from .executor import SQLDatabase
    from .schema import Schema

MAX_PER_COLUMN = 2000
MAX_TOTAL = 100_000
MAX_CHARS = 64
#: seconds the whole index may take to build (large tables: DISTINCT scans); later columns are skipped
BUILD_SECONDS = 15.0
#: fuzzy matches below this rapidfuzz ratio (0–100) are not shown to the model
FUZZY_CUTOFF = 88.0
#: a word of a stored value ("heavy" → "Heavy Metal") counts only in columns with at most this many
#: distinct values (categories), not in titles and names, where common words match everything
WORD_MATCH_MAX_DISTINCT = 200
_TEXT_TYPES = ("CHAR", "TEXT", "CLOB", "STRING", "VARCHAR", "NAME", "ENUM")
_WORD = re.compile(r"[\w][\w'./&-]*", re.UNICODE)
_QUOTED = re.compile(r"[\"“']([^\"”']{2,64})[\"”']")
STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or not no is are was were be been what which who whom whose "
    "how many much list show give find get all any each every there their that this these those than then "
    "me my i you your we our it its as do does did have has had can could would should will shall "
    "more most less least number count total average per name names number between also only same "
    "other others some than into out up down over under about after before during".split())


@dataclass(frozen=True)
class ValueMatch:
    """``table.column`` stores ``value``; the question said ``phrase`` (``score`` 100 = same text)."""

    table: str
    column: str
    value: str
    phrase: str
    score: float

    def to_dict(self) -> dict[str, object]:
        return {"table": self.table, "column": self.column, "value": self.value, "phrase": self.phrase,
                "score": round(self.score, 1)}


@dataclass
class ValueIndex:
    """Distinct values of the text columns of one database, for lexical and fuzzy lookup."""

    entries: list[tuple[str, str, str]] = field(default_factory=list)  # (table, column, value)
    truncated: list[str] = field(default_factory=list)  # "table.column" whose values were cut

    @classmethod
    def build(cls, db: SQLDatabase, schema: Schema, *, budget: float = BUILD_SECONDS) -> ValueIndex:
        """Read the distinct text values of ``db`` (bounded; see the module docstring)."""
        import time

        index = cls()
        q = db.engine.dialect.identifier_preparer.quote
        deadline = time.monotonic() + budget
        for table in schema.tables:
            keys = {c for fk in table.foreign_keys for c in fk.columns}
            for col in table.columns:
                if col.name in keys or not _is_text(col.type):
                    continue
                room = min(MAX_PER_COLUMN, MAX_TOTAL - len(index.entries))
                left = deadline - time.monotonic()
                if room <= 0 or left <= 0:
                    index.truncated.append(f"{table.name}.{col.name}")
                    continue
                sql = (f"SELECT DISTINCT {q(col.name)} FROM {q(table.name)} WHERE {q(col.name)} IS NOT NULL "
                       f"LIMIT {room + 1}")
                try:
                    rows = db.run(sql, max_rows=room + 1, timeout=max(0.1, min(db.timeout, 5.0, left))).rows
                except SQLError:
                    index.truncated.append(f"{table.name}.{col.name}")
                    continue
                if len(rows) > room:
                    index.truncated.append(f"{table.name}.{col.name}")
                for (value,) in rows[:room]:
                    if isinstance(value, str) and 0 < len(value) <= MAX_CHARS and value.strip():
                        index.entries.append((table.name, col.name, value))
        index._prepare()
        return index

    def _prepare(self) -> None:
        self._lower = [v.casefold() for _, _, v in self.entries]
        self._exact: dict[str, list[int]] = {}
        self._words: dict[str, list[int]] = {}
        sizes: dict[tuple[str, str], int] = {}
        for table, column, _ in self.entries:
            sizes[(table, column)] = sizes.get((table, column), 0) + 1
        for i, low in enumerate(self._lower):
            self._exact.setdefault(low, []).append(i)
            words = _WORD.findall(low)
            table, column, _ = self.entries[i]
            if 1 < len(words) <= 4 and sizes[(table, column)] <= WORD_MATCH_MAX_DISTINCT:
                for w in words:
                    self._words.setdefault(w, []).append(i)

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, question: str, *, k: int = 6, tables: set[str] | None = None) -> list[ValueMatch]:
        """The stored values the question names, best first (at most ``k``; ``tables`` limits where).

        Raises:
            MissingDependency: rapidfuzz is not installed.
        """
        try:
            from rapidfuzz import fuzz, process
        except ImportError as exc:
            raise MissingDependency("Value linking needs rapidfuzz: pip install 'localkb[sql]'") from exc
        if not self.entries:
            return []
        allowed = None if tables is None else {t.lower() for t in tables}
        found: dict[int, ValueMatch] = {}

        def add(i: int, phrase: str, score: float) -> None:
            table, column, value = self.entries[i]
            if allowed is not None and table.lower() not in allowed:
                return
            old = found.get(i)
            if old is None or (score, len(phrase)) > (old.score, len(old.phrase)):
                found[i] = ValueMatch(table, column, value, phrase, score)

        for phrase in _phrases(question):
            low = phrase.casefold()
            hits = self._exact.get(low)
            if hits:
                for i in hits:
                    add(i, phrase, 100.0)
                continue
            if len(low) >= 4:
                for _, score, i in process.extract(low, self._lower, scorer=fuzz.ratio, limit=3,
                                                   score_cutoff=FUZZY_CUTOFF):
                    add(i, phrase, float(score))
            if " " not in low and len(low) >= 4:
                for i in self._words.get(low, [])[:5]:
                    add(i, phrase, 75.0)
        ranked = sorted(found.values(), key=lambda m: (-m.score, -len(m.phrase), m.table, m.column))
        out: list[ValueMatch] = []
        for m in ranked:
            # a phrase inside a longer matched phrase adds nothing ("new" inside "new york")
            if any(m.phrase.casefold() in o.phrase.casefold() and m.phrase != o.phrase and o.score >= m.score
                   for o in out):
                continue
            out.append(m)
            if len(out) == k:
                break
        return out


def _is_text(type_name: str) -> bool:
    upper = (type_name or "TEXT").upper()
    return any(t in upper for t in _TEXT_TYPES)


def _phrases(question: str, longest: int = 4) -> list[str]:
    """Quoted strings, then word n-grams (longest first) that are not made of stop words only."""
    out = [m.strip() for m in _QUOTED.findall(question)]
    words = [w.strip(".'") for w in _WORD.findall(question)]
    words = [w for w in words if w]
    for n in range(min(longest, len(words)), 0, -1):
        for i in range(len(words) - n + 1):
            gram = words[i:i + n]
            if gram[0].lower() in STOPWORDS or gram[-1].lower() in STOPWORDS:
                continue
            if n == 1 and len(gram[0]) < 3 and not gram[0].isdigit():
                continue
            out.append(" ".join(gram))
    seen: set[str] = set()
    return [p for p in out if not (p.casefold() in seen or seen.add(p.casefold()))]  # type: ignore[func-returns-value]


def render_matches(matches: list[ValueMatch], schema: Schema | None = None) -> str:
    """Prompt lines: where each named value is stored, spelled exactly as stored, and how its table joins
    the others shown. Worded as a fact, not as a condition: written as ``genre.name = 'Rock'`` a small model
    copies it into a WHERE clause without the join it needs."""
    lines = []
    for m in matches:
        value = m.value.replace("'", "''")
        said = "" if m.phrase == m.value else f" (the question says \"{m.phrase}\")"
        lines.append(f"- '{value}' is stored in column {m.column} of table {m.table}{said}" + _joins(m.table, schema))
    return "\n".join(lines)


def _joins(table: str, schema: Schema | None) -> str:
    """'; join it with t.c = table.c' for each foreign key between ``table`` and another table of ``schema``."""
    if schema is None:
        return ""
    low, pairs = table.lower(), []
    for t in schema.tables:
        for fk in t.foreign_keys:
            if t.name.lower() == low and schema.table(fk.ref_table) is not None:
                pairs += [f"{t.name}.{c} = {fk.ref_table}.{r}" for c, r in zip(fk.columns, fk.ref_columns)]
            elif fk.ref_table.lower() == low and t.name.lower() != low:
                pairs += [f"{t.name}.{c} = {table}.{r}" for c, r in zip(fk.columns, fk.ref_columns)]
    return f"; join it with {', '.join(pairs[:3])}" if pairs else ""


def link_tables(matches: list[ValueMatch], tables: list[str], question: str) -> list[ValueMatch]:
    """The matches worth showing: where one value is stored in several columns, those in tables already
    selected, else the one whose table the question names (else the first) — a table that holds a
    named value is needed even if ranking missed it, but not every table that happens to hold it."""
    words = set(question.lower().replace("?", " ").split())
    by_value: dict[str, list[ValueMatch]] = {}
    for m in matches:
        by_value.setdefault(m.value.casefold(), []).append(m)
    out: list[ValueMatch] = []
    for group in by_value.values():
        shown = [m for m in group if m.table in tables][:2]
        if not shown:
            named = [m for m in group if set(m.table.lower().split("_")) & words]
            shown = [(named or group)[0]]
        out += shown
    return out
