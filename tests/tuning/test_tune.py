"""``tune`` on real components: the packaged MiniLM and the packaged multilingual USE, real FAISS KBs."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from localkb import KnowledgeBase
from localkb.errors import TuneError

from ..conftest import EXAMPLES, LOCALKB, run_cli


@pytest.fixture(scope="module")
def tuned_adapter(corpus_kb: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """The bundled corpus KB (a copy) with a linear adapter trained on MiniLM, not applied."""
    home = tmp_path_factory.mktemp("home")
    os.environ["LOCALKB_HOME"] = str(home)
    kb_dir = tmp_path_factory.mktemp("adapter") / "kb"
    shutil.copytree(corpus_kb, kb_dir)
    out = kb_dir.parent / "model"
    with KnowledgeBase.open(kb_dir, create=False) as kb:
        report = kb.tune(out=out, method="adapter", max_steps=300, max_minutes=5)
    return kb_dir, out, report


def test_adapter_moves_ibe_obe_apart_on_minilm(tuned_adapter) -> None:
    _kb, out, report = tuned_adapter
    assert report.method == "adapter" and report.train["steps"] == 300
    ibe = report.collision_cosines["IBE~OBE"]
    assert ibe["before"] is not None and ibe["after"] < ibe["before"] - 0.05  # the defining chunks move apart
    assert report.collisions_after < report.collisions_before
    info = json.loads((out / "localkb-adapter.json").read_text())
    assert info["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" and info["pairs"] == report.pairs
    assert len(info["data_hash"]) == 64 and info["recipe"]["method"] == "adapter"
    assert (out / "adapter.safetensors").is_file() and not list(out.glob("*.pkl")) and not list(out.glob("*.bin"))


def test_tuned_model_listed_and_loadable_by_name_and_path(tuned_adapter) -> None:
    from localkb.embedders import load_embedder

    _kb, out, report = tuned_adapter
    done = run_cli("models", "list", "--json", env={"LOCALKB_HOME": os.environ["LOCALKB_HOME"]})
    assert done.returncode == 0, done.stderr
    row = next(r for r in json.loads(done.stdout)["models"] if r["name"] == out.name)
    assert row["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" and row["pairs"] == report.pairs
    by_path, by_name = load_embedder(str(out), shared=False), load_embedder(out.name, shared=False)
    assert by_path.id == by_name.id == report.model_id and by_path.backend == "adapter"
    v = by_path.embed(["IBE"])
    assert v.shape == (1, 384) and abs(float((v * v).sum()) - 1) < 1e-4


def test_apply_killed_midway_keeps_old_index_then_second_run_completes(tuned_adapter, tmp_path: Path) -> None:
    kb_src, out, _report = tuned_adapter
    kb_dir = tmp_path / "kb"
    shutil.copytree(kb_src, kb_dir)
    before = json.loads((kb_dir / "manifest.json").read_text())
    env = {**os.environ, "LOCALKB_TUNE_APPLY_DELAY": "30", "LOCALKB_TUNE_APPLY_BATCH": "8"}
    proc = subprocess.Popen([LOCALKB, "tune", "--kb", str(kb_dir), "--out", str(out), "--method", "adapter",
                             "--max-steps", "300", "--apply"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and not list(kb_dir.glob("index-tuned-*")):
            time.sleep(0.5)
        assert list(kb_dir.glob("index-tuned-*")), "the apply never started"
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert json.loads((kb_dir / "manifest.json").read_text()) == before  # the swap never happened
    with KnowledgeBase.open(kb_dir, create=False) as kb:
        assert kb.embedder.id == "sentence-transformers/all-MiniLM-L6-v2"
        assert kb.search("IBE", min_score="none").hits
    done = run_cli("tune", "--kb", str(kb_dir), "--out", str(out), "--method", "adapter", "--max-steps", "300",
                   "--apply", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["reused"] is True and data["applied"]["removed_leftover"]
    manifest = json.loads((kb_dir / "manifest.json").read_text())
    assert manifest["model_id"] == data["model_id"] and manifest["extra"]["tuned"]["data_hash"] == data["data_hash"]
    assert len(list(kb_dir.glob("index-tuned-*"))) == 1 and not (kb_dir / "index").exists()
    with KnowledgeBase.open(kb_dir, create=False) as kb:
        assert kb.embedder.backend == "adapter" and kb.search("IBE", min_score="none").hits


def test_finetune_minilm_few_steps_writes_loadable_model(kb_copy: Path, tmp_path: Path, isolated_home) -> None:
    from localkb.embedders import load_embedder

    out = tmp_path / "ft"
    with KnowledgeBase.open(kb_copy, create=False) as kb:
        report = kb.tune(out=out, method="finetune", max_steps=2, batch_size=4)
    assert report.method == "finetune" and report.train["steps"] == 2 and not (out / ".checkpoint").exists()
    info = json.loads((out / "localkb-tune.json").read_text())
    assert info["recipe"]["loss"] == "MultipleNegativesRankingLoss" and info["base_model"].endswith("MiniLM-L6-v2")
    assert (out / "model.safetensors").is_file()
    emb = load_embedder(str(out), shared=False)
    assert emb.id == report.model_id and emb.embed(["IBE"]).shape == (1, 384)


def test_dry_run_prints_pairs_and_trains_nothing(corpus_kb: Path, tmp_path: Path, isolated_home) -> None:
    out = tmp_path / "never"
    done = run_cli("tune", "--kb", str(corpus_kb), "--out", str(out), "--dry-run", env={"LOCALKB_HOME": str(isolated_home)})
    assert done.returncode == 0, done.stderr
    assert "training pairs" in done.stdout and "[collision]" in done.stdout and "Dry run" in done.stdout
    assert not out.exists()


def test_bad_input_each_a_clear_error_nothing_lost(corpus_kb: Path, tmp_path: Path, isolated_home) -> None:
    env = {"LOCALKB_HOME": str(isolated_home)}
    empty = tmp_path / "empty"
    KnowledgeBase.open(empty, create=True).close()
    done = run_cli("tune", "--kb", str(empty), env=env)
    assert done.returncode == 1 and "empty" in done.stderr and "Traceback" not in done.stderr
    small = tmp_path / "small"
    with KnowledgeBase.open(small, create=True) as kb:
        kb.ingest([EXAMPLES / "corpus" / "warehouse-glossary.md"])
    done = run_cli("tune", "--kb", str(small), env=env)
    assert done.returncode == 1 and "at least 20" in done.stderr
    done = run_cli("tune", "--kb", str(corpus_kb), "--max-minutes", "0", env=env)
    assert done.returncode == 1 and "--max-minutes must be more than 0" in done.stderr
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    done = run_cli("tune", "--kb", str(corpus_kb), "--out", str(taken), "--max-steps", "1", env=env)
    assert done.returncode == 1 and "already exists" in done.stderr
    assert (taken / "keep.txt").read_text() == "mine" and len(list(taken.iterdir())) == 1


def test_untrainable_models() -> None:
    from localkb.tuning.tune import _method_for

    with pytest.raises(TuneError, match="cannot be fine-tuned"):
        _method_for("usem", "finetune", "google/universal-sentence-encoder-multilingual-3")
    with pytest.raises(TuneError, match="already a tuned adapter"):
        _method_for("adapter", "auto", "tuned/x")
    assert _method_for("usem", "auto", "use") == "adapter" and _method_for("sentence-transformers", "auto", "m") == "adapter"
    assert _method_for("sentence-transformers", "finetune", "m") == "finetune"


def test_adapter_on_use_multilingual(tmp_path: Path, isolated_home) -> None:
    kb_dir = tmp_path / "kb"
    with KnowledgeBase.open(kb_dir, model="multilingual", create=True) as kb:
        kb.ingest([EXAMPLES / "corpus"])
        with pytest.raises(TuneError, match="cannot be fine-tuned"):
            kb.tune(method="finetune")
        report = kb.tune(out=tmp_path / "use-adapter", max_steps=200, apply=True)
        assert report.method == "adapter" and report.base_model.endswith("multilingual-3")
        assert report.collisions_after is not None and report.collisions_after < report.collisions_before
        assert kb.embedder.backend == "adapter" and kb.search("入库异常", min_score="none").hits
    with KnowledgeBase.open(kb_dir, create=False) as kb:  # opens again, offline, with the adapter
        assert kb.manifest.extra["tuned"]["base_model"].endswith("multilingual-3")
        assert kb.audit(duplicates=False).model == report.model_id


def test_server_follows_a_tune_applied_by_another_process(tuned_adapter, tmp_path: Path) -> None:
    """A running server searches with the tuned model once another process applied it, without a restart."""
    from localkb.server.app import create_app

    from ..server.server_harness import LiveServer

    kb_src, out, _report = tuned_adapter
    kb_dir = tmp_path / "kb"
    shutil.copytree(kb_src, kb_dir)
    live = LiveServer(create_app(kb_dir, create=False)).start()
    try:
        with live.client() as http:
            first = http.post("/api/search", json={"query": "IBE", "min_score": "none"})
            assert first.status_code == 200 and first.json()["hits"]
            assert http.get("/api/stats").json()["model"] == "sentence-transformers/all-MiniLM-L6-v2"
            done = run_cli("tune", "--kb", str(kb_dir), "--out", str(out), "--method", "adapter",
                           "--max-steps", "300", "--apply", "--json")
            assert done.returncode == 0, done.stderr
            tuned_id = json.loads(done.stdout)["model_id"]
            again = http.post("/api/search", json={"query": "IBE", "min_score": "none"})
            assert again.status_code == 200 and again.json()["hits"]
            assert http.get("/api/stats").json()["model"] == tuned_id
            kb = live.app.state.localkb.kb
            assert kb.embedder.backend == "adapter" and type(kb.embedder).__name__ == "RoutedEmbedder"
            assert type(kb.store).__name__ == "LockedStore"  # the rebuilt parts are thread-safe again
    finally:
        live.stop()
