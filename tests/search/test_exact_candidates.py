"""The identifier rule's candidates at scale (issue 18): ``engine.code_matches`` reads only part of the
holders' texts (in rank order, a batch at a time) and must give what verifying every holder gives."""
from __future__ import annotations

import random

import pytest

from localkb.db import Database
from localkb.search.engine import EXACT_CAP, code_matches
from localkb.search.identifiers import matched_codes


class Parts:
    """What ``code_matches`` uses of a KB: its real chunks.sqlite."""

    def __init__(self, db: Database) -> None:
        self.db = db


def reference(db, codes, candidates, holders, lex):
    texts = {r[0]: r[1] for r in db.query("SELECT id, embed_text FROM chunks")}
    pool = dict.fromkeys([*candidates, *holders])
    matches = {c: m for c, m in matched_codes({c: texts[c] for c in pool if c in texts}, codes).items() if m}
    extra = sorted((c for c in matches if c not in candidates), key=lambda c: (-len(matches[c]), -lex(c), c))
    return matches, extra[:EXACT_CAP]


@pytest.mark.parametrize("codes", [["NFL"], ["E11.9"], ["NFL", "E11.9"]])
def test_code_matches_equals_verifying_every_holder(tmp_path, codes):
    rng = random.Random(18)
    db = Database(tmp_path / "chunks.sqlite")
    variants = ["NFL", "nfl", "NFLX", "E11.9", "e11.9", "E11.91", "E11.9.1", "NFL's", "the NFL-E11.9 pair", "none"]
    rows = []
    for n in range(900):
        words = " ".join(rng.choice(variants) for _ in range(rng.randint(0, 3)))
        rows.append((f"c{n:04d}", f"chunk {n}: {words} filler", f"chunk {n}: {words} filler", 0))
    with db.transaction() as conn:
        conn.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?)", rows)
    ids = [r[0] for r in rows]
    scores = {c: float(rng.choice([0.0, 1.5, 2.5, 2.5, 3.0]) + rng.random() * (n % 3)) for n, c in enumerate(ids)}
    candidates = rng.sample(ids, 60)
    holders = [c for c in ids if c not in candidates][:800] + ["gone-id"]  # a holder no longer in SQLite
    got = code_matches(Parts(db), codes, candidates, holders,  # type: ignore[arg-type]
                       lambda cids: {c: scores.get(c, 0.0) for c in cids})
    want = reference(db, codes, candidates, holders, lambda c: scores.get(c, 0.0))
    assert got[1] == want[1] and len(want[1]) == EXACT_CAP  # more matching holders than the cap: it binds
    assert {c: got[0][c] for c in [*candidates, *want[1]] if c in got[0]} == \
           {c: want[0][c] for c in [*candidates, *want[1]] if c in want[0]}
    assert {code: any(code in m for m in got[0].values()) for code in codes} == \
           {code: any(code in m for m in want[0].values()) for code in codes}
    db.close()
