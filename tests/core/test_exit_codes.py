"""One exit-code table for every command (cli.common: 0 ok, 1 error, 2 bad usage, 3 ingest skipped files),
a missing optional extra as one line naming it, and NO_COLOR."""
from __future__ import annotations

import os
import socket

import pytest
from click.testing import CliRunner

from localkb.cli import cli
from localkb.cli.common import EXIT_ERROR, EXIT_OK, EXIT_SKIPPED, EXIT_USAGE

from ..conftest import EXAMPLES, FIXTURES, run_cli


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> str:
    folder = str(tmp_path_factory.mktemp("kb") / "kb")
    proc = run_cli("ingest", str(EXAMPLES / "corpus" / "onboarding.txt"), "--kb", folder)
    assert proc.returncode == EXIT_OK, proc.stderr
    return folder


CASES = [  # (name, arguments with {kb} for the KB folder, exit code, words the one stderr line holds)
    ("ok", ["search", "inbound", "--kb", "{kb}"], EXIT_OK, ""),
    ("unknown option", ["search", "x", "--kb", "{kb}", "--frobnicate"], EXIT_USAGE, "No such option"),
    ("k not a number", ["search", "x", "--kb", "{kb}", "-k", "many"], EXIT_USAGE, "'many' is not a valid integer"),
    ("k below 1", ["search", "x", "--kb", "{kb}", "-k", "0"], EXIT_ERROR, "k must be at least 1."),  # the library's
    ("missing argument", ["search"], EXIT_USAGE, "Missing argument"),
    ("mode typo", ["search", "x", "--kb", "{kb}", "--mode", "hybird"], EXIT_ERROR, "Did you mean 'hybrid'?"),
    ("min-score word", ["search", "x", "--kb", "{kb}", "--min-score", "high"], EXIT_ERROR, "'high' is not a number"),
    ("filter typo", ["search", "x", "--kb", "{kb}", "--where", "formt=pdf"], EXIT_ERROR, "Did you mean 'format'?"),
    ("no KB", ["search", "x", "--kb", "{kb}-typo"], EXIT_ERROR, "No knowledge base"),
    ("ingest typo", ["ingest", "{kb}-docz", "--kb", "{kb}-new"], EXIT_ERROR, "no such file or folder"),
    ("ingest skipped", ["ingest", str(FIXTURES / "bad_files" / "truncated.pdf"), str(EXAMPLES / "corpus" / "onboarding.txt"),
                        "--kb", "{kb}"], EXIT_SKIPPED, "skipped"),
]


@pytest.mark.parametrize("name, args, code, words", CASES, ids=[c[0] for c in CASES])
def test_exit_code_table(kb, name, args, code, words):
    result = CliRunner().invoke(cli, [a.format(kb=kb) for a in args])
    assert result.exit_code == code, (name, result.output)
    assert words in result.output and "Traceback" not in result.output
    if code == EXIT_ERROR:
        assert result.output.strip().startswith("Error: ") and result.output.strip().count("\n") == 0


def test_busy_port_is_an_error_not_exit_3(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli("serve", "--kb", str(tmp_path / "kb"), "--port", str(port), "--no-token", timeout=120)
    assert proc.returncode == EXIT_ERROR and f"Cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "kb").exists()


@pytest.mark.parametrize("command, module, extra", [
    (["sql", "Which artist?", "--db", "sqlite:///x.db"], "sqlglot", "sql"),
    (["serve", "--no-token"], "fastapi", "server"),
])
def test_a_missing_extra_is_one_line_naming_it(tmp_path, command, module, extra):
    """The extra's module is made unimportable (a stand-in that raises as a missing package does)."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / f"{module}.py").write_text(
        f"raise ModuleNotFoundError(\"No module named '{module}'\", name='{module}')\n", encoding="utf-8")
    path = os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")])
    proc = run_cli(*command, "--kb", str(tmp_path / "kb"), env={"PYTHONPATH": path}, cwd=tmp_path)
    assert proc.returncode == EXIT_ERROR, proc.stderr
    assert f"pip install 'localkb[{extra}]'" in proc.stderr and module in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0


def test_no_color_turns_styles_off(kb):
    args = ["search", "inbound", "--kb", kb]
    coloured = CliRunner().invoke(cli, args, color=True, env={"NO_COLOR": ""})
    assert coloured.exit_code == 0 and "\x1b[" in coloured.output  # bold hit headings
    plain = CliRunner().invoke(cli, args, color=True, env={"NO_COLOR": "1"})
    assert plain.exit_code == 0 and "\x1b[" not in plain.output and plain.output.strip()
