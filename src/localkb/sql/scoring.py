"""Result-set equivalence: how the agent votes between candidates and how ``eval sql`` scores them.

Two results are equivalent when they hold the same rows (floats rounded to 4 places), as a multiset
when order does not matter and as a list when it does. The *relaxed* reading (``relaxed_match``)
also accepts a prediction whose result holds the gold columns as a projection, with extra columns. Execution accuracy over several databases
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
    return _everywhere(runners, gold, pred, lambda g, p: results_equal(g, p, ordered))


def _everywhere(runners: Sequence[Runner], gold: str, pred: str | None, same: Callable[[Rows, Rows], bool]
                ) -> bool | None:
    """``same(gold rows, pred rows)`` on every database where ``gold`` runs; None when it runs nowhere."""
    usable = 0
    for run in runners:
        g = run(gold)
        if g is None:
            continue
        usable += 1
        if pred is None:
            return False
        p = run(pred)
        if p is None or not same(g, p):
            return False
    return True if usable else None


_DISTINCT = re.compile(r"^\s*select\s+distinct\b", re.IGNORECASE)


def projection_equal(gold: Sequence[Sequence[Any]], pred: Sequence[Sequence[Any]], *, ordered: bool = False,
                     distinct: bool = False) -> bool:
    """The relaxed comparison: some choice of distinct ``pred`` columns, one per gold column, reproduces
    the gold rows — as a multiset, or a list when ``ordered``; with ``distinct`` duplicates are dropped
    first (the extra columns may split one gold row into several). Extra columns in the prediction are
    forgiven, and a gold column repeated verbatim is needed once; missing columns, extra rows or other
    values are not."""
    g, p = normalise_rows(gold), normalise_rows(pred)
    if not g or not p:
        return not g and not p
    if any(len(r) != len(g[0]) for r in g):
        return False
    keep = [i for i, col in enumerate(zip(*g)) if col not in list(zip(*g))[:i]]  # a repeated gold column once
    g = [tuple(r[i] for i in keep) for r in g]
    width = len(keep)
    if len(p[0]) < width:
        return False

    def same(a: Rows, b: Rows) -> bool:
        if distinct:  # first occurrences, in order
            x, y = list(dict.fromkeys(map(repr, a))), list(dict.fromkeys(map(repr, b)))
            return x == y if ordered else set(x) == set(y)
        return results_equal(a, b, ordered)

    gcols = list(zip(*g))
    pcols = list(zip(*p))
    # a gold column can only come from a pred column holding the same values
    options = [[j for j, pc in enumerate(pcols) if same([(v,) for v in gc], [(v,) for v in pc])] for gc in gcols]
    if any(not o for o in options):
        return False
    budget = [10_000]  # projections tried, at most

    def search(i: int, chosen: list[int]) -> bool:
        if i == width:
            budget[0] -= 1
            return same(g, [tuple(row[j] for j in chosen) for row in p])
        return any(search(i + 1, [*chosen, j]) for j in options[i] if j not in chosen and budget[0] > 0)

    return search(0, [])


def relaxed_match(runners: Sequence[Runner], gold: str, pred: str | None) -> bool | None:
    """The relaxed execution match: ``projection_equal`` on every database where ``gold`` runs (order
    matters only when the gold query sorts; duplicates dropped when it says SELECT DISTINCT). True/False/None
    as ``execution_match``."""
    ordered, distinct = is_ordered(gold), bool(_DISTINCT.match(gold or ""))
    return _everywhere(runners, gold, pred, lambda g, p: projection_equal(g, p, ordered=ordered, distinct=distinct))


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
