"""Settings flowing one way: explicit argument > ``LOCALKB_*`` env > ``localkb.toml`` > default.

``localkb.toml`` is looked up in the current directory, then in the user config dir
(``$XDG_CONFIG_HOME/localkb/localkb.toml``). Keys are the setting names in lower case, e.g.::

    kb = "./.localkb"
    llm = "llamacpp:///home/me/models/qwen.gguf"

Every setting is a typed field of ``localkb.settings.Settings`` (docs/settings.md lists them all);
:func:`setting` reads one from the settings resolved for the current environment and file.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_KB = ".localkb"


def user_config_dir() -> Path:
    from .settings import user_config_dir as config_dir

    return config_dir()


def user_data_dir() -> Path:
    """Where localkb keeps its own state: the model registry, provisioned GGUF files."""
    env = setting("home")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "localkb"


def cache_dir() -> Path:
    env = setting("cache")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "localkb"


def setting(name: str, explicit: Any = None, default: Any = None) -> Any:
    """Resolve one setting: explicit > env ``LOCALKB_<NAME>`` > localkb.toml > ``default`` (the caller's,
    used when the setting is unset). The value is typed and validated by ``settings.Settings``.

    Raises:
        ConfigError: ``name`` is not a setting, or some setting has a bad value / ``localkb.toml`` an
            unknown key (named in the message).
    """
    if explicit is not None:
        return explicit
    from .settings import Settings, current

    if name not in Settings.model_fields:
        raise ConfigError(f"Unknown setting '{name}' (known: {', '.join(Settings.model_fields)}).")
    value = getattr(current(), name)
    return default if value is None else value


def checked_setting(name: str, explicit: Any = None, default: Any = None) -> Any:
    """:func:`setting`, with an explicit value validated like the environment's (``settings.check_value``):
    every backend that takes ``llm_ctx`` or ``llm_threads`` as an argument refuses the same bad values."""
    if explicit is None:
        return setting(name, None, default)
    from .settings import Settings, check_value

    if name not in Settings.model_fields:
        raise ConfigError(f"Unknown setting '{name}' (known: {', '.join(Settings.model_fields)}).")
    return check_value(name, explicit)


def kb_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    return Path(setting("kb", explicit, DEFAULT_KB))
