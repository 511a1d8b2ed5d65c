"""HTML through BeautifulSoup + lxml: visible text only, block elements become paragraphs."""
from __future__ import annotations

from . import Loaded
from .text import decode

BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "blockquote", "td", "th", "dt", "dd",
          "figcaption", "caption")


def load_html(data: bytes) -> Loaded:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode(data), "lxml")
    for tag in soup(["script", "style", "noscript", "template", "svg", "head"]):
        tag.decompose()
    head = BeautifulSoup(decode(data), "lxml")
    title = head.title.get_text(strip=True) if head.title else None
    author = head.find("meta", attrs={"name": "author"})
    content = str(author.get("content") or "").strip() if author is not None else ""
    meta: dict[str, str | list[str]] = {"author": content} if content else {}
    for tag in soup.find_all(BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    text = soup.get_text()
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    return Loaded(text="\n\n".join(p for p in paragraphs if p), format="html", title=title, meta=meta)
