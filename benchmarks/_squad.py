"""SQuAD-format reading-comprehension data → BEIR retrieval set + answers for RAG scoring."""
from __future__ import annotations

import hashlib
import json
from typing import Any


def paragraph_id(context: str) -> str:
    """Stable content id of a paragraph: identical paragraphs share one document."""
    return "p" + hashlib.sha256(context.encode("utf-8")).hexdigest()[:12]


def build_squad(data: bytes, removed: bytes | None, *, titled: bool) -> dict[str, Any]:
    """Convert a SQuAD v1.1-format file.

    Args:
        data: The SQuAD JSON (``{"data": [{"title", "paragraphs": [{"context", "qas"}]}]}``).
        removed: The BIG-bench ``*_removed.json`` (``{"removed": {qid: [answer, ...]}}``): those
            answers are dropped, and a question left without answers is dropped.
        titled: Use the article title as document title (SQuAD); NYT "titles" are URLs, so no.

    Returns:
        ``{"corpus", "queries", "qrels", "extra": {"answers.jsonl": [...]}}``.
    """
    doc = json.loads(data)
    dropped: dict[str, set[str]] = {}
    if removed:
        dropped = {qid: set(answers) for qid, answers in json.loads(removed).get("removed", {}).items()}
    corpus: dict[str, dict[str, Any]] = {}
    queries: list[dict[str, Any]] = []
    qrels: list[tuple[str, str, int]] = []
    answers_rows: list[dict[str, Any]] = []
    seen_q: set[str] = set()
    for article in doc["data"]:
        title = article.get("title", "").replace("_", " ") if titled else ""
        for para in article["paragraphs"]:
            context = para["context"].strip()
            if not context:
                continue
            pid = paragraph_id(context)
            corpus.setdefault(pid, {"_id": pid, "title": title, "text": context})
            for qa in para["qas"]:
                qid, question = qa["id"], qa["question"].strip()
                answers: list[str] = []
                for ans in qa.get("answers", []):
                    text = ans["text"].strip()
                    if text and text not in dropped.get(qid, set()) and text not in answers:
                        answers.append(text)
                if not question or not answers or qid in seen_q:
                    continue
                seen_q.add(qid)
                queries.append({"_id": qid, "text": question})
                qrels.append((qid, pid, 1))
                answers_rows.append({"_id": qid, "answers": answers, "paragraph_id": pid})
    return {"corpus": list(corpus.values()), "queries": queries, "qrels": qrels,
            "extra": {"answers.jsonl": answers_rows}}
