"""Tokenisation for the lexical index and for identifier detection: English, Chinese and mixed text.

Rules (the same for documents and queries, so a query token matches what was indexed):

* Latin text is lower-cased and split into runs of letters/digits; **code-like tokens** (letters/digits
  joined by ``.``, ``-`` or ``_``) **are kept whole**
  *and* split into their parts: ``ISO-8859-1`` gives ``iso-8859-1``, ``iso``, ``8859``, ``1``; ``E11.9``
  gives ``e11.9``, ``e11``, ``9``. A query for ``E11.9`` therefore scores documents holding ``E11.9``
  (whole token, rare, high IDF) far above documents holding only ``E11.8``.
* Runs of CJK characters are segmented with jieba (``cut_for_search``, deterministic), loaded lazily and
  quietly on first use; a run jieba cannot split further is kept as one token.
* Ordinary English words are **stemmed** (Snowball English, PyStemmer): "escalate", "escalated" and
  "escalation" all index as ``escal``. Not stemmed: codes and their parts, words with digits, words of
  three letters or fewer, and words written in capitals (acronyms such as ``IBE``, ``AUS``), so exact
  identifiers are never conflated; CJK tokens are never stemmed. Chosen by measurement
  (docs/benchmarks.md, "Stemming"); ``LOCALKB_STEMMING=off`` builds indexes without it.
* English and a few Chinese function words and question words (怎么, 如何, 什么, 哪些…) are stop words
  (dropped from documents and queries), so a question's wording does not decide what it matches.

``TOKENIZER_VERSION`` changes whenever these rules change, and :data:`TOKENIZER_ID` adds the stemmer in
use: lexical indexes built with another id are rebuilt automatically.
"""

from __future__ import annotations

import math
import re
import threading
from functools import lru_cache

TOKENIZER_VERSION = "4"

#: letters/digits joined by . - _ (E11.9, ISO-8859-1, SKU-1234, v2.3.1) — one token plus its parts
_CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_ALNUM = rf"[^\W_{_CJK_RANGES}]"  # a letter or digit that is not CJK
_CODE = rf"{_ALNUM}+(?:[.\-_]{_ALNUM}+)+"
_TOKEN_RE = re.compile(rf"(?P<cjk>[{_CJK_RANGES}]+)|(?P<code>{_CODE})|(?P<word>{_ALNUM}+)")
_CJK_RE = re.compile(f"[{_CJK_RANGES}]")
_PART_RE = re.compile(rf"{_ALNUM}+")

STOP_WORDS = frozenset(
    """
a an and are as at be been being but by can could did do does doing for from had has have having he her
here hers him his how i if in into is it its itself me my no nor not of on or our ours she should so
some such than that the their theirs them then there these they this those to too very was we were what
when where which while who whom why will with would you your yours yourself am any all also just about
after again against before below between both down during each few further more most off once only other
out over own same under until up s t don
的 了 是 在 和 与 及 或 也 就 都 而 之 其 这 那 着 呢 吗 吧 啊 把 被 让 给 对 从 向 于 以 为
怎么 怎样 怎么样 如何 什么 为什么 为何 哪 哪些 哪个 哪里 哪儿 谁 多少 多久 几 请问 是否 么
""".split()
)


def _load_stemmer() -> tuple[str, object | None]:
    from ..settings import current  # read once, when the tokenizer is imported

    if not current().stemming:  # LOCALKB_STEMMING=off (or stemming = false in localkb.toml)
        return "none", None
    try:
        import Stemmer  # PyStemmer: Snowball in C
    except ImportError:  # a core dependency; without it the index records "none" (shown by `localkb stats`)
        return "none", None
    return "snowball-english", Stemmer.Stemmer("english")


#: which stemmer English words go through ("snowball-english" or "none"), recorded by the lexical index
STEMMER, _STEMMER = _load_stemmer()
TOKENIZER_ID = f"{TOKENIZER_VERSION}+{STEMMER}"


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _STEMMER.stemWord(word) if _STEMMER is not None else word  # type: ignore[attr-defined]


def _word(raw: str) -> str:
    """A plain word as indexed: lower-cased, stemmed unless short, with digits, or in capitals."""
    low = raw.lower()
    if _STEMMER is None or len(low) <= 3 or not low.isalpha() or not low.isascii() or raw.isupper():
        return low
    return _stem(low)


_jieba_lock = threading.Lock()
_jieba = None


def _segmenter():
    """jieba, imported and initialised once, without its "Building prefix dict" chatter."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


@lru_cache(maxsize=65536)
def _cut_cjk(run: str) -> tuple[str, ...]:
    if len(run) == 1:
        return (run,)
    words = [w for w in _segmenter().cut_for_search(run, HMM=True) if w.strip()]
    return tuple(words) or (run,)


_everyday: tuple[dict[str, int], float] | None = None


def everyday_idf(token: str) -> float:
    """How rare ``token`` is in Chinese at large: ``log(total / frequency)`` from jieba's dictionary (the word
    counts it segments with), or ``log(total)`` (the rarest) for a token the dictionary lacks — a Latin word
    or code, a name, a split jieba guessed. Everyday words (不 5.1, 到 5.7, 但是 7.7) weigh little, content
    words (数量 9.1, 货物 10.6, 剪指甲 16.8) much, whatever a KB of a few dozen chunks happens to contain."""
    global _everyday
    if _everyday is None:
        dt = _segmenter().dt
        _everyday = (dt.FREQ, float(dt.total))
    freq, total = _everyday
    count = freq.get(token, 0)
    return math.log(total / count) if count > 0 else math.log(total)


def has_cjk(text: str) -> bool:
    return _CJK_RE.search(text) is not None


def _tokens(text: str, stop: frozenset[str]) -> list[str]:
    out: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        if m.lastgroup == "cjk":
            out.extend(w for w in _cut_cjk(m.group()) if w not in stop)
        elif m.lastgroup == "code":
            whole = m.group().lower()
            out.append(whole)
            out.extend(_PART_RE.findall(whole))
        elif m.group().lower() not in stop:  # stop words are matched before stemming
            out.append(_word(m.group()))
    return out


def raw_tokens(text: str) -> list[str]:
    """All tokens of ``text`` as indexed (lower-cased, stemmed), stop words included (module docstring)."""
    return _tokens(text, frozenset())


def surface_forms(text: str) -> list[tuple[str, str]]:
    """(token, the lower-cased word it came from) for each word and code of ``text`` (stop words and
    Chinese left out): how a stem such as "diabet" reads to people ("diabetes")."""
    return [(m.group().lower() if m.lastgroup == "code" else _word(m.group()), m.group().lower())
            for m in _TOKEN_RE.finditer(text) if m.lastgroup != "cjk" and m.group().lower() not in STOP_WORDS]


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: :func:`raw_tokens` without stop words."""
    return _tokens(text, STOP_WORDS)


def word_count(text: str) -> int:
    """How many word-like tokens ``text`` has at all (0 means punctuation or symbols only)."""
    return sum(1 for _ in _TOKEN_RE.finditer(text))
