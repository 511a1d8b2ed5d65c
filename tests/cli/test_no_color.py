"""``NO_COLOR`` (any non-empty value) in a real terminal: no styles at all — click's bold hit headings, the
rich table of ``localkb sql`` and its progress bars. Without it the same output is styled (so each
assertion can fail)."""
from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys

import pytest

from ..conftest import EXAMPLES, LOCALKB, run_cli

#: an SGR escape: colour, bold, dim, underline …
STYLE = re.compile(r"\x1b\[[0-9;]*m")


def in_terminal(argv: list[str], no_color: str | None, timeout: float = 300) -> str:
    """Run ``argv`` with stdout and stderr on a pseudo-terminal; everything it wrote there."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(TERM="xterm-256color", COLUMNS="120")
    if no_color is not None:
        env["NO_COLOR"] = no_color
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            proc.kill()
            pytest.fail(f"no output for {timeout} s from {argv}")
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        out += data
    os.close(master)
    assert proc.wait(timeout=60) == 0, out.decode(errors="replace")
    return out.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> str:
    folder = str(tmp_path_factory.mktemp("nc") / "kb")
    assert run_cli("ingest", str(EXAMPLES / "corpus" / "onboarding.txt"), "--kb", folder).returncode == 0
    return folder


@pytest.mark.parametrize("value", ["1", "true"])
def test_search_in_a_terminal(kb, value):
    argv = [LOCALKB, "search", "first week", "--kb", kb, "--min-score", "none", "-k", "2"]
    assert STYLE.search(in_terminal(argv, None))  # bold headings on a terminal
    plain = in_terminal(argv, value)
    assert "onboarding.txt" in plain and not STYLE.search(plain), repr(plain[:300])


def test_ingest_progress_in_a_terminal(tmp_path):
    argv = [LOCALKB, "ingest", str(EXAMPLES / "corpus"), "--kb", str(tmp_path / "kb")]
    plain = in_terminal(argv, "1")
    assert "chunks embedded" in plain and not STYLE.search(plain), repr(plain[:300])


def test_the_sql_table_in_a_terminal():
    """The rows of ``localkb sql`` (a rich table on a terminal: its header is bold unless NO_COLOR)."""
    argv = [sys.executable, "-c", "from localkb.cli.sql_cmd import _print_rows; "
                                  "_print_rows(['artist', 'albums'], [('Miles Davis', 3), ('Nina Simone', None)])"]
    assert "\x1b[1m" in in_terminal(argv, None)
    plain = in_terminal(argv, "1")
    assert "Miles Davis" in plain and "NULL" in plain and not STYLE.search(plain), repr(plain)
