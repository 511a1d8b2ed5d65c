"""Plain text and Markdown, with encoding detection (UTF-8, UTF-16 with BOM, GB18030/GBK, Big5, Latin-1…)."""
from __future__ import annotations

import re

from ...errors import LoaderError
from . import Loaded

_CJK = re.compile(r"[\u4e00-\u9fff]")


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control > len(head) * 0.05


def decode(data: bytes) -> str:
    """Decode text bytes, detecting the encoding; raise LoaderError for binary data."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if looks_binary(data):
        raise LoaderError("binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    chinese, western = _as_chinese(data), _as_western(data)
    if chinese is not None and (western is None or not _sandwiched(chinese)):
        return chinese
    if western is not None:
        return western
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoaderError("cannot detect the text encoding")
    return str(best)


def _as_chinese(data: bytes) -> str | None:
    """GB18030/GBK text, the common non-UTF-8 case for our users; None if the bytes are not Chinese.

    Latin-1 bytes also "decode" as GB18030: an accented letter followed by an ASCII letter (``ï`` ``v``
    in ``naïve``) is a valid double byte of the GBK extension, a rare CJK character. Real Chinese text
    is almost entirely GB2312 (both bytes ≥ 0xA1: 99.7% of the characters of the sanguo chapter), so
    the text is kept only if at least 80% of its non-ASCII characters are.
    """
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    wide = [ch for ch in text if ord(ch) > 127]
    if not wide:
        return None
    common = sum(1 for ch in wide if _gb2312(ch))
    cjk = len(_CJK.findall(text))
    return text if common / len(wide) >= 0.8 and cjk / len(wide) > 0.5 else None


def _sandwiched(text: str) -> bool:
    """Are most CJK characters wedged between ASCII letters? That is how two adjacent accented Latin-1
    letters read as GB18030 (``Größere`` → ``Gr鲞ere``); Chinese words stand next to each other or to
    punctuation."""
    hits = [m.start() for m in _CJK.finditer(text)]
    wedged = sum(1 for i in hits if 0 < i < len(text) - 1 and text[i - 1].isascii() and text[i - 1].isalpha()
                 and text[i + 1].isascii() and text[i + 1].isalpha())
    return bool(hits) and wedged * 2 > len(hits)


def _gb2312(ch: str) -> bool:
    raw = ch.encode("gb18030")
    return len(raw) == 2 and raw[0] >= 0xA1 and raw[1] >= 0xA1


#: non-ASCII characters Western European text holds in cp1252 (its letters and typographic punctuation)
_WESTERN = set("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿŒœŠšŽžŸ"
               "’‘“”„–—…€•«»°£¥¢¿¡©®™§¶·²³½¼¾±×÷ ")


def _as_western(data: bytes) -> str | None:
    """cp1252 (a superset of Latin-1's printable range) when the result reads as Western European text.

    charset-normalizer guesses cp1250 for short French or German text (``naïve`` → ``naďve``), because
    the two code pages agree on most letters. cp1252 is chosen when every non-ASCII character it yields
    is a Western letter or common punctuation and such letters are a minority of the letters, as in
    French, German, Spanish, Portuguese or Italian; Cyrillic or Greek text read as cp1252 is made of
    accented letters only, and Polish shows characters such as ``³`` and ``¹``, so both fall through to
    charset-normalizer.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:  # a byte cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
        return None
    wide = [ch for ch in text if ord(ch) > 127]
    if not wide or any(ch not in _WESTERN for ch in wide):
        return None
    letters = sum(1 for ch in text if ch.isalpha())
    accented = sum(1 for ch in wide if ch.isalpha())
    return text if letters and accented / letters < 0.3 else None


def load_text(data: bytes) -> Loaded:
    return Loaded(text=normalise_newlines(decode(data)), format="txt")


def load_markdown(data: bytes) -> Loaded:
    text = normalise_newlines(decode(data))
    title = None
    for line in text.splitlines():
        if line.startswith("# "):
            title = line[2:].strip()
            break
    return Loaded(text=text, format="md", title=title)


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
