"""Result-set equivalence: how the agent votes between candidates and how ``eval sql`` scores them.

Two results are equivalent when they hold the same rows (floats rounded to 4 places), as a multiset
when order does not matter and as a list when it does. Execution accuracy over several databases
(fillings of one schema: "test-suite accuracy", Zhong et al., 2020) asks for equivalence on every
database where the gold query runs. ``benchmarks/bench_sql.py`` and ``localkb eval sql`` use the same
functions.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

Rows = list[tuple[Any, ...]]
#: runs one statement and returns its rows, or None when it fails
Runner = Callable[[str], "Rows | None"]

_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


def normalise_rows(rows: Sequence[Sequence[Any]]) -> Rows:
    return [tuple(round(v, 4) if isinstance(v, float) else v for v in row) for row in rows]


def result_key(rows: Sequence[Sequence[Any]], *, ordered: bool = False) -> str:
    """A hashable stand-in for a result set: equal keys ⇔ equivalent results."""
    reprs = [repr(r) for r in normalise_rows(rows)]
    return repr(reprs if ordered else sorted(Counter(reprs).items()))


def results_equal(gold: Sequence[Sequence[Any]], pred: Sequence[Sequence[Any]], ordered: bool) -> bool:
    return result_key(gold, ordered=ordered) == result_key(pred, ordered=ordered)


def is_ordered(sql: str) -> bool:
    """Whether row order is part of the answer (the gold query sorts)."""
    return bool(_ORDER_BY.search(sql or ""))


def execution_match(runners: Sequence[Runner], gold: str, pred: str | None) -> bool | None:
    """True/False when ``gold`` runs on at least one database; None when it runs on none (unscorable)."""
    ordered = is_ordered(gold)
    usable = 0
    for run in runners:
        g = run(gold)
        if g is None:
            continue
        usable += 1
        if pred is None:
            return False
        p = run(pred)
        if p is None or not results_equal(g, p, ordered):
            return False
    return True if usable else None


def vote(results: Sequence[Rows]) -> tuple[int, int]:
    """Self-consistency: the index of the winning result and how many results agree with it.

    Results are grouped by equivalence (order ignored); the largest group wins, a non-empty result
    beats an empty one of the same support, and ties go to the earliest (the greedy reply comes first).
    """
    if not results:
        raise ValueError("nothing to vote on")
    groups: dict[str, list[int]] = {}
    for i, rows in enumerate(results):
        groups.setdefault(result_key(rows), []).append(i)
    best = max(groups.values(), key=lambda members: (len(members), bool(results[members[0]]), -members[0]))
    return best[0], len(best)
