"""CSV and JSON: each record becomes one paragraph of ``field: value`` lines, so a chunk keeps its labels."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from ...errors import LoaderError
from . import MAX_FIELD_VALUES, Loaded
from .text import decode

#: longer values (prose in a JSON answer field) are not recorded as filterable metadata
MAX_VALUE_CHARS = 200


def field_values(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Each field's distinct values in order of appearance (at most ``MAX_FIELD_VALUES``), for ``--where``."""
    values: dict[str, dict[str, None]] = {}
    for name, value in pairs:
        seen = values.setdefault(name, {})
        if value and len(value) <= MAX_VALUE_CHARS and len(seen) < MAX_FIELD_VALUES:
            seen.setdefault(value)
    return {name: list(seen) for name, seen in values.items() if seen}


def load_csv(data: bytes) -> Loaded:
    text = decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise LoaderError("CSV has no rows")
    header, body = rows[0], rows[1:]
    if not body:  # a single row: no header to label with
        return Loaded(text=" | ".join(header), format="csv")
    records = []
    cells: list[tuple[str, str]] = []
    for row in body:
        pairs = []
        for i, value in enumerate(row):
            name = header[i].strip() if i < len(header) and header[i].strip() else f"column {i + 1}"
            if value.strip():
                pairs.append(f"{name}: {value.strip()}")
                cells.append((name, value.strip()))
        if pairs:
            records.append("\n".join(pairs))
    return Loaded(text="\n\n".join(records), format="csv", meta=field_values(cells))


def _flatten(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        out: list[str] = []
        for k, v in value.items():
            out.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return [f"{prefix}: {', '.join(str(v) for v in value)}"] if value else []
        out = []
        for i, v in enumerate(value):
            out.extend(_flatten(v, f"{prefix}[{i}]" if prefix else f"[{i}]"))
        return out
    if value is None:
        return []
    return [f"{prefix}: {value}" if prefix else str(value)]


def _scalars(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(key path, value) of every scalar; list positions are dropped (``items[3].sku`` → ``items.sku``)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _scalars(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(value, list):
        return [p for v in value for p in _scalars(v, prefix)]
    if value is None or not prefix:
        return []
    return [(prefix, str(value).strip())]


def _records(doc: Any) -> str:
    if isinstance(doc, list):
        return "\n\n".join("\n".join(_flatten(item)) for item in doc if _flatten(item))
    return "\n\n".join(_flatten(doc)) if isinstance(doc, dict) else "\n".join(_flatten(doc))


def load_json(data: bytes) -> Loaded:
    try:
        doc = json.loads(decode(data))
    except json.JSONDecodeError as exc:
        raise LoaderError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    return Loaded(text=_records(doc), format="json", meta=field_values(_scalars(doc)))


def load_jsonl(data: bytes) -> Loaded:
    items = []
    for n, line in enumerate(decode(data).splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise LoaderError(f"malformed JSON Lines at line {n}: {exc.msg}") from exc
    return Loaded(text=_records(items), format="jsonl", meta=field_values(_scalars(items)))
