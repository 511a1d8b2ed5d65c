"""Backends picked by URI scheme: one small registry shared by stores, embedders and LLMs."""
from __future__ import annotations

import importlib
from typing import Any

from .errors import MissingDependency, UnknownBackend
from .suggest import did_you_mean


def split_uri(uri: str) -> tuple[str, str]:
    """``"faiss://./kb"`` → ``("faiss", "./kb")``. A bare word is a scheme with no rest."""
    if "://" in uri:
        scheme, rest = uri.split("://", 1)
        return scheme.lower(), rest
    return uri.lower(), ""


def resolve(kind: str, scheme: str, table: dict[str, str]) -> Any:
    """Import ``module:attr`` registered for ``scheme``; unknown schemes get a "did you mean"."""
    target = table.get(scheme)
    if target is None:
        hint = did_you_mean(scheme, table, cutoff=0.5)
        known = ", ".join(sorted(table))
        raise UnknownBackend(f"Unknown {kind} '{scheme}'.{hint} Known: {known}.", scheme=scheme)
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # a missing optional extra
        from .extras import extra_for_scheme
        from .extras import hint as install_hint

        raise MissingDependency(
            f"The {kind} '{scheme}' needs an optional dependency ({exc.name}): "
            f"{install_hint(extra_for_scheme(scheme))}",
            scheme=scheme,
        ) from exc
    return getattr(module, attr)
