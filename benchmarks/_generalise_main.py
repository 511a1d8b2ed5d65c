"""``bench_search.py --generalise``: the sets, in two roles, and the 'search-generalise' section."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import _generalise as G
import _signals as S
import bench_search as B
from _report import write_section
from datasets import fetch

from localkb import KnowledgeBase
from localkb.search.eval import Dataset, load_dataset
from localkb.search.evidence import THRESHOLD

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def held_back(full: Dataset, tuned: Dataset, n_queries: int) -> Dataset:
    """The SQuAD dev articles the tuning subset left out: a held-back part of the same set."""
    titles = {full.corpus[d].get("title") for d in tuned.corpus}
    rest = Dataset(full.folder, {d: r for d, r in full.corpus.items() if r.get("title") not in titles},
                   {}, {})
    rest.queries = {q: r for q, r in full.queries.items() if set(full.qrels.get(q, {})) <= set(rest.corpus)
                    and full.qrels.get(q)}
    rest.qrels = {q: full.qrels[q] for q in rest.queries}
    return B.subset(rest, len(tuned.corpus), n_queries, by_title=True)


def sets(args: Any) -> tuple[dict[str, tuple[str, Dataset]], list[str], list[str]]:
    full = {n: load_dataset(fetch(n)) for n in ("squad-dev", "squad-nyt", "squad-newwiki", "zh-idioms")}
    dev = B.subset(full["squad-dev"], args.docs, args.queries, by_title=True)
    zh = B.subset(full["zh-idioms"], args.zh_docs, 300)
    zh_held = B.subset(load_dataset(fetch("zh-idioms-heldout")), args.zh_docs, 300)
    out = {
        "squad-dev": (B.MINILM, dev),
        "squad-nyt": (B.MINILM, B.subset(full["squad-nyt"], args.docs, args.queries)),
        "zh-idioms/MiniLM": (B.MINILM, zh),
        "zh-idioms/USE": (B.USE, zh),
        "squad-newwiki": (B.MINILM, B.subset(full["squad-newwiki"], args.docs, args.queries, by_title=True)),
        "squad-dev-heldback": (B.MINILM, held_back(full["squad-dev"], dev, args.queries)),
        "zh-idioms-heldout/USE": (B.USE, zh_held),
        "mixed/MiniLM": (B.MINILM, G.mixed_dataset(B.subset(full["squad-dev"], args.docs // 2, 200, by_title=True),
                                                   B.subset(full["zh-idioms"], args.zh_docs // 2, 200))),
    }
    out["mixed/USE"] = (B.USE, out["mixed/MiniLM"][1])
    tuning = ["squad-dev", "squad-nyt", "zh-idioms/MiniLM", "zh-idioms/USE"]
    heldout = ["squad-newwiki", "squad-dev-heldback", "zh-idioms-heldout/USE", "mixed/MiniLM", "mixed/USE"]
    return out, tuning, heldout


def open_kb(name: str, ds: Dataset, model: str, args: Any) -> tuple[Any, dict[str, str], float]:
    """The set's cached KB (one per corpus and model; "zh-idioms/USE" → the zh-idioms corpus with USE)."""
    return B.open_kb(name.split("/")[0], ds, model, variant=f"-q{args.docs}")


def stemming_child(args: Any) -> int:
    data, _, _ = sets(args)
    out = {}
    for name in ("squad-dev", "squad-nyt", "squad-newwiki", "squad-dev-heldback"):
        model, ds = data[name]
        kb, names, _ = open_kb(name, ds, model, args)
        sig = S.collect(kb, {q: r["text"] for q, r in ds.queries.items()}, ds.qrels, names)
        kb.close()
        out[name] = {"lexical": S.mean_ndcg(sig, "lexical"), "hybrid": S.mean_ndcg(sig, "convex")}
    print(json.dumps(out))
    return 0


def generalise(args: Any, log: Any) -> int:
    if args.stemming_json:
        return stemming_child(args)
    data, tuning, heldout = sets(args)
    unrel_src = {"squad-dev": "squad-nyt", "squad-nyt": "squad-dev", "squad-newwiki": "squad-nyt",
                 "squad-dev-heldback": "squad-nyt", "zh-idioms/MiniLM": "squad-dev", "zh-idioms/USE": "squad-dev",
                 "zh-idioms-heldout/USE": "squad-dev", "mixed/MiniLM": "squad-nyt", "mixed/USE": "squad-nyt"}
    signals: dict[str, list[S.Signals]] = {}
    unrelated: dict[str, tuple[str, list[S.Signals]]] = {}
    unrelated_zh: dict[str, list[S.Signals]] = {}  # everyday Chinese questions, on the KBs with Chinese queries
    for name, (model, ds) in data.items():
        kb, names, built = open_kb(name, ds, model, args)
        log(f"{name}: KB ready in {built:.0f} s ({kb.store.count()} chunks)")
        signals[name] = S.collect(kb, {q: r["text"] for q, r in ds.queries.items()}, ds.qrels, names)
        src = unrel_src[name]
        unrelated[name] = (src, S.collect(kb, G.unrelated_queries(load_dataset(fetch(src)), 200), {}, names))
        if name.startswith(("zh-", "mixed/")):
            unrelated_zh[name] = S.collect(kb, G.zh_unrelated_queries(), {}, names)
        kb.close()
    rows = G.fusion_rows(signals)
    for name in list(signals):
        if name.startswith("mixed/"):
            for lang, part in G.by_language(signals[name]).items():
                key = f"{name} ({lang} queries)"
                rows[key] = G.fusion_rows({key: part})[key]
    roles = {n: "tuning" for n in tuning} | {n: "held out" for n in heldout}
    fusion, raw_fusion = G.fusion_cv_table(rows, tuning, heldout + [k for k in rows if "queries)" in k])
    cut, raw_cut = G.cutoff_table(signals, unrelated, roles)
    en_tuning, en_held = ["squad-dev", "squad-nyt"], ["squad-newwiki", "squad-dev-heldback"]
    answerable_en = {n: signals[n] for n in en_tuning + en_held}
    unrelated_en = {n: unrelated[n][1] for n in en_tuning + en_held}
    for name in ("mixed/MiniLM", "mixed/USE"):
        key = f"{name} (en queries)"
        answerable_en[key], unrelated_en[key] = G.by_language(signals[name])["en"], unrelated[name][1]
        en_held.append(key)
    answerable_zh = {n: signals[n] for n in signals if n.startswith("zh-")}
    zh_unrel = {n: unrelated_zh[n] for n in answerable_zh}
    for name in ("mixed/MiniLM", "mixed/USE"):
        key = f"{name} (zh queries)"
        answerable_zh[key], zh_unrel[key] = G.by_language(signals[name])["zh"], unrelated_zh[name]
    terms, raw_terms = G.terms_table(answerable_zh, zh_unrel, roles | {k: "held out" for k in answerable_zh
                                                                          if "queries)" in k})
    curve = G.evidence_curve(answerable_en, unrelated_en, en_tuning + en_held)
    refusal, raw_refusal = G.evidence_tables(curve, en_tuning, en_held)
    stem = G.stemming_rows([f"--docs={args.docs}", f"--queries={args.queries}", f"--zh-docs={args.zh_docs}"])
    stem_lines = ["| set | lexical, stemming off | lexical, on | hybrid, off | hybrid, on |", "|---|---:|---:|---:|---:|"]
    for name, on in stem["on"].items():
        off = stem["off"][name]
        stem_lines.append(f"| {name} | {off['lexical']:.3f} | {on['lexical']:.3f} | {off['hybrid']:.3f} | "
                          f"{on['hybrid']:.3f} |")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, KnowledgeBase.open(Path(tmp) / "kb", create=True) as kb:
        kb.ingest([EXAMPLES / "corpus"])
        bundled, raw_bundled = G.bundled_table(lambda q: kb.search(q, k=3))
    n_docs = {n: len(ds.corpus) for n, (_, ds) in data.items()}
    n_q = {n: len(ds.queries) for n, (_, ds) in data.items()}
    body = "\n".join([
        "## Search on questions nobody tuned it for (`bench_search --generalise`, issue 11)",
        "",
        "Sets (seed 13; documents / queries): " + ", ".join(f"{n} {n_docs[n]} / {n_q[n]}" for n in data)
        + ". *Tuning* sets are the ones constants were chosen on; *held out* ones played no part: SQuADShifts "
        "new Wikipedia, the SQuAD dev articles the tuning subset left out (*heldback*), the next seed's idioms, "
        "and a mixed KB (SQuAD dev paragraphs + idioms in one KB, English and Chinese queries). Unrelated "
        "questions: 200 of another set's. Chunks in model tokens, stemming on, per-language calibration.",
        "",
        "### Fusion, chosen by leave-one-set-out cross-validation (hybrid nDCG@10, `min_score=none`)",
        "",
        "For each tuning set, the candidate with the best *worst-case* margin over the *other* tuning sets "
        "(margin = fused − max(dense, lexical); target ≥ +0.01) is scored on it; held-out rows use the choice "
        f"made on all tuning sets (**{raw_fusion['final']}**). *Evidence*: min–max convex, each signal's weight "
        "scaled by its strength for this query — dense 0 at the bank's median best cosine and 1 at the median "
        "of the KB's own pseudo-queries (English; the engine's default), *bank scale*: 1 at the bank's "
        "cut-off (the default before; Chinese queries get it either way); lexical: 1 from a BM25 coverage of "
        "0.1. Sub-rows of the mixed KB are not sets of their own (fewer queries, 200 each), shown to see "
        "where the mix loses.",
        "",
        fusion,
        "",
        "### `auto` cut-off: answerable questions cut, unrelated refused (hybrid)",
        "",
        cut,
        "",
        "### Refusing by dense + lexical evidence on the KB's own scale (English; `search.evidence`)",
        "",
        "Evidence = dense + terms, each on a scale the KB sets without any evaluation data: dense is the best "
        "cosine, 0 at the median best cosine of the everyday bank's sentences and 1 at the median of the KB's own "
        "pseudo-queries (a sentence head of each of up to 150 chunks); terms is the largest idf-weighted share of "
        "the query's words found together in one of its 10 best chunks by cosine or by BM25, 0 at the bank's "
        "median share and 1 for every word. Hybrid `auto` answers when the evidence reaches the threshold (or an "
        "exact code matches). The threshold is chosen by leave-one-set-out over the English tuning sets (best "
        "worst-case refusal with every answerable cut ≤ 3 %); chosen on both: "
        f"**{raw_refusal['final']:.2f}** (the engine uses {THRESHOLD}). *Before*: the rule it replaces (cosine at "
        "the bank's cut-off and at the 30th percentile of the pseudo-queries' best scores, or BM25 coverage ≥ 0.2, "
        "or a chunk holding every query word). Mixed rows: the English queries only.",
        "",
        refusal,
        "",
        "### Chinese queries: words found together, weighed by their rarity in the language (`search.thresholds.terms_bar`)",
        "",
        "Chinese queries have no evidence scale (a head of Chinese characters is no stand-in for a Chinese "
        "question), so `auto` held them to the bank's cosine rule alone, and with MiniLM, which cannot read "
        "Chinese, that cut nearly every one. The terms bar adds one path: the largest share of the query's "
        "words held by one of its 10 best chunks that holds at least two of them, each word weighed by its "
        "rarity in Chinese at large (jieba's dictionary counts), must pass where the Chinese bank's unrelated "
        "sentences stop on this KB (median + 1.5 robust SDs of their shares, capped at the highest: the dense "
        "cut-off's rule, no new constant; 0 where no bank sentence finds two of its words together). "
        "*Without*: the rule before. Everyday Chinese questions: the 60 of `benchmarks/data/"
        "zh-unrelated-questions.json` (not the calibration bank). The two-word condition and the weighting were "
        "picked among four variants on all of these rows, held-out ones included, so for that choice no row "
        "here is held out.",
        "",
        terms,
        "",
        "### Stemming (Snowball English; nDCG@10, `min_score=none`)",
        "",
        "\n".join(stem_lines),
        "",
        "### The bundled corpus under the defaults (`localkb ingest examples/corpus`, MiniLM)",
        "",
        "Questions from `examples/paraphrase-questions.json` (the list tests/search/test_language_calibration.py "
        f"checks): {raw_bundled['right']} of {raw_bundled['of']} as they should be.",
        "",
        bundled,
        "",
        f"Colloquial Chinese (`colloquial_zh` in the same file; the terms bar's weighting and two-word condition "
        f"were picked among four variants on these and the Chinese rows above, so they are not held out): {raw_bundled['colloquial_zh']['answered']} of "
        f"{raw_bundled['colloquial_zh']['of']} answered with the chunk that holds the answer in the top 3, "
        f"{raw_bundled['colloquial_zh']['refused']} of {raw_bundled['colloquial_zh']['of_unrelated']} everyday "
        "questions refused.",
        "",
    ])
    print(body)
    if args.json:
        args.json.write_text(json.dumps({"fusion": raw_fusion, "cutoff": raw_cut, "refusal": raw_refusal, "terms": raw_terms, "stemming": stem,
                                         "bundled": raw_bundled}, indent=2, default=str), encoding="utf-8")
    if not args.no_write:
        write_section("search-generalise", body)
        log("section 'search-generalise' written to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(B.main(["--generalise", *sys.argv[1:]]))
