"""bench_search's sections for issue 11 — does search hold on questions nobody tuned it for?

* :func:`fusion_cv_table` — every fusion on the same candidates (``_signals``), chosen by leave-one-set-out
  cross-validation over the tuning sets, reported on them *and* on held-out sets;
* :func:`cutoff_table` — per set, the share of answerable questions ``auto`` answers with nothing and the
  share of unrelated questions (another set's) it refuses;
* :func:`bundled_table` — the bundled corpus with ``examples/paraphrase-questions.json`` under the defaults;
* :func:`mixed_dataset` — SQuAD dev paragraphs and idioms in one KB, queries from both;
* :func:`stemming_rows` — lexical and hybrid nDCG@10 with and without stemming (a child process per setting:
  the stemmer is fixed when ``localkb.search.tokenizer`` is imported).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _signals as S

from localkb.search.eval import Dataset

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
#: (label, fusion method, alpha); "convex" is the evidence-weighted one (dense strength on the KB's own scale
#: where it has one), "convex-bank" the same on the bank's scale (the default before)
CANDIDATES: list[tuple[str, str, float]] = (
    [("evidence α=0.5", "convex", 0.5), ("evidence α=0.4", "convex", 0.4),
     ("evidence, bank scale α=0.5", "convex-bank", 0.5), ("evidence, bank scale α=0.4", "convex-bank", 0.4),
     ("RRF k=60", "rrf", 0.5)]
    + [(f"fixed α={a}", "convex-fixed", a) for a in (0.3, 0.5, 0.7)]
    + [(f"z-score α={a}", "zscore", a) for a in (0.3, 0.5, 0.7)]
    + [(f"dbsf α={a}", "dbsf", a) for a in (0.3, 0.5, 0.7)]
)


def margin(row: dict[str, float], label: str) -> float:
    """How far a fusion is above the better of its parts on one set (the target is ≥ +0.01)."""
    return row[label] - max(row["dense"], row["lexical"])


def fusion_rows(signals: dict[str, list[S.Signals]]) -> dict[str, dict[str, float]]:
    out = {}
    for name, sig in signals.items():
        row = {m: S.mean_ndcg(sig, m) for m in ("dense", "lexical")}
        row.update({label: S.mean_ndcg(sig, method, alpha) for label, method, alpha in CANDIDATES})
        out[name] = row
    return out


def choose(rows: dict[str, dict[str, float]], sets: list[str]) -> str:
    """The candidate with the best worst-case margin over ``sets`` (ties: best mean margin)."""
    return max((label for label, _, _ in CANDIDATES),
               key=lambda lab: (min(margin(rows[s], lab) for s in sets),
                                sum(margin(rows[s], lab) for s in sets) / len(sets)))


def fusion_cv_table(rows: dict[str, dict[str, float]], tuning: list[str], heldout: list[str]) -> tuple[str, dict[str, Any]]:
    """Leave-one-set-out over ``tuning``: the choice made without each set, scored on it; then the choice
    made on all tuning sets, scored on the held-out ones. Every candidate's nDCG@10 is in the table."""
    picks = {s: choose(rows, [t for t in tuning if t != s]) for s in tuning}
    final = choose(rows, tuning)
    labels = [label for label, _, _ in CANDIDATES]
    lines = ["| set | role | dense | lexical | " + " | ".join(labels) + " | chosen without this set | its margin |",
             "|---|---|---:|---:|" + "---:|" * len(labels) + "---|---:|"]
    for s in tuning + heldout:
        pick = picks.get(s, final)
        role = "tuning (left out)" if s in tuning else "held out"
        cells = " | ".join(f"{rows[s][lab]:.3f}" for lab in labels)
        lines.append(f"| {s} | {role} | {rows[s]['dense']:.3f} | {rows[s]['lexical']:.3f} | {cells} | {pick} | "
                     f"{margin(rows[s], pick):+.3f} |")
    return "\n".join(lines), {"rows": rows, "cv_picks": picks, "final": final}


def cutoff_table(answerable: dict[str, list[S.Signals]], unrelated: dict[str, tuple[str, list[S.Signals]]],
                 roles: dict[str, str]) -> tuple[str, dict[str, Any]]:
    lines = ["| set | role | answerable questions cut by `auto` (hybrid) | unrelated from | unrelated refused |",
             "|---|---|---:|---|---:|"]
    raw = {}
    for name, sig in answerable.items():
        judged = [s for s in sig if s.rel]
        cut = sum(not S.answered(s) for s in judged) / max(1, len(judged))
        src, un = unrelated.get(name, ("–", []))
        refused = sum(not S.answered(s) for s in un) / len(un) if un else None
        raw[name] = {"cut": cut, "unrelated_refused": refused, "n": len(judged), "n_unrelated": len(un)}
        lines.append(f"| {name} | {roles.get(name, '')} | {100 * cut:.1f}% of {len(judged)} | {src} | "
                     + ("–" if refused is None else f"{100 * refused:.0f}% of {len(un)}") + " |")
    return "\n".join(lines), raw


ZH_UNRELATED = HERE / "data" / "zh-unrelated-questions.json"


def zh_unrelated_queries() -> dict[str, str]:
    """Everyday Chinese questions about nothing in these corpora (benchmarks/data; not the calibration bank)."""
    data = json.loads(ZH_UNRELATED.read_text(encoding="utf-8"))
    return {f"zh-unrelated-{i}": q for i, q in enumerate(data["questions"])}


def terms_table(answerable: dict[str, list[S.Signals]], unrelated: dict[str, list[S.Signals]],
                roles: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Chinese queries under hybrid ``auto``, with the terms bar (``thresholds.terms_bar``) and without it (the
    bank's rule alone): answerable questions cut and everyday Chinese questions refused."""
    lines = ["| set | role | answerable cut, with the terms bar | without | everyday Chinese questions refused, "
             "with | without | terms bar (median of the bank's shares → cut-off) |",
             "|---|---|---:|---:|---:|---:|---|"]
    raw = {}
    for name, sig in answerable.items():
        judged = [s for s in sig if s.rel]
        un = unrelated.get(name, [])
        row = {"n": len(judged), "n_unrelated": len(un)}
        for label, on in (("with", True), ("without", False)):
            row[f"cut_{label}"] = sum(not S.answered(s, use_terms=on) for s in judged) / max(1, len(judged))
            row[f"refused_{label}"] = sum(not S.answered(s, use_terms=on) for s in un) / max(1, len(un))
        bar = next((s.calibration["terms"] for s in judged if s.calibration and s.calibration.get("terms")), None)
        row["bar"] = bar
        raw[name] = row
        shown = f"{bar['median']:.3f} → {bar['cutoff']:.3f}" if bar else "none (the language has an evidence scale)"
        lines.append(f"| {name} | {roles.get(name, '')} | {100 * row['cut_with']:.1f}% of {len(judged)} | "
                     f"{100 * row['cut_without']:.1f}% | {100 * row['refused_with']:.0f}% of {len(un)} | "
                     f"{100 * row['refused_without']:.0f}% | {shown} |")
    return "\n".join(lines), raw


def bundled_table(search: Callable[[str], Any]) -> tuple[str, dict[str, Any]]:
    """The bundled corpus under the defaults: is each listed question answered (and its expected text
    among the top 3) or refused?"""
    data = json.loads((EXAMPLES / "paraphrase-questions.json").read_text(encoding="utf-8"))
    lines = ["| question | should be | result | calibration bank, cut-off |", "|---|---|---|---|"]
    ok = 0
    rows = [(q, exp, True) for q, exp in data["answerable"]] + [(q, None, False) for q in data["unrelated"]]
    for query, expected, answerable in rows:
        res = search(query)
        found = bool(res.hits) and (expected is None or any(expected in h.text for h in res.hits[:3]))
        good = found if answerable else not res.hits
        ok += good
        cal = res.calibration or {}
        lines.append(f"| {query} | {'answered' if answerable else 'refused'} | "
                     f"{'answered' if res.hits else 'refused'}{'' if good else ' ✗'} | "
                     f"{cal.get('bank', '–')}, {cal.get('cutoff', float('nan')):.3f} |")
    colloquial = data["colloquial_zh"]
    answered = sum(bool(res.hits) and any(exp in h.text for h in res.hits[:3])
                   for res, exp in ((search(q), exp) for q, exp in colloquial["answerable"]))
    refused = sum(not search(q).hits for q in colloquial["unrelated"])
    return "\n".join(lines), {"right": ok, "of": len(rows),
                              "colloquial_zh": {"answered": answered, "of": len(colloquial["answerable"]),
                                                "refused": refused, "of_unrelated": len(colloquial["unrelated"])}}


def mixed_dataset(en: Dataset, zh: Dataset) -> Dataset:
    """One corpus of English paragraphs and Chinese idioms; queries (and qrels) from both, ids prefixed."""
    corpus = {f"en-{d}": r for d, r in en.corpus.items()} | {f"zh-{d}": r for d, r in zh.corpus.items()}
    queries = {f"en-{q}": r for q, r in en.queries.items()} | {f"zh-{q}": r for q, r in zh.queries.items()}
    qrels = ({f"en-{q}": {f"en-{d}": g for d, g in rel.items()} for q, rel in en.qrels.items()}
             | {f"zh-{q}": {f"zh-{d}": g for d, g in rel.items()} for q, rel in zh.qrels.items()})
    return Dataset(en.folder, corpus, queries, qrels)


def by_language(sig: list[S.Signals]) -> dict[str, list[S.Signals]]:
    return {"en": [s for s in sig if s.qid.startswith("en-")], "zh": [s for s in sig if s.qid.startswith("zh-")]}


def stemming_rows(args: list[str]) -> dict[str, dict[str, float]]:
    """{"on"/"off": {set/mode: nDCG@10}} from two child runs of bench_search ``--lexical-json``."""
    out = {}
    for label, value in (("on", ""), ("off", "off")):
        env = {**os.environ, "LOCALKB_STEMMING": value}
        proc = subprocess.run([sys.executable, str(HERE / "bench_search.py"), "--stemming-json", *args],
                              env=env, capture_output=True, text=True, check=True)
        out[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def unrelated_queries(src: Dataset, n: int, seed: int = 7) -> dict[str, str]:
    judged = [q for q in sorted(src.queries) if q in src.qrels]
    return {q: src.queries[q]["text"] for q in random.Random(seed).sample(judged, min(n, len(judged)))}


# -- the refusal rule: dense + lexical evidence on the KB's own scale (search.evidence) ------------------
#: evidence thresholds replayed for the trade-off curve (the engine's: ``evidence.THRESHOLD``)
EVIDENCE_GRID = tuple(round(0.3 + 0.05 * i, 2) for i in range(15))
BEFORE = "before: cosine ≥ bank & KB bars, or BM25 coverage ≥ 0.2"


def refusal(sig: list[S.Signals], threshold: float | None) -> float:
    """Share of ``sig`` that hybrid ``auto`` refuses with the evidence rule at ``threshold`` (None: the rule
    before it, the cosine bars and BM25 coverage)."""
    import dataclasses

    out = 0
    for s in sig:
        cal = s.calibration
        if cal is not None and threshold is not None and cal.get("evidence"):
            cal = {**cal, "evidence": {**cal["evidence"], "threshold": threshold}}
        out += not S.answered(dataclasses.replace(s, calibration=cal), use_evidence=threshold is not None)
    return out / max(1, len(sig))


def evidence_curve(answerable: dict[str, list[S.Signals]], unrelated: dict[str, list[S.Signals]],
                   sets: list[str]) -> dict[str, dict[str, tuple[float, float]]]:
    """{rule: {set: (answerable cut, unrelated refused)}} for the rule before and every grid threshold."""
    out = {}
    for threshold in (None, *EVIDENCE_GRID):
        label = BEFORE if threshold is None else f"evidence ≥ {threshold:.2f}"
        out[label] = {n: (refusal([s for s in answerable[n] if s.rel], threshold), refusal(unrelated[n], threshold))
                      for n in sets}
    return out


def choose_threshold(curve: dict[str, dict[str, tuple[float, float]]], sets: list[str], max_cut: float = 0.03) -> float:
    """The threshold whose worst unrelated refusal over ``sets`` is highest while every set's answerable cut
    stays within ``max_cut`` (ties: the lower worst cut); the lowest threshold when none qualifies."""
    def key(t: float) -> tuple[bool, float, float]:
        row = curve[f"evidence ≥ {t:.2f}"]
        worst_cut = max(row[n][0] for n in sets)
        return (worst_cut <= max_cut, min(row[n][1] for n in sets), -worst_cut)
    return max(EVIDENCE_GRID, key=key)


def evidence_tables(curve: dict[str, dict[str, tuple[float, float]]], tuning: list[str], heldout: list[str]
                    ) -> tuple[str, dict[str, Any]]:
    """Leave-one-set-out choice of the threshold over the English tuning sets, then the trade-off curve."""
    picks = {s: choose_threshold(curve, [t for t in tuning if t != s]) for s in tuning}
    final = choose_threshold(curve, tuning)
    lines = ["| set | role | threshold chosen without it | answerable cut | unrelated refused | before: cut | refused |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for s in tuning + heldout:
        t = picks.get(s, final)
        cut, ref = curve[f"evidence ≥ {t:.2f}"][s]
        bcut, bref = curve[BEFORE][s]
        lines.append(f"| {s} | {'tuning (left out)' if s in tuning else 'held out'} | {t:.2f} | {100 * cut:.1f}% | "
                     f"{100 * ref:.0f}% | {100 * bcut:.1f}% | {100 * bref:.0f}% |")
    sets = tuning + heldout
    curve_lines = ["| rule | " + " | ".join(sets) + " | worst cut | worst refused |",
                   "|---|" + "---:|" * (len(sets) + 2)]
    for label, row in curve.items():
        curve_lines.append(f"| {label} | " + " | ".join(f"{100 * row[s][0]:.1f}% / {100 * row[s][1]:.0f}%" for s in sets)
                           + f" | {100 * max(row[s][0] for s in sets):.1f}% | {100 * min(row[s][1] for s in sets):.0f}% |")
    return "\n".join(lines) + "\n\nTrade-off (answerable cut / unrelated refused, hybrid `auto`):\n\n" + "\n".join(curve_lines), \
        {"picks": picks, "final": final, "curve": curve}
