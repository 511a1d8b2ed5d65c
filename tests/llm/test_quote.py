"""The quote checker of ``ask --quote`` on fixed English and Chinese texts, and the quote path of ``answer``
with a scripted LLM (the real 0.5B on the bundled corpus is in test_quote_real.py)."""
from __future__ import annotations

import pytest

from localkb.errors import ConfigError
from localkb.llm.fake import ScriptedLLM
from localkb.llm.prompts import QUOTE_SYSTEM
from localkb.rag import answer, check_quoted_answer
from localkb.rag.quote import check_quotes, coverage, normalise, quotes_of
from localkb.results import Hit, SearchResult

OFFICE = "The Lindqvist office opens at 8:15 on weekdays, and is closed on Sundays."
BACKUP = "Nightly backups of the Quillon database run at 02:30 and are kept for 14 days."
ZH_OFFICE = "林德奎斯特办公室工作日早上 8:15 开门，星期日不开门。"
ZH_BACKUP = "奎隆数据库的夜间备份在凌晨2点30分运行，保留14天。"


def test_normalise_ignores_case_width_spaces_and_punctuation_in_any_script() -> None:
    assert normalise("The Office, opens!") == normalise("the office opens")
    assert normalise("８：１５") == normalise("8:15") == "8 15"  # full-width digits and colon (NFKC)
    assert normalise("早上 8:15 开门，") == normalise("早上8:15开门。") == "早 上 8 15 开 门"
    assert normalise("“引号”「括号」") == "引 号 括 号"


@pytest.mark.parametrize("sentence,quotes", [
    ('"opens at 8:15 on weekdays" [1].', ["opens at 8:15 on weekdays"]),
    ("It says “opens at 8:15” and “closed on Sundays” [1]", ["opens at 8:15", "closed on Sundays"]),
    ("「工作日早上 8:15 开门」[1]。", ["工作日早上 8:15 开门"]),
    ("The office opens at 8:15 [1].", ["The office opens at 8:15."]),  # no quote marks: the sentence is the quote
    ("It's the office's rule [1].", ["It's the office's rule."]),  # apostrophes are not quote marks
])
def test_quotes_of(sentence: str, quotes: list[str]) -> None:
    assert quotes_of(sentence) == quotes


def test_verbatim_quote_in_the_cited_passage_is_supported() -> None:
    [c] = check_quotes('"opens at 8:15 on weekdays" [1].', [OFFICE, BACKUP])
    assert c.supported and c.citations == [1] and not c.moved and c.support_score == 1.0
    assert c.quotes == ["opens at 8:15 on weekdays"]


def test_quote_with_changed_spaces_case_and_punctuation_still_matches() -> None:
    [c] = check_quotes('"Opens at 8:15  on weekdays and is closed on sundays" [1]', [OFFICE])
    assert c.supported, c


def test_quote_found_only_in_another_passage_moves_the_citation() -> None:
    text, [c] = check_quoted_answer('"run at 02:30 and are kept for 14 days" [1].', [OFFICE, BACKUP])
    assert c.supported and c.moved and c.cited == [1] and c.citations == [2]
    assert text == '"run at 02:30 and are kept for 14 days" [2].'


def test_reworded_quote_is_unsupported_with_its_longest_match() -> None:
    [c] = check_quotes('"the office opens at a quarter past eight" [1].', [OFFICE, BACKUP])
    assert not c.supported and c.citations == [1] and 0 < c.support_score < 1
    [d] = check_quotes('"opens at 9:15 on weekdays" [1].', [OFFICE])  # one digit changed is not a copy
    assert not d.supported


def test_every_quote_of_a_sentence_must_be_found() -> None:
    [c] = check_quotes("“opens at 8:15” and “open on Sundays” [1].", [OFFICE])
    assert not c.supported


def test_too_short_quote_proves_nothing_and_matches_stay_on_word_boundaries() -> None:
    [c] = check_quotes('"at" [1].', [OFFICE])
    assert not c.supported
    [d] = check_quotes('"ice opens" [1].', [OFFICE])  # "office opens": not a copy of a word
    assert not d.supported
    [e] = check_quotes('"14" [1].', [BACKUP])
    assert not e.supported
    [f] = check_quotes('"02:30" [1].', [BACKUP])  # two units: a copied time is a quote
    assert f.supported


def test_chinese_quotes_are_checked_verbatim() -> None:
    [ok] = check_quotes("“工作日早上8:15开门” [1]。", [ZH_OFFICE, ZH_BACKUP])
    assert ok.supported and ok.citations == [1]
    [moved] = check_quotes("「在凌晨2点30分运行」【1】", [ZH_OFFICE, ZH_BACKUP])
    assert moved.supported and moved.moved and moved.citations == [2]
    [bad] = check_quotes("“工作日早上9点开门” [1]。", [ZH_OFFICE, ZH_BACKUP])
    assert not bad.supported
    assert coverage("工作日早上9点开门", ZH_OFFICE) < 1


class OneKB:
    def __init__(self, *texts: str) -> None:
        self.hits = [Hit(id=f"c{i}", score=0.9, text=t, source=f"doc{i}.md") for i, t in enumerate(texts, 1)]

    def search(self, query: str, k: int = 10, tags: object = None, min_score: object = None) -> SearchResult:
        return SearchResult(query=query, hits=self.hits[:k])


def test_answer_in_quote_mode_sends_the_quote_rules_and_checks_the_quote() -> None:
    llm = ScriptedLLM(replies=['"opens at 8:15 on weekdays" [2].'])
    ans = answer(OneKB(BACKUP, OFFICE), "When does the Lindqvist office open?", llm=llm, quote=True)
    assert llm.prompts[0][0]["content"] == QUOTE_SYSTEM["en"]
    assert not ans.abstained and [c.n for c in ans.citations] == [2]
    out = ans.to_dict()
    assert out["mode"] == "quote" and out["sentences"][0]["quotes"] == ["opens at 8:15 on weekdays"]


def test_answer_in_quote_mode_refuses_a_quote_found_nowhere() -> None:
    llm = ScriptedLLM(replies=['"the office opens at nine sharp" [1].'])
    ans = answer(OneKB(OFFICE), "When does the Lindqvist office open?", llm=llm, quote=True)
    assert ans.abstained and ans.abstained_because == "unsupported"
    assert ans.draft == '"the office opens at nine sharp" [1].' and ans.citations == []
    assert "quote was not found" in (ans.reason or "")


def test_quote_mode_cannot_skip_the_check() -> None:
    with pytest.raises(ConfigError, match="verify=False"):
        answer(OneKB(OFFICE), "When?", llm=ScriptedLLM(replies=["x"]), quote=True, verify=False)


def test_cli_quote_with_no_verify_is_one_clear_error(real_kb: object) -> None:
    from click.testing import CliRunner

    from localkb.cli import cli

    res = CliRunner().invoke(cli, ["ask", "When does the office open?", "--kb", str(real_kb.path),  # type: ignore[attr-defined]
                                   "--quote", "--no-verify", "--llm", "scripted://"])
    assert res.exit_code == 1 and "cannot be combined" in res.output and "Traceback" not in res.output
