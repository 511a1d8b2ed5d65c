"""``localkb eval rag``: how good are the answers? SQuAD-style scoring of ``ask`` over a question file.

A question file is JSON Lines, one object per question::

    {"id": "q1", "question": "Which port…?", "answers": ["7781"], "gold_doc": "zorblax.md"}
    {"id": "q2", "question": "Who founded Zorblax?", "unanswerable": true}

``answers`` (gold strings) is required unless ``unanswerable`` is true; ``gold_doc`` (optional) is a
source path, or its end, that holds the answer. Unknown keys are an error.

Scores (official SQuAD normalisation, citation markers removed): exact match, token F1, "answer contains
gold"; citation precision (share of citations whose chunk holds a gold answer, or comes from
``gold_doc``); supported-sentence rate (the support check); abstention on unanswerable questions and
false abstention on answerable ones; seconds per answer and time to first token.
"""
from __future__ import annotations

import re
import string
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DatasetError
from .citations import CITATION

if TYPE_CHECKING:
    from ..llm.base import LLM
    from ..parts import Answers
    from .result import Answer

_KEYS = {"id", "question", "answers", "gold_doc", "unanswerable"}
_PUNCT = set(string.punctuation)


def normalize(s: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCT)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())


def token_f1(pred: str, gold: str) -> float:
    p, g = normalize(pred).split(), normalize(gold).split()
    same = sum((Counter(p) & Counter(g)).values())
    if not p or not g or same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def score(pred: str, golds: Sequence[str]) -> tuple[float, float, bool]:
    """(exact match, F1, a gold answer is contained in the prediction) against the best gold answer."""
    clean = CITATION.sub("", pred)
    em = max(float(normalize(clean) == normalize(g)) for g in golds)
    best = max(token_f1(clean, g) for g in golds)
    contains = any(normalize(g) and normalize(g) in normalize(clean) for g in golds)
    return em, best, contains


def holds_answer(text: str, golds: Sequence[str]) -> bool:
    return any(normalize(g) and normalize(g) in normalize(text) for g in golds)


@dataclass(frozen=True)
class RagQuestion:
    id: str
    question: str
    answers: tuple[str, ...] = ()
    gold_doc: str | None = None

    @property
    def unanswerable(self) -> bool:
        return not self.answers


def load_questions(path: str | Path) -> list[RagQuestion]:
    """Read a question file (see the module docstring). Raises ``DatasetError`` naming the bad line."""
    from ..jsonlines import json_objects

    p = Path(path)
    out: list[RagQuestion] = []
    for i, row in json_objects(p, _KEYS, DatasetError):
        q = row.get("question")
        if not isinstance(q, str) or not q.strip():
            raise DatasetError(f"{p}:{i}: 'question' must be a non-empty string")
        answers = row.get("answers", [])
        if isinstance(answers, str):
            answers = [answers]
        if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
            raise DatasetError(f"{p}:{i}: 'answers' must be a list of non-empty strings")
        if bool(row.get("unanswerable", False)) == bool(answers):
            raise DatasetError(f"{p}:{i}: give 'answers' or \"unanswerable\": true (exactly one of them)")
        out.append(RagQuestion(str(row.get("id", i)), q.strip(), tuple(answers), row.get("gold_doc")))
    if not out:
        raise DatasetError(f"{p}: no questions")
    return out


@dataclass
class RagRow:
    """One question's outcome."""

    id: str
    question: str
    answerable: bool
    answer: str
    abstained: bool
    abstained_because: str | None
    em: float
    f1: float
    contains: bool
    citations: int
    citations_correct: int
    sentences: int
    supported_sentences: int
    seconds: float
    first_token_seconds: float | None
    cut_chunks: int
    #: prompt tokens reused from the KV cache of the previous question (None: the backend does not say)
    cached_prompt_tokens: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RagEval:
    rows: list[RagRow]
    summary: dict[str, Any] = field(default_factory=dict)
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "summary": self.summary, "questions": [r.to_dict() for r in self.rows]}


def score_answer(q: RagQuestion, ans: Answer, seconds: float) -> RagRow:
    """Score one ``Answer`` against its question (shared by ``eval rag`` and benchmarks/bench_ask.py)."""
    answered = not ans.abstained
    em, f1v, contains = score(ans.answer, q.answers) if q.answers and answered else (0.0, 0.0, False)
    correct = sum(holds_answer(c.text, q.answers) or bool(q.gold_doc and c.source.endswith(q.gold_doc))
                  for c in ans.citations) if q.answers and answered else 0
    return RagRow(q.id, q.question, not q.unanswerable, ans.answer, ans.abstained, ans.abstained_because,
                  em, f1v, contains, len(ans.citations) if answered else 0, correct,
                  len(ans.sentences), ans.supported_sentences, seconds, ans.first_token_seconds,
                  len(ans.cut_chunks), ans.cached_prompt_tokens)


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def summarise(rows: Sequence[RagRow]) -> dict[str, Any]:
    ans = [r for r in rows if r.answerable]
    una = [r for r in rows if not r.answerable]
    answered = [r for r in ans if not r.abstained]
    ttft = [r.first_token_seconds for r in rows if r.first_token_seconds is not None]
    because = Counter(r.abstained_because for r in rows if r.abstained_because)
    cached = [r.cached_prompt_tokens for r in rows if r.cached_prompt_tokens is not None]
    return {
        "questions": len(rows), "answerable": len(ans), "unanswerable": len(una),
        "em": _rate(sum(r.em for r in ans), len(ans)), "f1": _rate(sum(r.f1 for r in ans), len(ans)),
        "contains_gold": _rate(sum(r.contains for r in ans), len(ans)),
        "citation_precision": _rate(sum(r.citations_correct for r in answered), sum(r.citations for r in answered)),
        "supported_sentence_rate": _rate(sum(r.supported_sentences for r in rows if not r.abstained),
                                         sum(r.sentences for r in rows if not r.abstained)),
        "abstention_unanswerable": _rate(sum(r.abstained for r in una), len(una)),
        "false_abstention": _rate(sum(r.abstained for r in ans), len(ans)),
        "abstained_because": dict(because),
        "seconds_per_answer": _rate(sum(r.seconds for r in rows), len(rows)),
        "first_token_seconds": _rate(sum(ttft), len(ttft)),
        "cached_prompt_tokens": _rate(sum(cached), len(cached)),
        "answers_with_cut_chunks": sum(r.cut_chunks > 0 for r in rows),
    }


def evaluate_rag(kb: Answers, questions: Sequence[RagQuestion], *, llm: LLM | str | None = None,
                 k: int = 5, max_answer_tokens: int = 256, timeout: float = 120.0, threads: int | None = None,
                 progress: Callable[[int, int, RagRow], None] | None = None, quote: bool = False) -> RagEval:
    """Ask every question of ``questions`` with ``kb.ask`` (one model, opened once, so its KV cache of the
    fixed prompt prefix is reused from the second question on) and score the answers (``quote``: in
    extractive mode)."""
    from . import _model_label, _resolve_llm

    model, owned = _resolve_llm(llm, timeout, threads, kb.settings)
    rows: list[RagRow] = []
    try:
        for i, q in enumerate(questions, 1):
            t0 = time.monotonic()
            ans = kb.ask(q.question, llm=model, k=k, max_answer_tokens=max_answer_tokens, quote=quote)
            rows.append(score_answer(q, ans, time.monotonic() - t0))
            if progress is not None:
                progress(i, len(questions), rows[-1])
    finally:
        if owned:
            model.close()
    return RagEval(rows, summarise(rows), _model_label(model, kb.settings))
