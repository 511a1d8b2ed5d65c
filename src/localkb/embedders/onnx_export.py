"""Export a sentence-transformers folder to ONNX once (fp32 and int8), cached under the localkb cache.

Layout of ``~/.cache/localkb/onnx/<name>-<fingerprint>/``::

    model.onnx        the transformer (fp32), exported with torch's TorchScript exporter, then fused by
                      onnxruntime's transformer optimizer (attention, LayerNorm, GELU: ``"graph": "fused"``)
    model-int8.onnx   the same fused graph, weights dynamically quantised to int8 (onnxruntime, per channel)
    meta.json         what it was built from (weights size + mtime), which graph, and a probe vector per variant

Fusion is kept only when the fused graph's probe vector equals torch's (within 1e-5); otherwise, or for an
architecture the optimizer does not know, the plain exported graph is served (``"graph": "plain"``).

The probe vectors are the check that an ONNX file belongs to its model: :mod:`.onnx` embeds the probe
sentence at load and compares it with the vector recorded here (fp32: the torch model's own vector).
Pooling and normalisation stay outside the graph (numpy), exactly as sentence-transformers does them.

Only this module imports torch and transformers; it runs once per model and machine (a few seconds),
either from ``localkb models optimize NAME`` or automatically on first use of an ONNX model.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import cache_dir
from ..errors import MissingDependency, ModelError
from .onnx_run import PROBE, pool, pooling_mode, run_probe

if TYPE_CHECKING:
    from ..settings import Settings

VARIANTS = ("fp32", "int8")
FILES = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
FORMAT = 2  # 2: fused graph (attention / LayerNorm / GELU), recorded as meta["graph"]
#: the largest difference from torch a fused fp32 graph may have (else the plain graph is kept)
FUSED_TOLERANCE = 1e-5
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def weights_file(model_dir: Path) -> Path:
    for name in WEIGHT_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise ModelError(f"{model_dir} has no model.safetensors or pytorch_model.bin: it cannot be exported to ONNX.")


def fingerprint(model_dir: Path) -> dict[str, Any]:
    """What identifies the source weights cheaply: path, size and mtime of the weights file."""
    w = weights_file(model_dir)
    st = w.stat()
    return {"weights": str(w.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def onnx_dir(model_dir: Path, settings: Settings | None = None) -> Path:
    """The cache folder of ``model_dir``'s ONNX files (``LOCALKB_ONNX_CACHE`` overrides the root)."""
    from ..settings import current

    settings = current(settings)
    root = Path(settings.onnx_cache or cache_dir(settings) / "onnx")
    key = hashlib.sha256(str(model_dir.resolve()).encode()).hexdigest()[:12]
    return root / f"{model_dir.resolve().name}-{key}"


def read_meta(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def export(model_dir: Path, *, force: bool = False) -> Path:
    """Export ``model_dir`` to fp32 and int8 ONNX in its cache folder (atomically); returns the folder.

    Raises:
        MissingDependency: onnx / onnxruntime are not installed.
        ModelError: the model cannot be exported.
    """
    target = onnx_dir(model_dir)
    meta = read_meta(target)
    if not force and meta is not None and meta.get("source") == fingerprint(model_dir) \
            and meta.get("format") == FORMAT and all((target / f).is_file() for f in FILES.values()):
        return target
    try:
        import onnx  # noqa: F401 - quantize_dynamic needs it
        import onnxruntime  # noqa: F401
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise MissingDependency("The ONNX backend needs: pip install 'localkb[onnx]'") from exc
    import logging
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # the quantiser's "consider pre-processing" advice
    try:
        with warnings.catch_warnings():  # the tracer's warnings are about shapes we checked (probe)
            warnings.simplefilter("ignore")
            _export_into(tmp, model_dir, torch, AutoModel, AutoTokenizer, quantize_dynamic, QuantType)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:  # another process published the same export meanwhile: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except ModelError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as exc:  # noqa: BLE001 - torch/onnx raise many kinds; translate at the boundary
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(f"Cannot export {model_dir} to ONNX: {type(exc).__name__}: {exc}") from exc
    finally:
        logging.getLogger().setLevel(root_level)
    return target


def _export_into(tmp: Path, model_dir: Path, torch: Any, AutoModel: Any, AutoTokenizer: Any,  # noqa: N803
                 quantize_dynamic: Any, QuantType: Any) -> None:  # noqa: N803
    """Write model.onnx, model-int8.onnx and meta.json of ``model_dir`` into ``tmp`` (checked by probe)."""
    mode = pooling_mode(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    # eager attention: SDPA's mask shortcuts would be traced as constants of one batch shape
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    enc = tokenizer(["a short one", PROBE], padding=True, return_tensors="pt")
    uses_types = "token_type_ids" in enc
    names = names if uses_types else names[:2]

    class Wrapped(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(names, args))).last_hidden_state

    axes = {n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]}
    with torch.no_grad():
        # the reference first: exporting leaves the traced module in training mode (dropout on)
        probe_enc = tokenizer([PROBE], return_tensors="pt")
        hidden = model(**{n: probe_enc[n] for n in names}).last_hidden_state.numpy()
        torch.onnx.export(Wrapped(model), tuple(enc[n] for n in names), str(tmp / FILES["fp32"]),
                          input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    reference = pool(hidden, probe_enc["attention_mask"].numpy(), mode)[0]
    plain = run_probe(tmp / FILES["fp32"], model_dir, mode, names)
    worst = float(np.max(np.abs(plain - reference)))
    if worst > 1e-4:
        raise ModelError(f"The ONNX export of {model_dir} differs from the torch model by {worst:.1e}.")
    graph, fused_ops = _fuse(tmp / FILES["fp32"], model_dir, mode, names, reference)
    import onnx

    quantize_dynamic(str(tmp / FILES["fp32"]), str(tmp / FILES["int8"]), per_channel=True,
                     weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # fused ops have no inferred type
    probes = {v: run_probe(tmp / FILES[v], model_dir, mode, names).tolist() for v in VARIANTS}
    (tmp / "meta.json").write_text(json.dumps({
        "format": FORMAT, "source": fingerprint(model_dir), "pooling": mode, "inputs": names,
        "graph": graph, "fused_ops": fused_ops,
        "probe_text": PROBE, "reference": reference.tolist(), "probes": probes,
    }), encoding="utf-8")


def _fuse(file: Path, model_dir: Path, mode: str, names: list[str],
          reference: np.ndarray) -> tuple[str, dict[str, int]]:
    """Replace ``file`` by its fused graph if fusion applies and keeps the vectors; ("fused"|"plain", op counts)."""
    try:
        cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        if cfg.get("model_type") not in ("bert", "roberta", "xlm-roberta"):
            return "plain", {}
        from onnxruntime.transformers.optimizer import optimize_model

        fused = optimize_model(str(file), model_type="bert", num_heads=int(cfg["num_attention_heads"]),
                               hidden_size=int(cfg["hidden_size"]), opt_level=0)
        ops = {k: int(v) for k, v in fused.get_fused_operator_statistics().items() if v}
        candidate = file.with_name("fused-" + file.name)
        fused.save_model_to_file(str(candidate))
        got = run_probe(candidate, model_dir, mode, names)
    except Exception:  # noqa: BLE001 - an architecture the optimizer cannot fuse: serve the plain graph
        return "plain", {}
    if float(np.max(np.abs(got - reference))) > FUSED_TOLERANCE:
        candidate.unlink()
        return "plain", {}
    os.replace(candidate, file)
    return "fused", ops


def optimize(spec: str, *, force: bool = False) -> dict[str, Any]:
    """``localkb models optimize``: build (or check) the ONNX files of model ``spec``; what was built.

    Raises:
        ModelNotFound / ModelError / MissingDependency: as resolving, exporting or loading raise.
    """
    import time

    from .resolve import resolve_model, split_variant

    base, _variant = split_variant(spec)
    ref = resolve_model(base)
    if ref.backend != "sentence-transformers" or ref.path is None:
        raise ModelError(f"Model '{spec}' ({ref.backend}) has no ONNX version: only sentence-transformers folders do.")
    start = time.perf_counter()
    before = read_meta(onnx_dir(ref.path))
    folder = export(ref.path, force=force)
    files = {v: {"path": str(folder / f), "bytes": (folder / f).stat().st_size} for v, f in FILES.items()}
    return {"model": ref.id, "folder": str(folder), "files": files, "graph": (read_meta(folder) or {}).get("graph"),
            "built": force or before is None or before.get("source") != fingerprint(ref.path)
            or before.get("format") != FORMAT,
            "seconds": round(time.perf_counter() - start, 2)}


def listing() -> list[dict[str, Any]]:
    """Rows for ``localkb models list``: the packaged MiniLM on ONNX Runtime, fp32 and int8."""
    from .resolve import DEFAULT_MODEL, packaged_default_path

    packaged = packaged_default_path()
    if packaged is None:
        return []
    folder = onnx_dir(packaged)
    meta = read_meta(folder)
    built = meta is not None
    rows = []
    for alias, variant in (("minilm-onnx", "fp32"), ("minilm-int8", "int8")):
        file = folder / FILES[variant]
        rows.append({"name": alias, "kind": "embedding", "dim": 384,
                     "model_id": DEFAULT_MODEL if variant == "fp32" else f"{DEFAULT_MODEL}@int8",
                     "source": f"packaged MiniLM on ONNX Runtime ({variant}; "
                               + ("built" if built else "built on first use or by `localkb models optimize`") + ")",
                     "bytes": file.stat().st_size if file.is_file() else 0, "path": str(file), "built": built,
                     "graph": (meta or {}).get("graph")})
    return rows
