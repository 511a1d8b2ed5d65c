"""Evaluation you can look at: ``localkb eval retrieval … --report report.html --plot figure.png``.

:func:`build_report` takes the evaluated run and searches every query again in each mode with no
cut-off (``min_score="none"``), which shows what the ranking alone does:

* per query: the relevant documents, what came first, the rank of the first relevant one — failing
  queries first (an answerable query whose first hit is not relevant, or that was wrongly refused; an
  unrelated query that got hits);
* the dense (cosine) scores of relevant and non-relevant hits (top 10 per query) and of the calibration
  bank's unrelated sentences, with the KB's calibrated cut-off drawn on them;
* recall@k for k = 1…100 per mode;
* the abstention trade-off: for each cosine cut-off, the share of unrelated queries refused and of
  answerable queries cut (by their best cosine; in hybrid mode a strong BM25 match can still answer).

:func:`write_html` renders one self-contained file (figures as inline SVG, CSS inline, no script, no
external resource: it opens offline); :func:`write_png` writes the three figures as one PNG. Both use
matplotlib's Agg backend. :func:`calibration_view` is the same distribution for an open KB, without a
dataset (the web page's overview shows it).
"""
from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MissingDependency, SearchError
from .eval import Dataset, Run, per_query_metrics, rank_documents

if TYPE_CHECKING:
    from ..parts import SearchedKB

CURVE_KS = (1, 2, 3, 5, 10, 20, 30, 50, 100)
MODES = ("hybrid", "dense", "lexical")


@dataclass
class QueryRow:
    qid: str
    text: str
    answerable: bool
    ok: bool
    relevant: list[str]
    top: list[tuple[str, float]]
    first_relevant: int | None
    ndcg: float | None
    best_dense: float | None
    problem: str = ""


@dataclass
class Report:
    dataset: str
    mode: str
    model: str
    metrics: dict[str, Any]
    rows: list[QueryRow]
    recall: dict[str, list[tuple[int, float]]]
    relevant_scores: list[float]
    other_scores: list[float]
    bank_scores: list[float]
    cutoff: float | None
    calibration: dict[str, Any] | None
    answerable_best: list[float] = field(default_factory=list)
    unrelated_best: list[float] = field(default_factory=list)


def calibration_view(kb: SearchedKB) -> dict[str, Any]:
    """The KB's calibrated cut-off and where it came from: each bank sentence (text about nothing in this
    KB) with its best cosine here. ``{"cutoff": None, ...}`` for an empty KB."""
    from . import thresholds

    record = thresholds.calibration_record(kb)
    if record is None:
        return {"cutoff": None, "calibration": None, "bank": []}
    bank = thresholds.BANK_ZH if record.get("language") == "zh" else thresholds.BANK_EN
    from ..embedders.base import embed_queries

    vectors = embed_queries(kb.embedder, list(bank))
    scored = []
    for text, row in zip(bank, vectors):
        hits = kb.store.search(row[None, :], 1)
        if hits:
            scored.append({"text": text, "score": round(float(hits[0].score), 4)})
    return {"cutoff": record["cutoff"], "calibration": record, "bank": scored}


def _rankings(ds: Dataset, kb: SearchedKB, names: dict[str, str], mode: str) -> dict[str, list[tuple[str, float]]]:
    out: dict[str, list[tuple[str, float]]] = {}
    for qid, row in ds.queries.items():
        try:
            out[qid] = rank_documents(kb.search(row["text"], k=100, min_score="none", mode=mode), names)
        except SearchError:
            out[qid] = []
    return out


def recall_curve(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]],
                 ks: Sequence[int] = CURVE_KS) -> list[tuple[int, float]]:
    """Mean recall@k over the queries with relevant documents, for each k (ir-measures' ``R@k``)."""
    import ir_measures

    judged = {q: {d: g for d, g in r.items() if g > 0} for q, r in qrels.items()}
    judged = {q: r for q, r in judged.items() if r}
    if not judged:
        return []
    run = [ir_measures.ScoredDoc(q, d, float(len(ranked) - i)) for q, ranked in rankings.items() if q in judged
           for i, d in enumerate(ranked)]
    qrel_rows = [ir_measures.Qrel(q, d, g) for q, r in judged.items() for d, g in r.items()]
    sums = dict.fromkeys(ks, 0.0)
    for metric in ir_measures.iter_calc([ir_measures.R @ k for k in ks], qrel_rows, run):
        sums[int(metric.measure.params["cutoff"])] += float(metric.value)
    return [(k, sums[k] / len(judged)) for k in ks]


def build_report(ds: Dataset, kb: SearchedKB, names: dict[str, str], run: Run, metrics: dict[str, Any]) -> Report:
    """Everything the report shows (see the module docstring); searches each query once per mode."""
    rankings = {mode: _rankings(ds, kb, names, mode) for mode in MODES}
    from .thresholds import calibration_record

    calibration = calibration_record(kb)
    cutoff = float(calibration["cutoff"]) if calibration else None
    main = {q: [d for d, _ in r] for q, r in run.ranked.items()}
    per_query = per_query_metrics(main, ds.qrels)
    dense = rankings["dense"]
    relevant_scores: list[float] = []
    other_scores: list[float] = []
    rows: list[QueryRow] = []
    answerable_best: list[float] = []
    unrelated_best: list[float] = []
    for qid, query in ds.queries.items():
        rel = {d for d, g in ds.qrels.get(qid, {}).items() if g > 0}
        best = dense[qid][0][1] if dense[qid] else None
        (answerable_best if rel else unrelated_best).append(best if best is not None else -1.0)
        for did, value in dense[qid][:10]:
            (relevant_scores if did in rel else other_scores).append(value)
        ranked = run.ranked.get(qid, [])
        first = next((i + 1 for i, (d, _) in enumerate(ranked) if d in rel), None)
        if rel:
            ok = first == 1
            problem = ("" if ok else "refused (no hits)" if not ranked else
                       "no relevant document retrieved" if first is None else f"first relevant at rank {first}")
        else:
            ok = not ranked
            problem = "" if ok else f"unrelated query answered ({len(ranked)} documents)"
        rows.append(QueryRow(qid, str(query["text"]), bool(rel), ok, sorted(rel), ranked[:3], first,
                             per_query[qid]["ndcg@10"] if rel else None, best, problem))
    rows.sort(key=lambda r: (r.ok, r.ndcg if r.ndcg is not None else 1.0, r.qid))
    bank = [b["score"] for b in calibration_view(kb)["bank"]] if calibration else []
    recall = {mode: recall_curve({q: [d for d, _ in r] for q, r in rankings[mode].items()}, ds.qrels)
              for mode in MODES}
    return Report(str(ds.folder), str(metrics.get("mode")), str(metrics.get("model")), metrics, rows, recall,
                  relevant_scores, other_scores, bank, cutoff, calibration, answerable_best, unrelated_best)


# -- figures -------------------------------------------------------------------------------------
def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependency("Reports and plots need matplotlib: pip install 'localkb[report]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "localkb", "font.size": 9})
    return plt


def draw_distribution(ax: Any, report: Report) -> None:
    import numpy as np

    values = report.relevant_scores + report.other_scores + report.bank_scores
    bins = np.linspace(min(values, default=0.0), max(values, default=1.0), 31)
    for data, label, color in ((report.other_scores, "non-relevant hits (top 10)", "#9aa5b1"),
                               (report.relevant_scores, "relevant hits", "#2b8a3e"),
                               (report.bank_scores, "calibration bank (unrelated text, best hit)", "#e8590c")):
        if data:
            ax.hist(data, bins=bins, density=True, alpha=0.55, label=f"{label} (n={len(data)})", color=color)
    if report.cutoff is not None:
        ax.axvline(report.cutoff, color="#c92a2a", linestyle="--", label=f"calibrated cut-off {report.cutoff:.3f}")
    ax.set(xlabel="cosine similarity (dense score)", ylabel="density", title="Score distributions")
    ax.legend(loc="upper left", fontsize=7)


def draw_recall(ax: Any, report: Report) -> None:
    for mode, points in report.recall.items():
        if points:
            ax.plot([k for k, _ in points], [r for _, r in points], marker="o", ms=3, label=mode)
    ax.set(xscale="log", xlabel="k (documents retrieved)", ylabel="mean recall@k", ylim=(0, 1.02),
           title="Recall@k per mode (no cut-off)")
    ax.set_xticks(list(CURVE_KS), [str(k) for k in CURVE_KS])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def draw_tradeoff(ax: Any, report: Report) -> None:
    import numpy as np

    pool = report.answerable_best + report.unrelated_best
    grid = np.linspace(min(pool, default=0.0), max(pool, default=1.0), 101)
    for data, label, color in ((report.unrelated_best, "unrelated queries refused", "#e8590c"),
                               (report.answerable_best, "answerable queries cut", "#1c7ed6")):
        if data:
            arr = np.asarray(data)
            ax.plot(grid, [(arr < t).mean() for t in grid], label=f"{label} (n={len(data)})", color=color)
    if report.cutoff is not None:
        ax.axvline(report.cutoff, color="#c92a2a", linestyle="--", label="calibrated cut-off")
    ax.set(xlabel="cut-off on the best cosine", ylabel="share of queries", ylim=(0, 1.02),
           title="Abstention trade-off")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


FIGURES = (draw_distribution, draw_recall, draw_tradeoff)


def _svg(draw: Any, report: Report) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    draw(ax, report)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)  # RDF licence links
    return text


def write_png(report: Report, path: str | Path) -> Path:
    """The three figures side by side in one PNG."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.6))
    for draw, ax in zip(FIGURES, axes):
        draw(ax, report)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


# -- the page ------------------------------------------------------------------------------------
CSS = """body{font:14px/1.45 system-ui,"WenQuanYi Micro Hei",sans-serif;margin:24px auto;max-width:1200px;
color:#1f2933;padding:0 16px}h1{font-size:22px}h2{font-size:17px;margin-top:28px;clear:both}table{border-collapse:collapse;
width:100%}.metrics{width:auto;min-width:260px;flex:0 0 auto}.head{display:flex;gap:28px;align-items:flex-start}td,th{border-bottom:1px solid #e4e7eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f5f7fa}.fail{background:#fff5f5}.bad{color:#c92a2a;font-weight:600}.good{color:#2b8a3e}
.figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:12px;clear:both}
.figs figure{margin:0}.figs svg{width:100%;height:auto}figcaption{color:#52606d;
font-size:12px}.metrics td:first-child{font-family:monospace}.muted{color:#7b8794}code{font-size:12px}"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    m = report.metrics
    failing = sum(1 for r in report.rows if not r.ok)
    metric_rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{'n/a' if m.get(k) is None else f'{m[k]:.4f}'}</td></tr>"
        for k in ("ndcg@10", "recall@10", "recall@100", "mrr@10", "p@1", "abstention_precision", "abstention_recall"))
    cal = report.calibration or {}
    where = (f"Calibrated cut-off <b>{report.cutoff:.3f}</b> ({_e(cal.get('method'))}, spread {cal.get('spread')}): "
             f"median + spread × 1.4826 × MAD of the best cosine that {len(report.bank_scores)} everyday sentences "
             f"about nothing in this KB reach here (bank median {cal.get('bank_scores', {}).get('median')}, "
             f"max {cal.get('bank_scores', {}).get('max')}), capped at the bank's highest score."
             if report.cutoff is not None else "No calibrated cut-off (empty KB).")
    captions = ("Dense (cosine) scores of each answerable query's top-10 documents, relevant vs not, and the "
                "calibration bank's unrelated sentences; the dashed line is the cut-off applied under "
                "--min-score auto.",
                "Mean recall@k over answerable queries, each mode searched with no cut-off.",
                "For each cut-off on a query's best cosine: the share of unrelated queries (no relevant "
                "document) that would get no hits, and of answerable ones that would lose all hits.")
    figs = "".join(f"<figure>{_svg(draw, report)}<figcaption>{_e(cap)}</figcaption></figure>"
                   for draw, cap in zip(FIGURES, captions))
    body = []
    for r in report.rows:
        top = "<br>".join(f"{'✓' if d in r.relevant else '✗'} {_e(d)} <span class='muted'>{s:.3f}</span>"
                          for d, s in r.top) or "<span class='muted'>(no hits)</span>"
        verdict = "<span class='good'>ok</span>" if r.ok else f"<span class='bad'>{_e(r.problem)}</span>"
        body.append(f"<tr class='{'' if r.ok else 'fail'}'><td>{verdict}</td><td><code>{_e(r.qid)}</code></td>"
                    f"<td>{_e(r.text)}</td><td>{_e(', '.join(r.relevant)) or '<i>none: should abstain</i>'}</td>"
                    f"<td>{top}</td><td>{r.first_relevant or '–'}</td>"
                    f"<td>{'' if r.ndcg is None else f'{r.ndcg:.3f}'}</td>"
                    f"<td>{'' if r.best_dense is None else f'{r.best_dense:.3f}'}</td></tr>")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>localkb eval — {_e(report.dataset)}"
            f"</title><style>{CSS}</style></head><body><h1 title='{_e(report.dataset)}'>Retrieval evaluation: "
            f"{_e(Path(report.dataset).name)}</h1>"
            f"<p>Mode <b>{_e(report.mode)}</b>, model <code>{_e(report.model)}</code>, min_score "
            f"<b>{_e(m.get('min_score'))}</b>, {m.get('queries')} queries ({m.get('judged_queries')} answerable, "
            f"{m.get('should_abstain')} without a relevant document), <b class='{'bad' if failing else 'good'}'>"
            f"{failing} failing</b>.</p><div class='head'><p>{where}</p><table class='metrics'>{metric_rows}</table></div>"
            f"<h2>Figures</h2><div class='figs'>{figs}</div><h2>Queries, failing first</h2>"
            "<table><tr><th>result</th><th>id</th><th>query</th><th>relevant</th><th>top documents (score)</th>"
            f"<th>first relevant</th><th>nDCG@10</th><th>best cosine</th></tr>{''.join(body)}</table>"
            "<p class='muted'>Written by localkb eval retrieval --report; self-contained, no network.</p>"
            "</body></html>")


def write_html(report: Report, path: str | Path) -> Path:
    Path(path).write_text(render_html(report), encoding="utf-8")
    return Path(path)
