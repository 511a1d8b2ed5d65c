"""Docs are tested: every command has help text and appears in the README; docs links resolve."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from localkb.cli import COMMANDS, cli

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def walk(group, prefix=()):
    import click

    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, (*prefix, name))


ALL = list(walk(cli))


def test_every_registered_command_exists():
    assert {path[0] for path, _ in ALL} == set(COMMANDS)


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=lambda p: " ".join(p))
def test_every_command_has_help_and_is_documented(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()) >= 3
    assert f"localkb {path[0]}" in README, f"`localkb {path[0]}` is not in the README"


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_doc_links_resolve():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(((?:docs/|examples/)?[\w./-]+\.(?:md|png))\)", doc.read_text(encoding="utf-8")):
            base = ROOT if target.startswith(("docs/", "examples/")) else doc.parent
            assert (base / target).exists(), f"{doc.name} links to missing {target}"
