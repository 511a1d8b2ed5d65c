"""The per-install server token: made once, kept under the localkb home, offered by ``localkb serve``.

Like Jupyter's, it protects a loopback server from everything else on the machine — other users, and
web pages in the user's own browser that guessed the port: without it no request reads or changes the
KB. The file is ``$LOCALKB_HOME/server-token`` (mode 0600); delete it to get a new token.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import user_data_dir
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..settings import Settings

TOKEN_FILE = "server-token"


def token_path(settings: Settings | None = None) -> Path:
    """Where the per-install token is kept (``$LOCALKB_HOME/server-token``)."""
    return user_data_dir(settings) / TOKEN_FILE


def install_token(settings: Settings | None = None) -> str:
    """The per-install token, made (32 random URL-safe characters, file mode 0600) on first use.

    Raises:
        ConfigError: the file cannot be read or written, or is empty.
    """
    path = token_path(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            token = path.read_text(encoding="utf-8").strip()
        else:
            token = secrets.token_urlsafe(24)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(token + "\n")
    except OSError as exc:
        raise ConfigError(f"Cannot keep the server token in {path}: {exc.strerror or exc}. "
                          "Pass --token T or --no-token.") from exc
    if not token:
        raise ConfigError(f"The server token file {path} is empty: delete it to get a new token.")
    return token
