"""The support checker on fixed English and Chinese texts: real tokenizer, real packaged MiniLM.

Also the answer path around it with a scripted LLM: a wrong citation is moved, an unsupported answer is
withheld with ``abstained_because = "unsupported"``, sentences and markers are split and rewritten.
"""
from __future__ import annotations

from typing import Any

import pytest

from localkb.llm.fake import ScriptedLLM
from localkb.rag import answer, check_answer
from localkb.rag.citations import split_sentences, with_citations
from localkb.rag.support import LEXICAL_ONLY, WITH_EMBEDDER, SupportChecker
from localkb.results import Hit, SearchResult

EN = ["The Zorblax daemon listens on port 7781 by default. Its configuration file is /etc/zorblax/zorblax.toml.",
      "Nightly backups of the Quillon database run at 02:30 and are kept for 14 days.",
      "The Lindqvist office opens at 8:15 on weekdays and is closed on Sundays."]
ZH = ["备份每天凌晨两点半运行，保留十四天。", "办公室周一到周五早上八点十五分开门，周日关闭。", "守护进程默认监听7781端口。"]


@pytest.fixture(scope="module")
def checker(embedder: Any) -> SupportChecker:
    return SupportChecker(embedder)


def test_thresholds_are_the_calibrated_ones() -> None:
    assert 0.0 <= WITH_EMBEDDER.lexical_weight <= 1.0 and 0.0 < WITH_EMBEDDER.threshold < 1.0
    assert LEXICAL_ONLY.lexical_weight == 1.0


def test_english_supported_cited_passage_is_kept(checker: SupportChecker) -> None:
    [c] = checker.check([("Backups are kept for 14 days [2].", [2])], EN, "How long are backups kept?")
    assert c.supported and c.citations == [2] and not c.moved
    assert c.support_score >= checker.rule.threshold


def test_english_wrong_citation_is_moved(checker: SupportChecker) -> None:
    q = "Which port does the Zorblax daemon listen on?"
    [c] = checker.check([("The Zorblax daemon listens on port 7781 [3].", [3])], EN, q)
    assert c.supported and c.moved and c.citations == [1] and c.cited == [3]
    assert c.scores[1] > c.scores[3]


def test_english_made_up_fact_is_unsupported(checker: SupportChecker) -> None:
    q = "Which port does the Zorblax daemon listen on?"
    [c] = checker.check([("The Zorblax daemon listens on port 9090 and was written in Rust [1].", [1])], EN, q)
    assert not c.supported and c.citations == [1]


def test_chinese_wrong_citation_is_moved_and_made_up_fact_unsupported(checker: SupportChecker) -> None:
    q = "办公室几点开门？"
    moved, wrong = checker.check([("办公室早上八点十五分开门 [1]。", [1]), ("办公室晚上十点关门 [2]。", [2])], ZH, q)
    assert moved.supported and moved.moved and moved.citations == [2]
    assert not wrong.supported


def test_lexical_only_without_embedder() -> None:
    plain = SupportChecker(None)
    assert plain.rule == LEXICAL_ONLY
    [c] = plain.check([("Backups run at 02:30 [1].", [1])], EN, "When do backups run?")
    assert c.supported and c.moved and c.citations == [2]


def test_sentences_and_markers() -> None:
    assert split_sentences("It is 7781 [1]. Version 2.4 ships it. [2]") == ["It is 7781 [1].", "Version 2.4 ships it. [2]"]
    assert split_sentences("办公室八点开门【1】。周日关闭。") == ["办公室八点开门【1】。", "周日关闭。"]
    assert with_citations("It is 7781 [3].", [1]) == "It is 7781 [1]."
    assert with_citations("办公室八点开门【1】。", [2]) == "办公室八点开门 [2]。"


def test_check_answer_rewrites_only_what_changed(checker: SupportChecker) -> None:
    text = "The Zorblax daemon listens on port 7781 [2]. Backups are kept for 14 days [2]."
    fixed, checks = check_answer(text, EN, "Which port, and how long are backups kept?", checker)
    assert fixed == "The Zorblax daemon listens on port 7781 [1]. Backups are kept for 14 days [2]."
    assert [c.moved for c in checks] == [True, False]


class ListKB:
    def __init__(self, texts: list[str]) -> None:
        self.hits = [Hit(id=f"c{i}", score=0.9 - i / 10, text=t, source=f"doc{i}.md") for i, t in enumerate(texts, 1)]

    def search(self, query: str, k: int = 10, tags: Any = None, min_score: Any = None) -> SearchResult:
        return SearchResult(query=query, hits=self.hits[:k])


def test_answer_moves_a_wrong_citation(embedder: Any) -> None:
    llm = ScriptedLLM(replies=["The Zorblax daemon listens on port 7781 [2]."])
    ans = answer(ListKB(EN), "Which port does the Zorblax daemon listen on?", llm=llm, k=3, embedder=embedder)
    assert not ans.abstained and ans.answer == "The Zorblax daemon listens on port 7781 [1]."
    assert [c.n for c in ans.citations] == [1] and ans.citations[0].supported
    d = ans.to_dict()
    assert d["sentences"][0]["moved"] and d["sentences"][0]["cited"] == [2] and d["supported"] is True


def test_answer_with_no_supported_sentence_is_refused_as_unsupported(embedder: Any) -> None:
    llm = ScriptedLLM(replies=["Zorblax was founded by Ada Lovelace in 1843 [1]."])
    ans = answer(ListKB(EN), "Who founded Zorblax?", llm=llm, k=3, embedder=embedder)
    assert ans.abstained and ans.abstained_because == "unsupported"
    assert ans.draft == "Zorblax was founded by Ada Lovelace in 1843 [1]." and ans.citations == []
    assert "not supported" in (ans.reason or "")


def test_refusal_reasons_are_distinct() -> None:
    from localkb.rag import ABSTAIN_SENTENCE

    empty = answer(ListKB([]), "Anything?", llm=ScriptedLLM(replies=["x"]))
    assert empty.abstained_because == "retrieval" and ABSTAIN_SENTENCE["retrieval"] in (empty.reason or "")
    idk = answer(ListKB(EN), "Who founded Zorblax?", llm=ScriptedLLM(replies=["I don't know."]), k=2)
    assert idk.abstained_because == "model" and ABSTAIN_SENTENCE["model"] in (idk.reason or "")
    assert len(set(ABSTAIN_SENTENCE.values())) == 4  # retrieval, model, unsupported, and a quote not found
