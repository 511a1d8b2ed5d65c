"""``localkb eval retrieval --report/--plot`` on a small BEIR folder (real MiniLM, FAISS), and the HTML
report opened in the real Chromium (Debian's, via Playwright) with every network request recorded.

The screenshot is kept in tests/artifacts/eval-report.png; with LOCALKB_UPDATE_SCREENSHOT=1 it is copied
to docs/img/eval-report.png.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("matplotlib")
pytest.importorskip("ir_measures")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
DOCS = {
    "ibe": "IBE (inbound exception) is raised when a delivery does not match its purchase order.",
    "obe": "OBE (outbound exception) is raised when a shipment leaves without a complete packing list.",
    "dock": "Receiving docks 1 to 4 take pallets; dock 5 is for parcels and courier drop-offs only.",
    "quarantine": "Goods with damaged packaging go to quarantine zone Q1 until a supervisor inspects them.",
    "e119": "E11.9 is the ICD-10 code for type 2 diabetes mellitus without complications.",
    "e118": "E11.8 is the ICD-10 code for type 2 diabetes mellitus with unspecified complications.",
    "night": "The night shift starts at 22:00 and hands over to the morning team at 06:00.",
    "forklift": "Forklift drivers need a valid licence and a yearly safety refresher course.",
    "returns": "Customer returns are checked within two working days and restocked or scrapped.",
    "labels": "Every pallet label carries the route code on its left edge, printed in black.",
}
QUERIES = {
    "q-ibe": ("What is an IBE?", ["ibe"]),
    "q-obe": ("When is an OBE raised?", ["obe"]),
    "q-code": ("E11.9", ["e119"]),
    "q-dock": ("Where do parcels arrive?", ["dock"]),
    "q-damaged": ("What happens to boxes that arrive broken?", ["quarantine"]),
    "q-shift": ("When does the morning team take over?", ["night"]),
    "q-hard": ("Which code has complications that are not specified?", ["e118"]),
    "q-cake": ("How do I bake a lemon drizzle cake?", []),
    "q-football": ("Who won the football cup final last year?", []),
    # judged as unrelated although the KB has a passage on it: the report must show it failing, first
    "q-label": ("What colour is the route code on a pallet label?", []),
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("beir-small")
    (root / "qrels").mkdir()
    (root / "corpus.jsonl").write_text("".join(json.dumps({"_id": d, "text": t}) + "\n" for d, t in DOCS.items()))
    (root / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": q, "text": t}) + "\n" for q, (t, _) in QUERIES.items()))
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, (_, ds) in QUERIES.items() for d in ds))
    return root


@pytest.fixture(scope="module")
def written(dataset: Path, tmp_path_factory: pytest.TempPathFactory, embedder: object) -> dict[str, Any]:
    from localkb.cli.eval_cmd import eval_group

    out = tmp_path_factory.mktemp("report")
    result = CliRunner().invoke(eval_group, ["retrieval", str(dataset), "--kb", str(out / "kb"), "--json",
                                             "--report", str(out / "report.html"), "--plot", str(out / "plot.png")])
    assert result.exit_code == 0, result.output
    return {"metrics": json.loads(result.output), "html": out / "report.html", "png": out / "plot.png"}


def test_report_and_plot_are_written(written: dict[str, Any]) -> None:
    m = written["metrics"]
    assert m["report_file"] == str(written["html"]) and m["plot_file"] == str(written["png"])
    assert written["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = written["html"].read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "calibrated cut-off" in page
    bare = re.sub(r'xmlns(:\w+)?="[^"]*"', "", page)  # XML namespaces are names, not requests
    for needle in ("http://", "https://", "<script", "<link", "src="):
        assert needle not in bare, needle
    assert not re.search(r"url\((?!#)", bare)  # only in-page references (SVG clip paths)
    assert f"{m['failing_queries']} failing" in page


def test_failing_queries_come_first(written: dict[str, Any]) -> None:
    from html.parser import HTMLParser

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.classes: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "tr" and dict(attrs).get("class") is not None:
                self.classes.append(dict(attrs)["class"] or "")

    rows = Rows()
    rows.feed(written["html"].read_text(encoding="utf-8"))
    assert len(rows.classes) == len(QUERIES)
    flags = [c == "fail" for c in rows.classes]
    assert flags == sorted(flags, reverse=True) and sum(flags) == written["metrics"]["failing_queries"] >= 1
    assert "unrelated query answered" in written["html"].read_text(encoding="utf-8")


def test_report_numbers_match_the_metrics(dataset: Path, written: dict[str, Any]) -> None:
    """The figures' data are the evaluator's: recall@10 of the main mode's curve equals the JSON's when the
    main run has no cut-off effect on the answerable queries."""
    from localkb import KnowledgeBase
    from localkb.search.eval import load_dataset, run_queries
    from localkb.search.report import build_report

    ds = load_dataset(dataset)
    names = json.loads((written["html"].parent / "kb" / "eval-ids.json").read_text())["names"]
    with KnowledgeBase.open(written["html"].parent / "kb", create=False) as kb:
        run = run_queries(ds, lambda q: kb.search(q, k=100, min_score="none"), names)
        report = build_report(ds, kb, names, run, {"mode": "hybrid", "model": kb.manifest.model_id})
    assert dict(report.recall["hybrid"])[10] == pytest.approx(
        sum(1 for r in report.rows if r.answerable and r.first_relevant and r.first_relevant <= 10) / 7)
    assert len(report.unrelated_best) == 3 and len(report.answerable_best) == 7
    assert report.cutoff is not None and len(report.bank_scores) >= 30


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_report_in_chromium_makes_no_network_request(written: dict[str, Any]) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(written["html"].as_uri())
        page.wait_for_load_state("networkidle")
        svgs = page.locator("svg")
        assert svgs.count() == 3 and all(svgs.nth(i).bounding_box()["width"] > 300 for i in range(3))
        assert page.locator("tr.fail").count() == written["metrics"]["failing_queries"]
        artifacts = ROOT / "tests" / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / "eval-report.png"), full_page=False)
        browser.close()
    assert requests == [written["html"].as_uri()], requests  # the page itself and nothing else
    if os.environ.get("LOCALKB_UPDATE_SCREENSHOT"):
        shutil.copy(artifacts / "eval-report.png", ROOT / "docs" / "img" / "eval-report.png")


@pytest.fixture(scope="module")
def page_server(corpus_kb: Any) -> Any:
    pytest.importorskip("fastapi")
    from localkb.server.app import create_app

    from .conftest import Uvicorn

    with Uvicorn(create_app(corpus_kb.path, create=False)) as live:
        yield live


def test_calibration_api_says_where_the_cut_off_comes_from(page_server: Any) -> None:
    import httpx
    import numpy as np

    from localkb.search.thresholds import cutoff_from

    cal = httpx.get(f"{page_server.url}/api/calibration", timeout=120).json()
    scores = np.asarray([b["score"] for b in cal["bank"]])
    assert len(scores) >= 30 and all(b["text"] for b in cal["bank"])
    assert cal["cutoff"] == cal["calibration"]["cutoff"]
    assert cutoff_from(scores, cal["calibration"]["spread"]) == pytest.approx(cal["cutoff"], abs=1e-3)


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_overview_draws_the_cut_off(page_server: Any) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(page_server.url)
        page.wait_for_selector("#calibration svg .cal-cut", state="attached")
        assert page.locator("#calibration .cal-bar").count() >= 3
        text = page.locator("#calibration p").inner_text()
        cutoff = page.evaluate("fetch('/api/calibration').then(r => r.json()).then(c => c.cutoff)")
        assert f"{cutoff:.3f}" in text and "median" in text
        page.locator("#calibration").screenshot(path=str(ROOT / "tests" / "artifacts" / "overview-calibration.png"))
        browser.close()
