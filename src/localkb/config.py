"""Settings resolved once, flowing one way: explicit argument > ``LOCALKB_*`` env > ``localkb.toml`` > default.

``localkb.toml`` is looked up in the current directory, then in the user config dir
(``$XDG_CONFIG_HOME/localkb/localkb.toml``). Keys are the setting names in lower case, e.g.::

    kb = "./.localkb"
    llm = "llamacpp:///home/me/models/qwen.gguf"
"""
from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_KB = ".localkb"


def user_config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "localkb"


def user_data_dir() -> Path:
    """Where localkb keeps its own state: the model registry, provisioned GGUF files."""
    env = os.environ.get("LOCALKB_HOME")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "localkb"


def cache_dir() -> Path:
    env = os.environ.get("LOCALKB_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "localkb"


@lru_cache(maxsize=8)
def _toml(path: str, mtime: float) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from exc


def file_settings() -> dict[str, Any]:
    for candidate in (Path.cwd() / "localkb.toml", user_config_dir() / "localkb.toml"):
        if candidate.is_file():
            return _toml(str(candidate), candidate.stat().st_mtime)
    return {}


def setting(name: str, explicit: Any = None, default: Any = None) -> Any:
    """Resolve one setting: explicit > env ``LOCALKB_<NAME>`` > localkb.toml > default."""
    if explicit is not None:
        return explicit
    env = os.environ.get(f"LOCALKB_{name.upper()}")
    if env not in (None, ""):
        return env
    value = file_settings().get(name.lower())
    if value is not None:
        return value
    return default


def kb_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    return Path(setting("kb", explicit, DEFAULT_KB))
