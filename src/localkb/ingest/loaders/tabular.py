"""CSV and JSON: each record becomes one paragraph of ``field: value`` lines, so a chunk keeps its labels."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from ...errors import LoaderError
from . import Loaded
from .text import decode


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
    for row in body:
        pairs = []
        for i, value in enumerate(row):
            name = header[i].strip() if i < len(header) and header[i].strip() else f"column {i + 1}"
            if value.strip():
                pairs.append(f"{name}: {value.strip()}")
        if pairs:
            records.append("\n".join(pairs))
    return Loaded(text="\n\n".join(records), format="csv")


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


def _records(doc: Any) -> str:
    if isinstance(doc, list):
        return "\n\n".join("\n".join(_flatten(item)) for item in doc if _flatten(item))
    return "\n\n".join(_flatten(doc)) if isinstance(doc, dict) else "\n".join(_flatten(doc))


def load_json(data: bytes) -> Loaded:
    try:
        doc = json.loads(decode(data))
    except json.JSONDecodeError as exc:
        raise LoaderError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    return Loaded(text=_records(doc), format="json")


def load_jsonl(data: bytes) -> Loaded:
    items = []
    for n, line in enumerate(decode(data).splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise LoaderError(f"malformed JSON Lines at line {n}: {exc.msg}") from exc
    return Loaded(text=_records(items), format="jsonl")
