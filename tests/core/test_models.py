"""Models resolve to local files only, in a documented order, and never reach for the network."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from localkb import KnowledgeBase
from localkb.embedders import load_embedder
from localkb.embedders.resolve import DEFAULT_MODEL, packaged_default_path, resolve_model
from localkb.errors import ModelMismatch, ModelNotFound

from ..conftest import run_cli


def make_hf_cache(root: Path, repo: str = DEFAULT_MODEL) -> Path:
    """The layout `huggingface-cli download` leaves: models--org--name/refs/main + snapshots/<rev>/…"""
    src = packaged_default_path()
    assert src is not None
    folder = root / ("models--" + repo.replace("/", "--"))
    rev = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(src, folder / "snapshots" / rev)
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(rev)
    return folder / "snapshots" / rev


def test_packaged_default_is_found_and_embeds(embedder):
    ref = resolve_model(None)
    assert ref.id == DEFAULT_MODEL and ref.source in ("packaged", "hf-cache")
    vecs = embedder.embed(["A man is eating food.", "A man is eating a piece of bread."])
    assert vecs.shape == (2, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert float(vecs[0] @ vecs[1]) == pytest.approx(0.7553, abs=2e-3)  # upstream sanity value


def test_path_wins_over_everything(tmp_path):
    folder = tmp_path / "all-MiniLM-L6-v2"
    shutil.copytree(packaged_default_path(), folder)
    ref = resolve_model(str(folder))
    assert ref.source == "path" and ref.path == folder.resolve() and ref.id == DEFAULT_MODEL


def test_hub_name_found_in_hf_cache(tmp_path, monkeypatch):
    snap = make_hf_cache(tmp_path / "hub")
    ref = resolve_model("sentence-transformers/all-MiniLM-L6-v2", cache_folder=str(tmp_path / "hub"))
    assert ref.source == "hf-cache" and ref.path == snap
    monkeypatch.setenv("LOCALKB_HF_CACHE", str(tmp_path / "hub"))
    assert resolve_model("all-MiniLM-L6-v2").source == "hf-cache"  # short names look under sentence-transformers/


def test_other_hub_model_in_cache_loads_offline(tmp_path, monkeypatch):
    """A user who has paraphrase-multilingual-MiniLM-L12-v2 in their HF cache gets it, offline."""
    make_hf_cache(tmp_path / "hub", repo="sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2")
    monkeypatch.setenv("LOCALKB_HF_CACHE", str(tmp_path / "hub"))
    emb = load_embedder("paraphrase-multilingual-MiniLM-L12-v2")
    assert emb.id == "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
    assert emb.embed(["你好"]).shape[0] == 1


def test_missing_model_fails_fast_with_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALKB_HF_CACHE", str(tmp_path / "empty"))
    t0 = time.perf_counter()
    with pytest.raises(ModelNotFound) as err:
        load_embedder("sentence-transformers/not-on-this-machine")
    assert time.perf_counter() - t0 < 1.0
    assert "localkb models pull sentence-transformers/not-on-this-machine" in err.value.message


def test_missing_model_cli_is_one_line(tmp_path):
    t0 = time.perf_counter()
    proc = run_cli("ingest", str(tmp_path), "--kb", str(tmp_path / "kb"), "--model", "bge-small-zh-v9",
                   env={"LOCALKB_HF_CACHE": str(tmp_path / "empty")})
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "localkb models pull" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert elapsed < 10  # interpreter start included; no network retries (those take minutes)
    assert not (tmp_path / "kb" / "manifest.json").exists()


def test_manifest_records_the_model_and_refuses_another(tmp_path):
    other = tmp_path / "my-finetuned-model"
    shutil.copytree(packaged_default_path(), other)
    (tmp_path / "d.txt").write_text("hello world", encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([tmp_path / "d.txt"])
    manifest = json.loads((tmp_path / "kb" / "manifest.json").read_text())
    assert manifest["model_id"] == DEFAULT_MODEL and manifest["dim"] == 384 and manifest["normalize"] is True
    with pytest.raises(ModelMismatch, match="refusing to mix"):
        KnowledgeBase.open(tmp_path / "kb", model=str(other), create=True)
    # the same model named another way is fine
    KnowledgeBase.open(tmp_path / "kb", model="all-MiniLM-L6-v2", create=True).close()


def test_kb_built_from_a_model_folder_reopens_without_naming_it(tmp_path, monkeypatch):
    folder = tmp_path / "team-finetune"
    shutil.copytree(packaged_default_path(), folder)
    (tmp_path / "d.txt").write_text("IBE stands for Inbound Exception.", encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", model=str(folder), create=True) as kb:
        kb.ingest([tmp_path / "d.txt"])
    manifest = json.loads((tmp_path / "kb" / "manifest.json").read_text())
    assert manifest["model_id"] == "local/team-finetune" and manifest["model_spec"] == str(folder.resolve())
    monkeypatch.chdir(tmp_path / "kb")  # the folder is found by its recorded absolute path, not the cwd
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        assert kb.search("inbound exception", k=1, mode="dense").hits[0].text.startswith("IBE")
    with KnowledgeBase.open(tmp_path / "kb", model=str(folder), create=True) as kb:  # naming it again is fine too
        assert kb.embedder.id == "local/team-finetune"


def test_models_cli_list_and_import(tmp_path, isolated_home):
    folder = tmp_path / "team-model"
    shutil.copytree(packaged_default_path(), folder)
    env = {"LOCALKB_HOME": str(isolated_home), "LOCALKB_HF_CACHE": str(tmp_path / "empty")}
    imp = run_cli("models", "import", str(folder), "--name", "team", "--json", env=env)
    assert imp.returncode == 0, imp.stderr
    assert json.loads(imp.stdout)["dim"] == 384
    listing = run_cli("models", "list", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    rows = {r["name"]: r for r in json.loads(listing.stdout)["models"]}
    assert rows[DEFAULT_MODEL]["dim"] == 384 and rows[DEFAULT_MODEL]["bytes"] > 10_000_000
    assert rows["team"]["source"] == "imported"


def test_imported_name_resolves(tmp_path, isolated_home):
    from localkb.embedders.resolve import register

    folder = tmp_path / "team-model"
    shutil.copytree(packaged_default_path(), folder)
    register("team", folder, 384)
    ref = resolve_model("team")
    assert ref.source == "registered" and ref.path == folder.resolve()


def test_library_lists_what_the_cli_lists() -> None:
    """``localkb.models.available`` is what ``models list --json`` prints (one surface for both)."""
    from localkb.models import available

    from ..conftest import run_cli

    done = run_cli("models", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["models"] == json.loads(json.dumps(available(), default=str))
    names = {r["name"]: r for r in available()}
    assert names["sentence-transformers/all-MiniLM-L6-v2"]["dim"] == 384
    assert {r["kind"] for r in names.values()} >= {"embedding", "gguf"}
