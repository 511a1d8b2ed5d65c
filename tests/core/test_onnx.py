"""The ONNX Runtime embedder (issue 18) on the real packaged MiniLM: fp32 = torch, int8 close, bad files refused."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from localkb import KnowledgeBase
from localkb.embedders import load_embedder
from localkb.embedders import onnx as onnx_mod
from localkb.embedders.onnx import length_batches
from localkb.embedders.onnx_export import FILES, onnx_dir, read_meta
from localkb.embedders.onnx_run import run_batch
from localkb.embedders.resolve import DEFAULT_MODEL, packaged_default_path, resolve_model
from localkb.errors import ModelError, ModelMismatch
from tests.contract.sentences import QUERIES, sentences

from ..conftest import run_cli

EXAMPLES_SAMPLE = [
    "A man is eating food.", "A man is eating a piece of bread.", "x", "ISO-8859-1 and E11.9 " * 60,
    "中文的句子，测试一下分词", "Ünïcödé façade naïve café", "   ", "IBE vs OBE: inbound and outbound exceptions.",
]


@pytest.fixture(scope="module")
def sample() -> list[str]:
    return [*EXAMPLES_SAMPLE, *sentences()[::4], *QUERIES]


@pytest.fixture(scope="module")
def onnx_fp32():
    return load_embedder("minilm-onnx")  # builds the ONNX files on first use on this machine


@pytest.fixture(scope="module")
def onnx_int8(onnx_fp32):
    return load_embedder("minilm-int8")


def test_fp32_vectors_equal_torch(embedder, onnx_fp32, sample):
    assert (onnx_fp32.id, onnx_fp32.backend, onnx_fp32.dim) == (DEFAULT_MODEL, "onnx-fp32", 384)
    assert onnx_fp32.graph == "fused"  # attention / LayerNorm / GELU fused, and still torch's vectors
    assert read_meta(onnx_dir(packaged_default_path()))["fused_ops"]["Attention"] == 6
    torch_vecs, onnx_vecs = embedder.embed(sample), onnx_fp32.embed(sample, batch_size=16)
    assert onnx_vecs.dtype == np.float32 and onnx_vecs.shape == torch_vecs.shape
    assert float(np.abs(torch_vecs - onnx_vecs).max()) < 1e-5
    assert float(onnx_vecs[0] @ onnx_vecs[1]) == pytest.approx(0.7553, abs=1e-4)  # ENVIRONMENT.md sanity value
    assert onnx_fp32.max_tokens == embedder.max_tokens
    assert [onnx_fp32.count_tokens(t) for t in sample[:20]] == [embedder.count_tokens(t) for t in sample[:20]]


@pytest.mark.parametrize("variant", ["onnx_fp32", "onnx_int8"])
def test_a_query_alone_runs_on_one_thread_with_the_same_vector(request, variant):
    emb = request.getfixturevalue(variant)
    queries = [q for q in QUERIES if len(emb._tok.encode(q).ids) <= onnx_mod.SMALL_TOKENS][:8]
    assert queries
    alone = np.stack([emb.embed([q])[0] for q in queries])
    assert emb._session_for(len(emb._tok.encode(queries[0]).ids)).get_session_options().intra_op_num_threads == 1
    assert emb._session_for(onnx_mod.SMALL_TOKENS + 1) is emb.session(emb._threads)
    # the same inputs on a two-thread session (int8 quantises activations per batch: same batches only)
    two = np.stack([run_batch(emb.session(2), emb._tok.encode_batch([q]), emb._names, emb._mode)[0] for q in queries])
    assert float(np.abs(two - alone).max()) < 1e-5


def test_int8_cosine_to_fp32_per_sentence(onnx_fp32, onnx_int8, sample):
    assert (onnx_int8.id, onnx_int8.backend) == (f"{DEFAULT_MODEL}@int8", "onnx-int8")
    cos = np.sum(onnx_fp32.embed(sample) * onnx_int8.embed(sample), axis=1)
    assert len(sample) > 120
    assert float(cos.min()) >= 0.97, sorted(cos)[:5]
    assert float(cos.mean()) >= 0.985


def test_torch_kb_searched_with_onnx_and_int8_is_its_own_model(tmp_path, onnx_fp32):
    doc = tmp_path / "d.txt"
    doc.write_text("IBE stands for Inbound Exception.\n\nThe canteen opens at noon on weekdays.", encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([doc])
        torch_hits = [(h.id, round(h.score, 5)) for h in kb.search("when is lunch", k=2, mode="dense").hits]
    with KnowledgeBase.open(tmp_path / "kb", model="minilm-onnx", create=True) as kb:
        assert kb.embedder.backend == "onnx-fp32"
        assert [(h.id, round(h.score, 5)) for h in kb.search("when is lunch", k=2, mode="dense").hits] == torch_hits
    with KnowledgeBase.open(tmp_path / "kb8", model="minilm-int8", create=True) as kb:
        kb.ingest([doc])
        assert kb.search("inbound exception", k=1, mode="dense").hits[0].text.startswith("IBE")
    manifest = json.loads((tmp_path / "kb8" / "manifest.json").read_text())
    assert (manifest["model_id"], manifest["model_backend"], manifest["model_spec"]) == (
        f"{DEFAULT_MODEL}@int8", "onnx-int8", "minilm-int8")
    assert manifest["extra"]["model_graph"] == "fused"  # the int8 file is the quantised fused graph
    with pytest.raises(ModelMismatch, match="refusing to mix"):
        KnowledgeBase.open(tmp_path / "kb8", model="minilm", create=True)
    with KnowledgeBase.open(tmp_path / "kb8", create=True) as kb:  # reopened from the manifest: int8 again
        assert kb.embedder.backend == "onnx-int8"


def _copy_cache(tmp_path, monkeypatch):
    src = onnx_dir(packaged_default_path())
    monkeypatch.setenv("LOCALKB_ONNX_CACHE", str(tmp_path / "onnx"))
    dst = onnx_dir(packaged_default_path())
    shutil.copytree(src, dst)
    return dst


def test_onnx_file_of_another_model_is_refused_with_the_rebuild_command(tmp_path, monkeypatch, onnx_int8):
    folder = _copy_cache(tmp_path, monkeypatch)
    shutil.copy(folder / FILES["fp32"], folder / FILES["int8"])  # a real ONNX graph, but not this model's int8
    with pytest.raises(ModelError, match=r"does not match model .*Rebuild it with: localkb models optimize minilm-int8 --force"):
        load_embedder("minilm-int8", shared=False)
    (folder / FILES["fp32"]).write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match=r"Cannot load the ONNX file .*localkb models optimize minilm-onnx --force"):
        load_embedder("minilm-onnx", shared=False)


def test_models_cli_lists_and_optimizes(tmp_path, onnx_int8):
    env = {"LOCALKB_HF_CACHE": str(tmp_path / "empty")}
    listing = run_cli("models", "list", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    rows = {r["name"]: r for r in json.loads(listing.stdout)["models"]}
    assert rows["minilm-onnx"]["graph"] == "fused"
    assert rows["minilm-onnx"]["built"] and rows["minilm-int8"]["model_id"] == f"{DEFAULT_MODEL}@int8"
    assert rows["minilm-int8"]["bytes"] < rows["minilm-onnx"]["bytes"] / 2  # int8 weights: a quarter
    out = run_cli("models", "optimize", "minilm-int8", "--json", env=env)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["built"] is False and set(info["files"]) == {"fp32", "int8"}
    bad = run_cli("models", "optimize", "multilingual", env=env)
    assert bad.returncode == 1 and "has no ONNX version" in bad.stderr and "Traceback" not in bad.stderr


def test_variant_suffix_resolves():
    ref = resolve_model(f"{packaged_default_path()}@int8")
    plain = resolve_model(str(packaged_default_path()))  # a path keeps the id a path gives (local/<folder>)
    assert (ref.backend, ref.variant, ref.id) == ("onnx", "int8", f"{plain.id}@int8")
    assert ref.spec.endswith("@int8")
    assert resolve_model("minilm-onnx").spec == "minilm-onnx"


def test_length_batches_cover_every_text_once_within_both_limits():
    lengths = [5, 256, 30, 256, 7, 120, 256, 1, 64, 64, 200, 3] * 7
    batches = length_batches(lengths, 16, 1024)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 16 and (len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 1024)
        assert [lengths[i] for i in b] == sorted((lengths[i] for i in b), reverse=True)
    assert [len(b) for b in batches][:2] == [4, 4]  # 256-token texts: 4 a batch; short ones fill 16
    assert length_batches([], 16, 1024) == []
