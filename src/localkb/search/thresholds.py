"""``--min-score auto``: a per-KB cut-off on the dense (cosine) score, calibrated on this corpus and model.

A cosine of 0.5 means different things for different models (MiniLM spreads scores widely, the
Universal Sentence Encoder bunches them) and for different corpora (the best of 100,000 chunks scores
higher than the best of 100 for any query). So the cut-off is measured, not assumed:

1. Fixed banks of everyday sentences on many unrelated subjects, one per query language
   (:data:`BANK_EN`, :data:`BANK_ZH`), are embedded with the KB's model and searched against the KB.
2. Each bank sentence's best cosine is what a query *in that language about nothing in this KB* scores
   here. A query is held against the bank of **its own** language (:func:`script_language`, by script;
   :func:`for_query`), not the KB's majority: on a mostly Chinese KB built with English-only MiniLM,
   Chinese text scores high against Chinese chunks whatever it means, and English questions must not
   inherit that cut-off.
3. The cut-off sits :data:`SPREAD` robust standard deviation(s) above the median of those best scores
   (``median + SPREAD * 1.4826 * MAD``): a query whose best chunk scores no better than unrelated text
   does here is answered with no hits and a reason. Median and MAD, not mean and max, because a bank
   sentence that happens to be on the KB's subject is an outlier that must not move the cut-off much.
   The cut-off is **capped at the highest bank score**: a query that scores above every one of ~50
   unrelated sentences is answered even when their scores are widely spread (a news corpus, where
   everyday subjects are half-related, put ``median + 1.5 SD`` above the whole bank and cut a third of
   the answerable questions of SQuADShifts NYT; with the cap, a fifth of them).
   ``SPREAD`` = 1.5 was chosen by measurement (docs/benchmarks.md, "Calibrated cut-off"): with MiniLM on
   the SQuAD dev / NYT / ICD-10 benchmark KBs it answers 100 / 100 / 89% of unrelated questions (another
   set's) with nothing while cutting 2 / 20 / 4% of answerable ones by their best cosine (in hybrid mode
   a strong BM25 match also answers: 0 / 3% cut on SQuAD dev / NYT); SPREAD = 1 let 12–14% of unrelated
   questions through on SQuAD dev and ICD-10, and far more on tiny KBs.

4. The banks say what text about *nothing here* scores, not what a question about something here scores.
   For English, the KB's own sentences add that (``search.selfcal``): the 30th percentile of the best
   scores of pseudo-queries made of its sentence heads (``kb_cutoff``) is a second bar that an answer on
   the cosine alone must reach (:func:`auto_answers` without evidence), and their median tops the dense
   scale of the evidence rule that the search applies in dense and hybrid mode (``search.evidence``: dense
   + lexical evidence on the KB's own scale).

The result (every bank's cut-off, the chunks' languages) is stored in ``manifest.extra["calibration"]``
with the model id and chunk count it was measured on, and measured again when the model differs or the chunk count has changed by more than
half. Calibrating costs one embedding batch of ~80 sentences and ~80 searches (and ~150 more of each
for the pseudo-queries of an English KB).
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..settings import NO_CUTOFF, MinScore, parse_min_score  # noqa: F401 - the one parse lives beside its setting
from .evidence import THRESHOLD
from .tokenizer import has_cjk

if TYPE_CHECKING:
    from ..parts import Calibrated, ChunkRows, Vectors


METHOD = "unrelated-bank-mad-v8-zh-terms"
SPREAD = 1.5
#: the stronger bar (``median + STRICT_SPREAD`` robust SDs, capped at the bank's best) that dense alone must
#: clear when no word of the query occurs anywhere in the KB (see :func:`auto_answers`)
STRICT_SPREAD = 3.0
RECALIBRATE_RATIO = 1.5

BANK_EN = (
    "How long should I boil an egg for a runny yolk?",
    "My cat keeps scratching the sofa, what can I do?",
    "Best way to remove a red wine stain from a carpet",
    "What time does the bakery on the corner open on Sundays?",
    "Tips for growing tomatoes on a small balcony",
    "How do I change a flat tyre on a bicycle?",
    "The referee showed a yellow card after the second foul.",
    "She knitted a warm scarf for her grandson's birthday.",
    "Which sunscreen is good for sensitive skin at the beach?",
    "Our hiking trail was muddy after last night's rain.",
    "How to teach a puppy to sit and stay",
    "Recipe for a simple lemon drizzle cake",
    "The band played an encore of their first hit song.",
    "What should I pack for a weekend camping trip?",
    "Why does my bread dough not rise?",
    "He fixed the leaking kitchen tap with a new washer.",
    "Good exercises to strengthen the lower back",
    "How many eggs does a chicken lay per week?",
    "The toddler built a tower of wooden blocks and knocked it down.",
    "Which houseplants survive with very little sunlight?",
    "How do I fold a fitted bed sheet neatly?",
    "Our neighbours are painting their fence bright yellow.",
    "What is a good name for a goldfish?",
    "Can I freeze cooked rice and reheat it later?",
    "The ferry to the island was delayed by fog.",
    "How to sharpen a kitchen knife with a whetstone",
    "My grandmother's apple pie recipe uses cinnamon and nutmeg.",
    "How do you tie a bow tie?",
    "Why do leaves change colour in autumn?",
    "The children built a snowman with a carrot nose.",
    "What is the best way to store fresh basil?",
    "How to get chewing gum out of hair",
    "The marathon runners passed the park at nine o'clock.",
    "Should I water succulents in winter?",
    "A quick stretching routine before going to bed",
    "How to stop a squeaky door hinge",
    "The picnic was cancelled because of the thunderstorm.",
    "What games can we play at a child's birthday party?",
    "How much coffee is too much in one day?",
    "The wedding cake had three tiers and fresh flowers.",
    "Where can I recycle old batteries?",
    "How to make a paper aeroplane that flies far",
    "My socks always disappear in the washing machine.",
    "What fruits are in season in early summer?",
    "The kitten fell asleep in a cardboard box.",
    "How do I clean a cast iron frying pan?",
    "Our train stopped for twenty minutes outside the station.",
    "Easy card tricks to impress friends",
)
BANK_ZH = (
    "鸡蛋要煮多久才能溏心？",
    "我家的猫总是抓沙发怎么办？",
    "怎样去除地毯上的红酒渍？",
    "周末去海边需要带什么？",
    "阳台上怎么种西红柿？",
    "自行车爆胎了怎么补？",
    "裁判给了他一张黄牌。",
    "奶奶给孙子织了一条围巾。",
    "昨晚下雨，山路很泥泞。",
    "怎么教小狗坐下？",
    "柠檬蛋糕的简单做法",
    "乐队又加演了一首老歌。",
    "面团为什么发不起来？",
    "他换了一个新的水龙头垫圈。",
    "哪些室内植物不需要太多阳光？",
    "米饭可以冷冻以后再加热吗？",
    "渡轮因为大雾晚点了。",
    "怎样把菜刀磨快？",
    "秋天树叶为什么会变色？",
    "孩子们堆了一个胡萝卜鼻子的雪人。",
    "新鲜罗勒怎么保存？",
    "口香糖粘在头发上怎么办？",
    "马拉松选手九点经过公园。",
    "冬天多肉植物需要浇水吗？",
    "门轴吱吱响怎么处理？",
    "野餐因为雷雨取消了。",
    "一天喝多少咖啡算多？",
    "旧电池在哪里回收？",
    "怎样折一个飞得远的纸飞机？",
    "袜子总是在洗衣机里丢一只。",
    "小猫在纸箱里睡着了。",
    "铸铁锅怎么清洗？",
)


#: the bank of each query language (:func:`script_language`)
BANKS = {"en": BANK_EN, "zh": BANK_ZH}
#: a text is Chinese ("zh") when at least this share of its units (CJK characters + Latin words) are CJK,
#: English ("en") when at most ``1 - ZH_SHARE``; in between it is "mixed"
ZH_SHARE = 0.6
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")


def script_language(text: str) -> str:
    """ "zh", "en" or "mixed" by script (CJK characters against Latin words); "en" for neither."""
    cjk = len(_CJK_CHAR.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if cjk + latin == 0:
        return "en"
    share = cjk / (cjk + latin)
    return "zh" if share >= ZH_SHARE else "en" if share <= 1 - ZH_SHARE else "mixed"


@dataclass
class Calibration:
    """One bank's calibration on a KB: the cut-off and the bank's best-score summary."""

    cutoff: float
    language: str
    bank_scores: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def chunk_languages(kb: ChunkRows, sample: int = 2000) -> dict[str, int]:
    """How many of a sample of chunks are "en", "zh" and "mixed" (:func:`script_language`)."""
    out = {"en": 0, "zh": 0, "mixed": 0}
    for r in kb.db.query("SELECT text FROM chunks ORDER BY id LIMIT ?", (sample,)):
        out[script_language(r["text"])] += 1
    return out


def chunk_texts_by_language(kb: ChunkRows, sample: int = 5000) -> dict[str, list[str]]:
    """The texts of a sample of chunks (the first ``sample`` by id), by :func:`script_language`."""
    out: dict[str, list[str]] = {"en": [], "zh": [], "mixed": []}
    for r in kb.db.query("SELECT text FROM chunks ORDER BY id LIMIT ?", (sample,)):
        out[script_language(r["text"])].append(r["text"])
    return out


def corpus_language(kb: ChunkRows, sample: int = 200) -> str:
    """ "zh" when most of a sample of chunks contain CJK text, else "en" (for the ingest's model note)."""
    rows = kb.db.query("SELECT text FROM chunks ORDER BY id LIMIT ?", (sample,))
    if not rows:
        return "en"
    cjk = sum(1 for r in rows if has_cjk(r["text"]))
    return "zh" if cjk * 2 > len(rows) else "en"


def cutoff_from(scores: np.ndarray, spread: float = SPREAD) -> float:
    """``median + spread * 1.4826 * MAD`` of the bank's best scores, but never above the highest of them
    (pure; see the module docstring)."""
    med = float(np.median(scores))
    mad = float(np.median(np.abs(scores - med)))
    return min(med + spread * 1.4826 * mad, float(np.max(scores)))


def terms_bar(kb: Calibrated, bank: list[str]) -> dict[str, Any]:
    """The bar a Chinese query's words found together (``evidence.everyday_share``) must pass:
    ``{"cutoff", "median", "max", "from"}`` of the bank's own shares, the cut-off by :func:`cutoff_from`
    (``search.evidence``'s module docstring says why)."""
    from . import evidence
    from .lexical import lexical_index

    shares = evidence.bank_shares(kb, lexical_index(kb), bank, evidence.everyday_share)
    return {"cutoff": round(cutoff_from(shares), 4), "median": round(float(np.median(shares)), 4),
            "max": round(float(shares.max()), 4),
            "from": f"{len(bank)} unrelated bank sentences; words weighed by their rarity in the language"}


def _measure_bank(kb: Vectors, language: str, spread: float) -> Calibration:
    from .selfcal import best_scores

    scores = best_scores(kb, list(BANKS[language]))  # the bank stands in for queries
    return Calibration(
        cutoff=round(cutoff_from(scores, spread), 4),
        language=language,
        bank_scores={
            "min": round(float(scores.min()), 4),
            "median": round(float(np.median(scores)), 4),
            "max": round(float(scores.max()), 4),
            "strict": round(cutoff_from(scores, STRICT_SPREAD), 4),
        },
    )


def measure(kb: Calibrated, spread: float = SPREAD) -> dict[str, Any] | None:
    """Calibrate every bank on the KB (see the module docstring); None for an empty KB.

    Each bank is searched against the whole KB — what a query of its language searches — so its best
    scores are the null distribution of that language's unrelated questions *here*, whatever the mix of
    languages in the chunks. The top-level ``cutoff`` / ``bank_scores`` / ``language`` are the majority
    language's (what a reader of older records expects).
    """
    from . import evidence, selfcal

    n = kb.store.count()
    if n == 0:
        return None
    langs = chunk_languages(kb)
    per = {lang: _measure_bank(kb, lang, spread).to_dict() for lang in BANKS}
    for lang, own in selfcal.measure(kb, chunk_texts_by_language(kb)).items():  # the KB's own sentences
        per[lang]["kb_cutoff"] = own["kb_cutoff"]
        per[lang]["pseudo_queries"] = own
        per[lang]["evidence"] = evidence.measure(kb, list(BANKS[lang]), per[lang]["bank_scores"]["median"],
                                                 own["quantiles"]["50"])
    if not per["zh"].get("evidence"):  # Chinese words weighed by jieba's dictionary (``search.evidence``)
        per["zh"]["terms"] = terms_bar(kb, list(BANKS["zh"]))
    majority = "zh" if langs["zh"] > langs["en"] + langs["mixed"] else "en"
    return {
        "method": METHOD, "spread": spread, "strict_spread": STRICT_SPREAD, "kb_percentile": selfcal.PERCENTILE,
        "model": kb.manifest.model_id, "chunks": n,
        "measured_at": time.time(), "chunk_languages": langs, "languages": per,
        "language": majority, "cutoff": per[majority]["cutoff"], "bank_scores": per[majority]["bank_scores"],
    }


def stale(record: dict[str, Any] | None, model: str, chunks: int) -> bool:
    """Does a stored calibration need measuring again?"""
    if not record or record.get("method") != METHOD or record.get("model") != model:
        return True
    if record.get("spread") != SPREAD or record.get("strict_spread") != STRICT_SPREAD:
        return True
    from .selfcal import PERCENTILE

    if record.get("kb_percentile") != PERCENTILE:
        return True
    was = max(int(record.get("chunks") or 0), 1)
    return not (1 / RECALIBRATE_RATIO <= max(chunks, 1) / was <= RECALIBRATE_RATIO)


def calibration_record(kb: Calibrated, chunks: int | None = None) -> dict[str, Any] | None:
    """The KB's stored calibration record (see :func:`measure`), measured and stored on first use or
    when stale; None for an empty KB. ``chunks``: the store's count, when the caller already has it."""
    record = kb.manifest.extra.get("calibration")
    if not stale(record, kb.manifest.model_id, kb.store.count() if chunks is None else chunks):
        return record
    cal = measure(kb)
    if cal is None:
        return None
    # saved under the KB's write lock; a read-only KB (or one another process is writing) still gets a
    # cut-off for this session
    kb.update_manifest(lambda manifest: manifest.extra.__setitem__("calibration", cal))
    return cal


def for_query(record: dict[str, Any] | None, query: str) -> dict[str, Any] | None:
    """The calibration that applies to ``query``: its language's bank (a "mixed" query gets the bank
    with the lower cut-off, so a guess about its language never refuses it). What ``SearchResult``
    reports: ``{"query_language", "bank", "cutoff", "median", "strict", "kb_cutoff", "evidence"}``
    (``kb_cutoff``: the bar from the KB's own sentences, ``search.selfcal``; ``evidence``: the KB's scale for
    dense + lexical evidence, ``search.evidence``; None where that language has none)."""
    if record is None:
        return None
    lang = script_language(query)
    banks = record.get("languages") or {}
    if lang == "mixed" and banks:
        bank = min(banks, key=lambda b: float(banks[b]["cutoff"]))
    else:
        bank = lang if lang in banks else str(record.get("language", "en"))
    chosen = banks.get(bank) or {"cutoff": record["cutoff"], "bank_scores": record["bank_scores"]}
    return {"query_language": lang, "bank": bank, "cutoff": float(chosen["cutoff"]),
            "median": float(chosen["bank_scores"]["median"]),
            "strict": float(chosen["bank_scores"].get("strict", chosen["bank_scores"]["max"])),
            "kb_cutoff": None if chosen.get("kb_cutoff") is None else float(chosen["kb_cutoff"]),
            "evidence": {**chosen["evidence"], "threshold": THRESHOLD} if chosen.get("evidence") else None,
            "terms": dict(chosen["terms"]) if chosen.get("terms") else None}


def auto_answers(best_dense: float, calibration: dict[str, Any], *, exact: bool, lexical_strong: bool,
                 words_found: bool, evidence: float | None = None, terms_share: float | None = None) -> bool:
    """Does ``min_score="auto"`` answer this query at all (pure)?

    Where the query's language has an evidence scale and the caller measured the query's ``evidence``
    (``search.evidence``: dense + lexical on the KB's own scale; the engine measures it in dense and hybrid
    mode), the answer is: an exact code match, or the evidence at the scale's threshold. Otherwise, yes when
    any one signal is strong:

    * an exact code match, or
    * lexical evidence (``lexical_strong``: the best BM25 reaches ``ANSWER_COVERAGE`` of the ideal score,
      or one chunk holds every query word), or
    * where the language has a terms bar (``terms``, Chinese: :func:`terms_bar`) and the caller measured
      the query's ``terms_share`` (``evidence.everyday_share``): a share above the bar the bank's unrelated
      sentences set on this KB, or
    * the best cosine at the calibrated cut-off and at least one query word occurring in the KB
      (``words_found``), or
    * the best cosine at the stronger bar (``strict``: :data:`STRICT_SPREAD` robust SDs above the bank's
      median): a question none of whose words occur anywhere here ("What is the capital of Peru?" on a
      warehouse KB) must be clearly closer than unrelated text, not just at the edge of it — while a
      question asked in another language than the chunks ("Who was the prime minister of Shu?" over
      Chinese text) still passes on its meaning alone.

    Where the query's language has a bar from the KB's own sentences (``kb_cutoff``, ``search.selfcal``),
    the cosine must also reach it, on either path: a question from another paper on a news KB scores
    above the everyday bank's cut-off but below what the KB's own sentence heads score.
    """
    if exact:
        return True
    scale = calibration.get("evidence")
    if evidence is not None and scale:
        return evidence >= float(scale["threshold"])
    if lexical_strong:
        return True
    bar = calibration.get("terms")
    if terms_share is not None and bar and terms_share > float(bar["cutoff"]):
        return True
    cutoff = float(calibration["cutoff"])
    strict = max(cutoff, float(calibration.get("strict", cutoff)))
    own = calibration.get("kb_cutoff")
    if own is not None:
        return best_dense >= max(cutoff if words_found else strict, float(own))
    if best_dense >= strict:
        return True
    return best_dense >= cutoff and words_found


def dense_strength(record: dict[str, Any] | None, best: float, *, bank_scale: bool = False) -> float:
    """How far the query's best cosine rises above what unrelated text in its language scores on a KB
    (``record``: :func:`for_query`; see ``fusion.strength``): 0 at the median of the bank's best scores,
    1 at the median best score of the KB's own pseudo-queries where the language has that scale
    (``search.evidence``), else (or with ``bank_scale``: the weighting before) at the calibrated cut-off;
    1 without a calibration.

    The KB's own scale is what leave-one-set-out cross-validation chose (docs/benchmarks.md,
    ``search-generalise``): a cosine that merely clears the bank's cut-off is not yet as convincing as
    the KB's own sentences, so on an English KB where BM25 is the better ranker (news, SQuAD-style
    questions) dense gets less say unless it really is strong."""
    from .fusion import strength

    if record is None:
        return 1.0
    scale = record.get("evidence")
    if scale and not bank_scale:
        return strength(best, float(scale["dense"][0]), float(scale["dense"][1]))
    return strength(best, float(record["median"]), float(record["cutoff"]))
