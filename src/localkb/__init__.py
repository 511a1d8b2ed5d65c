"""localkb: an offline knowledge base.

Public API only; nothing heavy is imported here so ``localkb --help`` stays instant.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import LocalKBError
from .version import __version__

__all__ = ["KnowledgeBase", "LocalKBError", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .kb import KnowledgeBase


def __getattr__(name: str) -> Any:
    if name == "KnowledgeBase":
        from .kb import KnowledgeBase

        return KnowledgeBase
    raise AttributeError(name)
