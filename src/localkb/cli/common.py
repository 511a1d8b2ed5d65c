"""Options and error handling shared by every command."""
from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from ..errors import LocalKBError

if TYPE_CHECKING:
    from rich.console import Console

    from ..kb import KnowledgeBase
    from ..settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

#: the exit codes of every command (README "Exit codes"; tests/core/test_exit_codes.py)
EXIT_OK = 0
#: the command ran and failed: one line on stderr (a ``LocalKBError``: a bad value the library refused,
#: a missing KB, a busy port, a missing optional extra, …)
EXIT_ERROR = 1
#: the command line could not be parsed (click): an unknown option, a missing argument, a value of the
#: wrong type or out of its range
EXIT_USAGE = 2
#: ``ingest`` finished but skipped some files (listed in the output)
EXIT_SKIPPED = 3
#: Ctrl-C ("Interrupted." on stderr; 128 + SIGINT, as shells report it)
EXIT_INTERRUPTED = 130

kb_option = click.option(
    "--kb", "kb", type=click.Path(file_okay=False), default=None,
    help="Knowledge base folder [default: $LOCALKB_KB or ./.localkb].",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object and nothing else.")


class Invocation:
    """What one ``localkb`` invocation resolved once, at the root (``cli.cli``), for every command under it."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """The settings of this invocation, resolved on first use (``settings.load_settings``): a bad
        value or unknown ``localkb.toml`` key is a ``ConfigError``, which the command reports (exit 1)."""
        if self._settings is None:
            from ..settings import load_settings

            self._settings = load_settings()
        return self._settings


def cli_settings() -> Settings:
    """The settings resolved once for this invocation (a command run outside ``localkb``'s root group,
    as a test may, resolves its own)."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    if root is None or not isinstance(root.obj, Invocation):
        from ..settings import load_settings

        return load_settings()
    return root.obj.settings


def open_kb(kb: str | None) -> KnowledgeBase:
    """The existing KB at ``--kb`` (default: the ``kb`` setting), opened with this invocation's settings."""
    from ..kb import KnowledgeBase

    return KnowledgeBase.open(kb, create=False, settings=cli_settings())


class OSFailure(LocalKBError):
    """An ``OSError`` that reached a command (a folder that cannot be created, no space left), as one line."""


def fail(exc: LocalKBError, *, as_json: bool = False) -> NoReturn:
    """The one way a command fails: with ``--json`` the error as one JSON object on stdout, always one
    ``Error: …`` line on stderr, then exit 1 (``EXIT_ERROR``)."""
    if as_json:
        click.echo(json.dumps(exc.to_dict(), ensure_ascii=False, default=str))
    click.echo(f"Error: {exc.message}", err=True)
    sys.exit(EXIT_ERROR)


def handle_errors(func: F) -> F:
    """Turn any LocalKBError into one clear line on stderr and exit 1 (``fail``); never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LocalKBError as exc:
            fail(exc, as_json=bool(kwargs.get("as_json")))
        except OSError as exc:  # the system refused (a KB folder that cannot be made, a full disk): one line too
            where = f": {exc.filename}" if exc.filename else ""
            fail(OSFailure(f"{exc.strerror or exc}{where}", errno=exc.errno), as_json=bool(kwargs.get("as_json")))
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_INTERRUPTED)

    wrapper.handles_errors = True  # type: ignore[attr-defined]  # tests/cli/test_exit_table.py checks every command
    return wrapper  # type: ignore[return-value]


def auto_or_number(value: str, param: str, *, integer: bool = False, low: float | None = None,
                   high: float | None = None) -> float | int | str:
    """``'auto'`` or a number in [``low``, ``high``], else a usage error (exit 2) naming ``param``."""
    if value.strip().lower() == "auto":
        return "auto"
    kind = "a whole number" if integer else "a number"
    try:
        number: float | int = int(value) if integer else float(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not 'auto' or {kind}", param_hint=param) from None
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"at least {low:g}" if high is None else f"in [{low:g}, {high:g}]"
        raise click.BadParameter(f"{number} is not {bounds} (or 'auto')", param_hint=param)
    return number


def no_color() -> bool:
    """Is colour off for this invocation? ``NO_COLOR`` set to any non-empty value (https://no-color.org),
    or the root context's ``color`` turned off (``cli.cli`` does that for ``NO_COLOR``)."""
    import os

    ctx = click.get_current_context(silent=True)
    return bool(os.environ.get("NO_COLOR")) or (ctx is not None and ctx.color is False)


def rich_console(*, stderr: bool = False) -> Console:
    """The rich ``Console`` every table and progress bar prints through: with ``no_color()`` it emits no
    styles at all (rich's own ``NO_COLOR`` handling drops colours but keeps bold)."""
    from rich.console import Console

    return Console(stderr=stderr, color_system=None if no_color() else "auto")


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=None, default=str))
