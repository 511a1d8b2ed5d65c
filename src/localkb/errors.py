"""The one exception root of localkb and a subclass per subsystem.

Third-party exceptions are translated at the backend boundary (``raise ... from exc``) so that the
CLI and the HTTP API can turn any ``LocalKBError`` into one clear line / one JSON error.
"""
from __future__ import annotations

from typing import Any


class LocalKBError(Exception):
    """Root of every error localkb raises on purpose."""

    #: HTTP status the server maps this error to.
    http_status: int = 400

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": self.message, **self.data}


class ConfigError(LocalKBError):
    """Bad option, setting or argument."""


class UnknownBackend(ConfigError):
    """A URI scheme that names no registered backend."""


class MissingDependency(LocalKBError):
    """An optional extra is not installed."""

    http_status = 501


class ModelError(LocalKBError):
    """A model could not be resolved or loaded."""


class ModelNotFound(ModelError):
    http_status = 404


class ModelMismatch(ModelError):
    """Opening a KB with a model other than the one it was built with."""

    http_status = 409


class KBError(LocalKBError):
    """The knowledge base on disk is missing, locked or inconsistent."""


class KBNotFound(KBError):
    http_status = 404


class KBLocked(KBError):
    http_status = 423


class StoreError(LocalKBError):
    """A vector store failed (connection, auth, dimension, I/O)."""

    http_status = 502


class IngestError(LocalKBError):
    """Ingestion failed as a whole (not one file: those are reported as skipped)."""


class LoaderError(IngestError):
    """One file could not be read; ingestion goes on and lists it as skipped."""


class SearchError(LocalKBError):
    """A query that cannot be answered (empty, too long, unknown mode)."""


class NonFiniteValue(SearchError):
    """NaN or an infinity where a finite number is needed (``min_score``): a validation error."""

    http_status = 422


class OutOfRange(SearchError):
    """A number outside what an option allows (``k`` below 1): a validation error."""

    http_status = 422


class FilterError(SearchError):
    """A ``where`` filter with an unknown field, operator or value (``data["field"]`` names it)."""

    http_status = 422


class DatasetError(LocalKBError):
    """An evaluation dataset folder is missing a file or has a malformed line."""


class LLMError(LocalKBError):
    """An LLM backend failed."""

    http_status = 502


class LLMUnavailable(LLMError):
    """Server down, refused or model file missing."""

    http_status = 503


class LLMTimeout(LLMError):
    http_status = 504


class SQLError(LocalKBError):
    """Text-to-SQL failed."""


class SQLRejected(SQLError):
    """The SQL guard refused a statement; ``violations`` lists every reason."""

    http_status = 422

    def __init__(self, message: str, violations: list[dict[str, Any]] | None = None, **data: Any) -> None:
        super().__init__(message, violations=violations or [], **data)
        self.violations = violations or []


class MapError(LocalKBError):
    """``similar``, ``dedup`` or ``cluster`` cannot run on this KB or input (unknown target, too few documents)."""


class TuneError(LocalKBError):
    """``audit`` / ``tune``: a KB too small to tune, a model that cannot be trained, a bad output folder."""
