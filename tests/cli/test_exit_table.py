"""The one exit-code table (``localkb.cli.common``: 0 ok, 1 error, 2 usage, 3 ingest skipped files, 130
interrupted) applied by every command through one place, documented in the README; ``--json`` errors.

The table itself, case by case (``--mode hybird``, ``--min-score high``, a busy port, skipped files …), is
tests/core/test_exit_codes.py; this file checks that no command can step outside it."""
from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import click
import pytest

from localkb.cli import COMMANDS, cli, common

from ..conftest import ROOT, run_cli

CLI_SRC = ROOT / "src" / "localkb" / "cli"
TABLE = {name: getattr(common, name) for name in dir(common) if name.startswith("EXIT_")}


def leaf_commands() -> dict[str, click.Command]:
    """Every command a user can run (``localkb sql check``, ``localkb models list`` …), by its full name."""
    ctx = click.Context(cli)
    out: dict[str, click.Command] = {}

    def visit(prefix: str, command: click.Command) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                visit(f"{prefix} {name}".strip(), sub)
        else:
            out[prefix] = command

    visit("", cli)
    return out


def test_every_command_fails_through_the_one_handler():
    commands = leaf_commands()
    assert set(COMMANDS) <= {name.split()[0] for name in commands}
    assert {"sql check", "sql add-example", "models list", "eval rag"} <= set(commands)
    unhandled = [name for name, command in commands.items()
                 if not getattr(command.callback, "handles_errors", False)]
    assert not unhandled, f"commands not wrapped in cli.common.handle_errors: {unhandled}"


def test_no_command_exits_with_a_number_of_its_own():
    """``sys.exit`` / ``SystemExit`` / ``ctx.exit`` only with one of the table's names, never a bare number."""
    bad = []
    for path in sorted(CLI_SRC.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            called_on = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            if (name == "exit" and called_on in ("sys", "ctx")) or name == "SystemExit":
                arg = node.args[0] if node.args else None
                if not (isinstance(arg, ast.Name) and arg.id in TABLE):
                    bad.append(f"{path.name}:{node.lineno}")
    assert not bad, f"exits outside the table (use cli.common.EXIT_* or fail()): {bad}"


def test_the_readme_and_help_state_the_whole_table():
    assert TABLE == {"EXIT_OK": 0, "EXIT_ERROR": 1, "EXIT_USAGE": 2, "EXIT_SKIPPED": 3, "EXIT_INTERRUPTED": 130}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = " ".join(readme[readme.index("Exit codes, the same for every command"):].split("\n\n")[0].split())
    for code, words in ((0, "success"), (1, "error"), (2, "bad usage"), (3, "ingest finished but some files were skipped"), (130, "interrupted")):
        assert re.search(rf"`{code}` {words}", paragraph), (code, paragraph)
    help_text = " ".join(run_cli("--help").stdout.split())
    for code in TABLE.values():
        assert re.search(rf"\b{code} ", help_text), code


def test_an_error_with_json_is_one_object_on_stdout_and_one_line_on_stderr(tmp_path):
    proc = run_cli("search", "x", "--kb", str(tmp_path / "nokb"), "--mode", "hybird", "--json")
    assert proc.returncode == common.EXIT_ERROR
    err = json.loads(proc.stdout)
    assert err["error"] == "SearchError" and "Did you mean 'hybrid'?" in err["message"]
    assert proc.stderr == f"Error: {err['message']}\n"
    assert not (tmp_path / "nokb").exists()


def test_a_missing_extra_with_json_is_the_json_error(tmp_path):
    """The extra's module made unimportable, as tests/core/test_exit_codes.py does."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "sqlglot.py").write_text("raise ModuleNotFoundError(\"No module named 'sqlglot'\", name='sqlglot')\n",
                                       encoding="utf-8")
    env = {"PYTHONPATH": os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")])}
    proc = run_cli("sql", "check", "SELECT 1", "--db", "sqlite:///x.db", "--json", env=env, cwd=tmp_path)
    assert proc.returncode == common.EXIT_ERROR
    err = json.loads(proc.stdout)
    assert (err["error"], err["extra"], err["module"]) == ("MissingDependency", "sql", "sqlglot")
    assert proc.stderr.strip() == f"Error: {err['message']}" and "pip install 'localkb[sql]'" in proc.stderr


@pytest.mark.parametrize("args", [["show", "nosuch.txt"], ["chunks", "nosuch.txt"], ["rm", "nosuch.txt"],
                                  ["rm", "--dry-run", "nosuch.txt"], ["show", "0123abcd0123"]])
def test_stored_commands_name_what_is_missing_in_one_line(tmp_path, args):
    kb = tmp_path / "kb"
    doc = tmp_path / "note.txt"
    doc.write_text("The heron fishes at the pond.", encoding="utf-8")
    assert run_cli("ingest", str(doc), "--kb", str(kb)).returncode == common.EXIT_OK
    proc = run_cli(*args, "--kb", str(kb))
    assert proc.returncode == common.EXIT_ERROR and proc.stdout == ""
    assert re.fullmatch(r"Error: No (document|chunk) '(nosuch\.txt|0123abcd0123)' in this knowledge base\..*\n",
                        proc.stderr), proc.stderr
    as_json = json.loads(run_cli(*args, "--kb", str(kb), "--json").stdout)
    assert as_json["error"] == "DocumentNotFound" and as_json["target"] in ("nosuch.txt", "0123abcd0123")


def test_handle_errors_maps_interrupts_to_130():
    @click.command()
    @common.handle_errors
    def stopped() -> None:
        raise KeyboardInterrupt

    from click.testing import CliRunner

    result = CliRunner().invoke(stopped, [])
    assert result.exit_code == common.EXIT_INTERRUPTED and "Interrupted." in result.output


def test_table_covers_every_exit_of_ingest(tmp_path):
    """Nothing skipped → 0; some skipped → 3; nothing ingestible into a NEW KB → 1 (and no KB)."""
    good = tmp_path / "good.txt"
    good.write_text("Wombats dig burrows.", encoding="utf-8")
    assert run_cli("ingest", str(good), "--kb", str(tmp_path / "a")).returncode == common.EXIT_OK
    assert run_cli("ingest", str(good), str(tmp_path / "gone.txt"), "--kb",
                   str(tmp_path / "a")).returncode == common.EXIT_SKIPPED
    assert run_cli("ingest", str(tmp_path / "gone.txt"), "--kb", str(tmp_path / "b")).returncode == common.EXIT_ERROR
    assert not Path(tmp_path / "b").exists()


def test_an_os_error_is_one_line_too(tmp_path):
    """A KB folder that cannot be created (its parent is a file): the system's reason, not a traceback."""
    (tmp_path / "afile").write_text("", encoding="utf-8")
    doc = tmp_path / "note.txt"
    doc.write_text("The heron fishes at the pond.", encoding="utf-8")
    proc = run_cli("ingest", str(doc), "--kb", str(tmp_path / "afile" / "kb"))
    assert proc.returncode == common.EXIT_ERROR and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr == f"Error: Not a directory: {tmp_path / 'afile' / 'kb'}\n"
    err = json.loads(run_cli("ingest", str(doc), "--kb", str(tmp_path / "afile" / "kb"), "--json").stdout)
    assert err["error"] == "OSFailure" and err["errno"] == 20
