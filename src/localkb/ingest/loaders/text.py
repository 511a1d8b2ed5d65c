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
    # Chinese text in GB18030/GBK is the common non-UTF-8 case for our users: try it first, and keep it
    # only if the result is mostly CJK (Latin-1 bytes also "decode" as GB18030 into rare characters).
    try:
        text = data.decode("gb18030")
        cjk = len(_CJK.findall(text))
        non_ascii = sum(1 for ch in text if ord(ch) > 127)
        if non_ascii and cjk / non_ascii > 0.8:
            return text
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoaderError("cannot detect the text encoding")
    return str(best)


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
