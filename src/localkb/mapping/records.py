"""What the map writes into ``chunks.sqlite`` (migration 2) and what search reads back.

* ``chunk_duplicates`` — applied near-duplicate groups: every member keeps its text, sources and vector;
  search shows the best-ranked member of a group once and lists the others as collapsed. ``undo`` deletes
  the rows: nothing else was changed, so it restores exactly.
* ``chunk_clusters`` + ``map_runs['cluster']`` — each chunk's cluster id and the last run's labels,
  terms and features (so ``search --cluster N`` filters, the page colours, and a re-run updates).

Light on imports: the search engine imports this module.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import SearchError

if TYPE_CHECKING:
    from ..db import Database
    from .dedup import DuplicateGroup


def apply_groups(db: Database, groups: Sequence[DuplicateGroup]) -> int:
    """Record ``groups`` (replacing any applied before). Returns the number of groups recorded."""
    now = time.time()
    with db.transaction() as conn:
        conn.execute("DELETE FROM chunk_duplicates")
        for g in groups:
            for m in g.members:
                conn.execute("INSERT OR REPLACE INTO chunk_duplicates VALUES (?, ?, ?, ?, ?)",
                             (m["chunk_id"], g.id, g.representative, float(m["score"]), now))
    return len(groups)


def undo_groups(db: Database) -> dict[str, int]:
    """Forget every applied group. Returns how many groups and chunks were restored."""
    groups = int(db.scalar("SELECT COUNT(DISTINCT group_id) FROM chunk_duplicates") or 0)
    chunks = int(db.scalar("SELECT COUNT(*) FROM chunk_duplicates") or 0)
    with db.transaction() as conn:
        conn.execute("DELETE FROM chunk_duplicates")
    return {"groups": groups, "chunks": chunks}


def has_groups(db: Database) -> bool:
    return db.scalar("SELECT 1 FROM chunk_duplicates LIMIT 1") is not None


def collapse(db: Database, order: Sequence[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """``order`` with only the first (best-ranked) member of each applied group, and what was dropped."""
    group_of: dict[str, int] = {}
    ids = list(order)
    for i in range(0, len(ids), 500):
        batch = ids[i:i + 500]
        marks = ",".join("?" * len(batch))
        for r in db.query(f"SELECT chunk_id, group_id FROM chunk_duplicates WHERE chunk_id IN ({marks})", batch):
            group_of[str(r["chunk_id"])] = int(r["group_id"])
    kept: list[str] = []
    first: dict[int, str] = {}
    dropped: list[dict[str, Any]] = []
    for cid in ids:
        group = group_of.get(cid)
        if group is None:
            kept.append(cid)
        elif group not in first:
            first[group] = cid
            kept.append(cid)
        else:
            dropped.append({"id": cid, "group": group, "kept": first[group]})
    return kept, dropped


def save_clusters(db: Database, assignment: dict[str, int], run: dict[str, Any]) -> None:
    with db.transaction() as conn:
        conn.execute("DELETE FROM chunk_clusters")
        conn.executemany("INSERT INTO chunk_clusters VALUES (?, ?)", sorted(assignment.items()))
        conn.execute("INSERT OR REPLACE INTO map_runs VALUES ('cluster', ?, ?)",
                     (json.dumps(run, ensure_ascii=False), time.time()))


def last_cluster_run(db: Database) -> dict[str, Any] | None:
    raw = db.scalar("SELECT data FROM map_runs WHERE name='cluster'")
    return json.loads(raw) if raw else None


def cluster_assignment(db: Database) -> dict[str, int]:
    return {str(r["chunk_id"]): int(r["cluster"]) for r in db.query("SELECT chunk_id, cluster FROM chunk_clusters")}


def chunks_in_cluster(db: Database, cluster: int) -> set[str]:
    """Chunk ids of cluster ``cluster`` of the last run.

    Raises:
        SearchError: no cluster run yet, or no cluster with that id.
    """
    run = last_cluster_run(db)
    if run is None:
        raise SearchError("This KB has no clusters yet: run `localkb cluster` first.")
    known = [int(c["id"]) for c in run.get("clusters", [])]
    if cluster not in known:
        raise SearchError(f"No cluster {cluster}: the last `localkb cluster` made clusters "
                          f"{', '.join(map(str, known))}.", cluster=cluster)
    return {str(r[0]) for r in db.query("SELECT chunk_id FROM chunk_clusters WHERE cluster=?", (cluster,))}


def stale_map_notes(db: Database) -> list[str]:
    """After an ingest: what the stored duplicate groups and clusters do not cover yet (said, not redone —
    dedup and cluster cost minutes on a large KB)."""
    notes = []
    if has_groups(db):
        notes.append("Duplicate groups were applied before this ingest; new and changed chunks are not grouped "
                     "until `localkb dedup --apply` runs again.")
    if last_cluster_run(db) is not None:
        fresh = int(db.scalar("SELECT COUNT(DISTINCT dc.chunk_id) FROM doc_chunks dc LEFT JOIN chunk_clusters cc "
                              "ON cc.chunk_id = dc.chunk_id WHERE cc.chunk_id IS NULL") or 0)
        if fresh:
            notes.append(f"{fresh} chunks have no cluster yet; `localkb cluster` updates the clusters.")
    return notes
