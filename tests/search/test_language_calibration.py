"""The cut-off follows the query's language (real MiniLM, FAISS, bm25s; the bundled corpus and a mixed KB).

The bundled corpus is mostly Chinese; before, English questions inherited the Chinese bank's cut-off and
paraphrased English questions came back empty. Each query is now held against its own language's bank.
"""

from __future__ import annotations

import json

import pytest

from localkb import KnowledgeBase
from localkb.search.thresholds import for_query, script_language

from ..conftest import EXAMPLES, run_cli

CORPUS = EXAMPLES / "corpus"
pytestmark = pytest.mark.skipif(not (CORPUS / "warehouse-glossary.md").exists(), reason="examples/ not present")

#: paraphrases of what the corpus says (none in its wording) with what a top hit must hold, and unrelated
#: questions (the same lists feed benchmarks/bench_search.py)
QUESTIONS = json.loads((EXAMPLES / "paraphrase-questions.json").read_text(encoding="utf-8"))
ANSWERABLE = [tuple(pair) for pair in QUESTIONS["answerable"]]
UNRELATED = QUESTIONS["unrelated"]


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    with KnowledgeBase.open(tmp_path_factory.mktemp("examples") / "kb", create=True) as kb:
        kb.ingest([CORPUS])
        yield kb


@pytest.mark.parametrize("query, expected", ANSWERABLE)
def test_paraphrased_questions_are_answered_with_the_defaults(kb, query, expected):
    res = kb.search(query, k=3)
    assert res.hits, res.reason
    assert any(expected in h.text for h in res.hits), [h.text[:60] for h in res.hits]
    lang = "zh" if script_language(query) == "zh" else "en"
    assert res.calibration is not None and res.calibration["bank"] == lang


@pytest.mark.parametrize("query", UNRELATED)
def test_unrelated_questions_are_still_refused(kb, query):
    res = kb.search(query)
    assert res.hits == [], [(h.text[:40], h.scores) for h in res.hits]
    assert "cut-off" in res.reason


def test_dense_mode_answers_the_readmes_question(kb):
    res = kb.search("How is an inbound exception escalated?", mode="dense", k=3)
    assert res.hits and any("IBE" in h.text for h in res.hits), res.reason


def test_english_and_chinese_queries_get_their_own_banks(kb):
    record = kb.manifest.extra["calibration"]
    assert record["chunk_languages"]["zh"] > record["chunk_languages"]["en"]  # a mostly Chinese KB …
    en, zh = for_query(record, "How are parcels weighed?"), for_query(record, "包裹怎么称重？")
    assert (en["bank"], zh["bank"]) == ("en", "zh")
    assert en["cutoff"] < zh["cutoff"]  # … whose English questions no longer inherit the Chinese cut-off
    mixed = for_query(record, "入库异常 damaged goods at the dock")
    assert mixed["query_language"] == "mixed" and mixed["cutoff"] == min(en["cutoff"], zh["cutoff"])


def test_the_choice_is_in_the_json_and_the_human_output(kb):
    proc = run_cli("search", "How fast must a dispatch problem be recorded?", "--kb", str(kb.path), "--json")
    assert proc.returncode == 0, proc.stderr
    cal = json.loads(proc.stdout)["calibration"]
    assert cal["query_language"] == "en" and cal["bank"] == "en" and cal["cutoff"] > 0
    proc = run_cli("search", "红烧肉怎么做才好吃？", "--kb", str(kb.path))
    assert proc.returncode == 0 and "calibrated cut-off for Chinese questions" in proc.stdout
    proc = run_cli("search", "How is an inbound exception escalated?", "--kb", str(kb.path))
    assert "en query, held against the en bank" in proc.stdout


COLLOQUIAL = QUESTIONS["colloquial_zh"]


def test_colloquial_chinese_is_answered_by_its_words_where_the_english_model_cannot_read_it(kb):
    """Issue 11: on the mostly Chinese bundled KB with the default (English) MiniLM, everyday-Chinese rewordings
    came back empty: the cosine says nothing there. The terms bar answers them by their content words; the
    rates are what docs/benchmarks.md reports (11 of 15, 9 of 10 when measured)."""
    res = kb.search("货物到了但是数量不对怎么办", k=3)  # the issue's own example
    assert res.hits and any("数量" in h.text for h in res.hits), res.reason
    terms = res.calibration["terms"]
    assert terms["share"] > terms["cutoff"] >= terms["median"] >= 0
    answered = [q for q, exp in COLLOQUIAL["answerable"]
                if any(exp in h.text for h in kb.search(q, k=3).hits)]
    leaked = [q for q in COLLOQUIAL["unrelated"] if kb.search(q, k=3).hits]
    assert len(answered) >= 10, sorted({q for q, _ in COLLOQUIAL["answerable"]} - set(answered))
    assert len(leaked) <= 1, leaked


def test_a_refused_chinese_question_says_how_far_its_words_got(kb):
    res = kb.search("高铁票怎么退", k=3)  # 退 alone is in the KB: one word is not "found together"
    assert res.hits == []
    terms = res.calibration["terms"]
    assert terms["share"] <= terms["cutoff"]
    assert "no chunk among its best holds two of the query's words together" in res.reason
    proc = run_cli("search", "承运商没来拿货会怎样", "--kb", str(kb.path))
    assert proc.returncode == 0, proc.stderr
    assert "its words found together" in proc.stdout and ", above the" in proc.stdout
    data = json.loads(run_cli("search", "承运商没来拿货会怎样", "--kb", str(kb.path), "--json").stdout)
    assert data["hits"] and data["calibration"]["terms"]["share"] > data["calibration"]["terms"]["cutoff"]


MIXED = {
    "returns.md": "Returns policy. A customer may return an unopened item within 30 days for a full refund. "
                  "Opened electronics can be returned within 14 days; a restocking fee of 10 percent applies.",
    "shipping.md": "Shipping. Orders placed before 2 pm leave the warehouse the same day. Express delivery "
                   "reaches most cities within one working day; remote areas take three to five days.",
    "退货.md": "退货政策：未拆封的商品可在三十天内退货并全额退款。已拆封的电子产品十四天内可退，收取百分之十的手续费。",
    "配送.md": "配送说明：下午两点前下的订单当天出库。快递一般一个工作日送达，偏远地区需要三到五天。",
    "仓库.md": "仓库管理：货物入库前要核对数量和标签，破损的货物放在隔离区，由收货主管处理。",
    "盘点.md": "盘点制度：每月最后一个周五进行全面盘点，差异超过百分之二要上报运营经理。",
}


def test_a_mixed_language_kb_answers_and_refuses_in_both_languages(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in MIXED.items():
        (docs / name).write_text(text, encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([docs])
        for query, source in [("Can I send back an electronic gadget I already opened?", "returns.md"),
                              ("how long does express shipping take", "shipping.md"),
                              ("拆封的电子产品能退吗？", "退货.md"),
                              ("破损的货物放哪里？", "仓库.md")]:
            res = kb.search(query, k=2)
            assert res.hits and res.hits[0].source.endswith(source), (query, res.reason, res.calibration)
        for query in ("What is the capital of Peru?", "红烧肉怎么做才好吃？"):
            res = kb.search(query)
            assert res.hits == [], (query, [h.scores for h in res.hits], res.calibration)
        langs = kb.manifest.extra["calibration"]["chunk_languages"]
        assert langs["en"] == 2 and langs["zh"] == 4
