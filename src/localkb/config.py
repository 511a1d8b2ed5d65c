"""Where localkb's folders are, from the resolved settings (``localkb.settings.Settings``).

Settings flow one way: explicit argument > ``LOCALKB_*`` env > ``localkb.toml`` > default, resolved once at
the edge into one frozen ``Settings`` and passed down (see ``localkb.settings``). ``localkb.toml`` is looked
up in the current directory, then in the user config dir (``$XDG_CONFIG_HOME/localkb/localkb.toml``). Keys
are the setting names in lower case, e.g.::

    kb = "./.localkb"
    llm = "llamacpp:///home/me/models/qwen.gguf"

docs/settings.md lists them all. The functions here take the ``Settings`` their caller holds (None: the
current environment's, ``settings.current``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Settings

DEFAULT_KB = ".localkb"


def user_config_dir() -> Path:
    from .settings import user_config_dir as config_dir

    return config_dir()


def user_data_dir(settings: Settings | None = None) -> Path:
    """Where localkb keeps its own state: the model registry, provisioned GGUF files (``home``)."""
    from .settings import current

    home = current(settings).home
    if home:
        return Path(home)
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "localkb"


def cache_dir(settings: Settings | None = None) -> Path:
    """Downloaded datasets and models (``cache``)."""
    from .settings import current

    cache = current(settings).cache
    if cache:
        return Path(cache)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "localkb"


def kb_dir(explicit: str | os.PathLike[str] | None = None, settings: Settings | None = None) -> Path:
    """The KB folder: ``explicit`` > the ``kb`` setting (``./.localkb`` by default)."""
    if explicit is not None:
        return Path(explicit)
    from .settings import current

    return Path(current(settings).kb or DEFAULT_KB)
