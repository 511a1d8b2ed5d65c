"""Evaluation: metrics (pure), BEIR loading with clear errors on broken files, TREC run output."""

from __future__ import annotations

import json
import math

import pytest

from localkb.errors import DatasetError
from localkb.search.eval import Run, load_dataset, query_metrics, score, write_trec


def write_beir(root, corpus=None, queries=None, qrels=None):
    root.mkdir(parents=True, exist_ok=True)
    (root / "qrels").mkdir(exist_ok=True)
    corpus = (
        corpus
        if corpus is not None
        else [
            {"_id": "d1", "text": "alpha"},
            {"_id": "d2", "text": "beta"},
            {"_id": "d3", "title": "T", "text": "gamma"},
        ]
    )
    queries = (
        queries
        if queries is not None
        else [
            {"_id": "q1", "text": "alpha?"},
            {"_id": "q2", "text": "beta?"},
            {"_id": "q3", "text": "nothing here"},
        ]
    )
    (root / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries), encoding="utf-8")
    (root / "qrels" / "test.tsv").write_text(
        qrels if qrels is not None else "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq2\td3\t2\n",
        encoding="utf-8",
    )
    return root


def test_query_metrics_by_hand():
    m = query_metrics(["x", "d1", "y"], {"d1": 1})
    assert m["p@1"] == 0.0 and m["mrr@10"] == 0.5 and m["recall@10"] == 1.0
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(3))
    perfect = query_metrics(["d2", "d1"], {"d1": 1, "d2": 2})
    assert perfect["ndcg@10"] == pytest.approx(1.0) and perfect["p@1"] == 1.0
    assert query_metrics([], {"d1": 1})["recall@100"] == 0.0
    far = query_metrics([f"n{i}" for i in range(50)] + ["d1"], {"d1": 1})
    assert far["recall@10"] == 0.0 and far["recall@100"] == 1.0 and far["mrr@10"] == 0.0


def test_score_counts_abstention_precision_and_recall(tmp_path):
    ds = load_dataset(write_beir(tmp_path / "ds"))
    assert ds.should_abstain == {"q3"}
    run = Run(ranked={"q1": [("d1", 0.9)], "q2": [], "q3": []})
    m = score(ds, run)
    assert m["judged_queries"] == 2 and m["should_abstain"] == 1 and m["abstained"] == 2
    assert m["abstention_recall"] == 1.0 and m["abstention_precision"] == 0.5
    assert m["p@1"] == 0.5  # q2 abstained although it had relevant documents: scores 0


def test_trec_run_format(tmp_path):
    run = Run(ranked={"q1": [("d1", 0.9), ("d2", 0.5)], "q3": []})
    path = tmp_path / "run.txt"
    assert write_trec(run, path, tag="t") == 2
    assert path.read_text().splitlines() == ["q1 Q0 d1 1 0.900000 t", "q1 Q0 d2 2 0.500000 t"]


def test_missing_file_is_named(tmp_path):
    root = write_beir(tmp_path / "ds")
    (root / "queries.jsonl").unlink()
    with pytest.raises(DatasetError, match="queries.jsonl is missing"):
        load_dataset(root)
    with pytest.raises(DatasetError, match="is not a folder"):
        load_dataset(tmp_path / "nope")


@pytest.mark.parametrize(
    "name, content, where",
    [
        (
            "corpus.jsonl",
            '{"_id": "d1", "text": "a"}\n{"_id": "d2", "text": \n',
            "corpus.jsonl:2: not valid JSON",
        ),
        ("corpus.jsonl", '{"_id": "d1"}\n', "corpus.jsonl:1: each line needs"),
        ("queries.jsonl", '{"_id": "q1", "text": "a"}\n\n["list"]\n', "queries.jsonl:3: each line needs"),
        (
            "corpus.jsonl",
            '{"_id": "d1", "text": "a"}\n{"_id": "d1", "text": "b"}\n',
            "corpus.jsonl:2: duplicate _id",
        ),
    ],
)
def test_malformed_jsonl_names_file_and_line(tmp_path, name, content, where):
    root = write_beir(tmp_path / "ds")
    (root / name).write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=where.replace(".", r"\.")):
        load_dataset(root)


@pytest.mark.parametrize(
    "qrels, where",
    [
        ("query-id\tcorpus-id\tscore\nq1 d1 1\n", "test.tsv:2: expected"),
        ("q1\td1\tx\n", "test.tsv:1: expected"),
        ("q1\td9\t1\n", "test.tsv:1: unknown corpus id 'd9'"),
        ("q7\td1\t1\n", "test.tsv:1: unknown query id 'q7'"),
    ],
)
def test_malformed_qrels_name_file_and_line(tmp_path, qrels, where):
    root = write_beir(tmp_path / "ds", qrels=qrels)
    with pytest.raises(DatasetError, match=where.replace(".", r"\.")):
        load_dataset(root)


def test_non_utf8_file_is_a_clear_error(tmp_path):
    root = write_beir(tmp_path / "ds")
    (root / "corpus.jsonl").write_bytes(b'{"_id": "d1", "text": "\xff\xfe"}\n')
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_dataset(root)


def test_prepare_kb_refuses_a_kb_it_did_not_build(tmp_path):
    from localkb.evaluation import prepare_kb

    ds = load_dataset(write_beir(tmp_path / "ds"))
    other = tmp_path / "somebody-elses-kb"
    other.mkdir()
    (other / "manifest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(DatasetError, match="not built by 'localkb eval'"):
        prepare_kb(ds, other)
    built = tmp_path / "eval-kb"
    built.mkdir()
    (built / "eval-ids.json").write_text(json.dumps({"digest": "another corpus", "names": {}}), encoding="utf-8")
    with pytest.raises(DatasetError, match="built from another corpus"):
        prepare_kb(ds, built)
