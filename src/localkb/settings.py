"""Every localkb setting, typed, in one frozen object: explicit argument > ``LOCALKB_<NAME>`` > ``localkb.toml``
> default (pydantic-settings). ``docs/settings.md`` is generated from this class (``settings_table``) and
tested against it, so a setting cannot exist without being documented.

Resolved once at the edge and passed down: the CLI root resolves one ``Settings`` per invocation,
``server.app.create_app`` one per app, ``KnowledgeBase.open`` one per open (``kb.settings``); the subsystems
under them read its typed attributes (``settings.ingest_batch``), never a setting by a string name. A library
entry point used outside a KB (an LLM backend, the SQL agent, an embedder) takes ``settings=None`` and calls
:func:`current` once, at its own entry. An explicit argument is validated as the environment's value would
be (:meth:`Settings.merged`), so every interface refuses the same bad values with the same message.

A bad value (``LOCALKB_LOCK_TIMEOUT=soon``) or an unknown key in ``localkb.toml`` (``lock_timout = 5``) is a
``ConfigError`` naming it, raised when the settings are resolved. :func:`current` is the object for the
current environment and ``localkb.toml`` (resolved again only when either changes).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .errors import ConfigError, NonFiniteValue, SearchError

#: ``min_score`` value that turns the cut-off off (``kb.search(q, min_score=NO_CUTOFF)``); ``None`` means
#: "the ``min_score`` setting" (default "auto")
NO_CUTOFF: Literal["none"] = "none"
MinScore = float | Literal["auto", "none"] | None


def parse_min_score(value: object) -> MinScore:
    """The one parse of a ``min_score`` value (CLI, HTTP, Python): a number, ``"auto"``, ``"none"`` /
    ``"off"`` (:data:`NO_CUTOFF`), or ``None`` (use the setting). Strings are trimmed and case-folded.

    Raises:
        SearchError: anything else (including NaN and infinities).
    """
    if value is None:
        return None
    if isinstance(value, str):
        low = value.strip().lower()
        if low == "auto":
            return "auto"
        if low in ("none", "off"):
            return NO_CUTOFF
        try:
            number = float(low)
        except ValueError:
            raise SearchError(f"min_score '{value}' is not a number, 'auto' or 'none'.") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise SearchError(f"min_score {value!r} is not a number, 'auto' or 'none'.")
    if not math.isfinite(number):
        raise NonFiniteValue(f"min_score must be a finite number, 'auto' or 'none', not '{value}'.")
    return number


class Settings(BaseSettings):
    """The resolved settings. ``None``: the caller's own default (documented beside each)."""

    model_config = SettingsConfigDict(env_prefix="LOCALKB_", frozen=True, extra="forbid", env_ignore_empty=True,
                                      case_sensitive=False)

    # where things are
    kb: str = Field(".localkb", description="Knowledge base folder (`--kb`).")
    home: str | None = Field(None, description="localkb's own state: model registry, provisioned GGUF files "
                                               "[default: $XDG_DATA_HOME/localkb].")
    cache: str | None = Field(None, description="Downloaded datasets and models [default: $XDG_CACHE_HOME/localkb].")
    hf_cache: str | None = Field(None, description="Hugging Face cache to look for models in "
                                                   "[default: the hub's own].")
    # a new KB
    store: str = Field("faiss", description="Vector store of a new KB: faiss, chroma, milvus or a URI.")
    model: str | None = Field(None, description="Embedding model of a new KB [default: packaged all-MiniLM-L6-v2].")
    chunk_size: int | None = Field(None, ge=16, le=4000, description="Chunk size of a new KB [default: 180].")
    chunk_overlap: int | None = Field(None, ge=0, le=2000, description="Chunk overlap of a new KB [default: 30].")
    # ingest and writes
    max_file_mb: float = Field(100.0, gt=0, description="Skip files larger than this.")
    ingest_batch: int = Field(256, ge=1, description="Chunks embedded per batch.")
    flush_every: int = Field(4096, ge=1, description="Chunks between vector-store flushes.")
    lock_timeout: float = Field(30.0, ge=0, description="Seconds to wait for another writer's lock.")
    embed_threads: int | None = Field(None, ge=1, description="Torch threads for embedding [default: 2].")
    coalesce_embeds: bool = Field(True, description="Embed calls that arrive together share one encoder call "
                                                    "(off: one call each, for comparison).")
    migrate_checkpoint_seconds: float | None = Field(None, ge=0, description="Seconds between `migrate` "
                                                                              "checkpoints.")
    migrate_batch_delay: float | None = Field(None, ge=0, description="Pause between `migrate` batches "
                                                                       "(tests of interruption).")
    onnx_cache: str | None = Field(None, description="Folder of the exported ONNX files "
                                                     "[default: ~/.cache/localkb/onnx].")
    tune_apply_batch: int | None = Field(None, ge=1, description="Chunks re-embedded per batch by `tune --apply`.")
    tune_apply_delay: float | None = Field(None, ge=0, description="Pause between `tune --apply` batches "
                                                                    "(tests of interruption).")
    # search
    search_mode: Literal["hybrid", "dense", "lexical"] | None = Field(None, description="hybrid (default), dense or lexical.")
    min_score: str | None = Field(None, description="Cut-off: auto (default), none or a number.")
    fusion: Literal["rrf", "convex"] | None = Field(None, description="Hybrid fusion: rrf or convex [default: convex].")
    stemming: bool = Field(True, description="`off` builds lexical indexes without the English stemmer.")
    strict_lexical: bool = Field(False, description="Fail instead of rebuilding a damaged lexical index.")
    search_overlap: bool = Field(True, description="Embed the query on another core while BM25 scores it "
                                                   "(off: one after the other, for comparison).")
    # LLMs
    llm: str | None = Field(None, description="LLM URI for ask and sql [default: the provisioned Qwen GGUF].")
    llm_ctx: int | None = Field(None, ge=256, le=1_048_576, description="LLM context window in tokens.")
    llm_threads: int | None = Field(None, ge=1, le=256, description="llama.cpp threads [default: 2].")
    ollama_host: str | None = Field(None, description="Ollama address [default: http://127.0.0.1:11434].")
    openai_api_key: str | None = Field(None, description="Key for an OpenAI-compatible server.")
    openai_model: str | None = Field(None, description="Model name sent to an OpenAI-compatible server.")
    # stores, SQL, server
    milvus_token: str | None = Field(None, description="Milvus server credentials (user:password or token).")
    milvus_timeout: float | None = Field(None, gt=0, description="Seconds per Milvus call.")
    db: str | None = Field(None, description="Default database URL for `localkb sql`.")
    sql_audit: str | None = Field(None, description="SQL audit log [default: HOME/sql-audit.jsonl].")
    sql_examples: str | None = Field(None, description="SQL example store [default: HOME/sql-examples.sqlite].")
    token: str | None = Field(None, description="API token of `localkb serve` / `localkb mcp --http`.")

    @field_validator("search_mode", "fusion", mode="before")
    @classmethod
    def _folded(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("min_score", mode="before")
    @classmethod
    def _cutoff(cls, value: Any) -> str | None:
        """Read by :func:`parse_min_score` when the settings are resolved, not at the first search."""
        try:
            parsed = parse_min_score(value)
        except SearchError as exc:
            raise ValueError(exc.message) from None
        return None if parsed is None else str(parsed)

    def merged(self, **explicit: Any) -> Settings:
        """These settings with the explicit values given (None: keep this object's), each validated
        exactly as the same value from ``LOCALKB_<NAME>`` or ``localkb.toml`` would be (:func:`check_value`)."""
        given = {name: check_value(name, value) for name, value in explicit.items() if value is not None}
        return self.model_copy(update=given) if given else self

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        from pydantic_settings import TomlConfigSettingsSource

        toml = config_file()
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if toml is not None:
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=toml),)
        return sources


def user_config_dir() -> Path:
    """``$XDG_CONFIG_HOME/localkb`` (default ``~/.config/localkb``), where the user's localkb.toml lives."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "localkb"


def config_file() -> Path | None:
    """``./localkb.toml``, else ``$XDG_CONFIG_HOME/localkb/localkb.toml``, else None."""
    for candidate in (Path.cwd() / "localkb.toml", user_config_dir() / "localkb.toml"):
        if candidate.is_file():
            return candidate
    return None


def load_settings(**explicit: Any) -> Settings:
    """Resolve the settings once (explicit values win); ``ConfigError`` naming a bad value or unknown key."""
    try:
        return Settings(**{k: v for k, v in explicit.items() if v is not None})
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            name = ".".join(str(x) for x in err.get("loc", ()))
            if err.get("type") == "extra_forbidden":
                parts.append(f"unknown setting '{name}' (known: {', '.join(Settings.model_fields)})")
            else:
                parts.append(f"{name} = {err.get('input')!r}: {err.get('msg')} "
                             f"(from LOCALKB_{name.upper()} or localkb.toml)")
        where = f" in {config_file()}" if config_file() and any("unknown" in p for p in parts) else ""
        raise ConfigError(f"Bad setting{where}: " + "; ".join(parts), settings=[p for p in parts]) from None
    except ValueError as exc:  # an unreadable localkb.toml
        raise ConfigError(f"Cannot read {config_file()}: {exc}") from exc


_cache: dict[tuple[Any, ...], Settings] = {}


def check_value(name: str, value: Any) -> Any:
    """``value`` given for setting ``name`` in code (an argument, an option), validated exactly as the same
    value from ``LOCALKB_<NAME>`` or ``localkb.toml`` would be: same type, same bounds, same message."""
    from typing import Annotated, cast

    from pydantic import TypeAdapter

    info = Settings.model_fields.get(name)
    if info is None:
        raise ConfigError(f"Unknown setting '{name}' (known: {', '.join(Settings.model_fields)}).",
                          settings=[name])
    adapter: TypeAdapter[Any] = TypeAdapter(cast(Any, Annotated[info.annotation, info]))
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        msg = exc.errors()[0].get("msg", str(exc))
        raise ConfigError(f"Bad setting: {name} = {value!r}: {msg}", settings=[name]) from None


def current(given: Settings | None = None) -> Settings:
    """``given`` if there is one, else the settings for the environment and ``localkb.toml`` as they are
    now (resolved again only when one of them changed): what a library entry point calls once, at its entry.
    """
    if given is not None:
        return given
    toml = config_file()
    key = (tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("LOCALKB_"))),
           str(toml), toml.stat().st_mtime if toml else None, str(Path.cwd()))
    found = _cache.get(key)
    if found is None:
        if len(_cache) > 16:
            _cache.clear()
        found = _cache[key] = load_settings()
    return found


def _kind(annotation: Any) -> str:
    """A setting's type as the docs table says it: text, number, integer, on/off, or its choices."""
    import typing

    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    inner = args[0]
    if typing.get_origin(inner) is Literal:
        return " \\| ".join(f"`{choice}`" for choice in typing.get_args(inner))
    return {str: "text", float: "number", int: "integer", bool: "on/off"}.get(inner, str(inner))


def settings_table() -> str:
    """The Markdown table of every setting (docs/settings.md is this, tested)."""
    rows = ["| setting (`localkb.toml` key) | environment variable | type | default | what |", "|---|---|---|---|---|"]
    for name, info in Settings.model_fields.items():
        kind = _kind(info.annotation)
        value = info.default
        default = "" if value is None else f"`{str(value).lower() if isinstance(value, bool) else value}`"
        rows.append(f"| `{name}` | `LOCALKB_{name.upper()}` | {kind} | {default} | {info.description} |")
    return "\n".join(rows) + "\n"
