"""Near spellings for error messages: "Unknown store 'chorma'. Did you mean 'chroma'?".

One place for the hint every "unknown X" error gives (backends, models, search modes, filter fields,
documents, SQL tables and columns), so they all read the same way.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


def close_matches(word: str, candidates: Iterable[str], *, n: int = 1, cutoff: float = 0.6,
                  ignore_case: bool = False) -> list[str]:
    """Up to ``n`` candidates spelled like ``word``, closest first (``difflib`` ratio ≥ ``cutoff``)."""
    options = list(dict.fromkeys(candidates))
    if not ignore_case:
        return difflib.get_close_matches(word, options, n=n, cutoff=cutoff)
    lowered = {o.lower(): o for o in options}
    return [lowered[c] for c in difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=cutoff)]


def did_you_mean(word: str, candidates: Iterable[str], *, n: int = 1, cutoff: float = 0.6,
                 ignore_case: bool = False, prefix: str = "") -> str:
    """``" Did you mean 'x'?"`` (``'x' or 'y'`` for several), or ``""`` when nothing is close.

    ``prefix`` is written before each suggestion (``meta.`` for metadata fields).
    """
    return hint(close_matches(word, candidates, n=n, cutoff=cutoff, ignore_case=ignore_case), prefix=prefix)


def hint(close: Iterable[str], *, prefix: str = "") -> str:
    """The "Did you mean" sentence for suggestions already found (``""`` for none)."""
    names = [f"'{prefix}{c}'" for c in close]
    return f" Did you mean {' or '.join(names)}?" if names else ""


def close_paths(word: str, candidates: Sequence[str], n: int = 3) -> list[str]:
    """Close spellings of the path ``word`` among the paths ``candidates``, by whole path and by file name."""
    found = difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.4)
    base = word.replace("\\", "/").rsplit("/", 1)[-1]
    names = {c.replace("\\", "/").rsplit("/", 1)[-1]: c for c in candidates}
    for name in difflib.get_close_matches(base, list(names), n=n, cutoff=0.4):
        if names[name] not in found:
            found.append(names[name])
    return found[:n]
