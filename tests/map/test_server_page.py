"""The map endpoints over real HTTP, and the Map tab in the real headless Chromium (Debian's package)
driven by Playwright: points drawn, hover shows the chunk, click opens it, a search rings its hits,
"more like this" lists similar documents, the duplicates view shows the diff. The KB is the bundled corpus
(real MiniLM, FAISS). With LOCALKB_UPDATE_SCREENSHOT=1 the map screenshot is copied to docs/img/map.png."""
from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import COPY, GLOSSARY, ORIGINAL, PROCEDURE, source

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "server"))
from server_harness import CHROMIUM, CHROMIUM_ARGS, LiveServer  # noqa: E402


@pytest.fixture(scope="module")
def server(faiss_kb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from localkb.server.app import create_app

    folder = tmp_path_factory.mktemp("map-server") / "kb"
    shutil.copytree(faiss_kb_dir, folder)
    live = LiveServer(create_app(folder, create=False)).start()
    yield live
    live.stop()


def test_map_endpoints(server: LiveServer) -> None:
    with server.client() as c:
        assert c.get("/api/clusters").json() == {"k": 0, "criterion": None, "clusters": []}
        made = c.post("/api/clusters", json={"k": 3})
        assert made.status_code == 200 and made.json()["k"] == 3
        points = c.get("/api/map").json()
        assert points["shown"] == points["total"] >= 30 and points["clusters"]
        assert all(p["cluster"] is not None and -1 <= p["x"] <= 1 for p in points["points"])
        cluster_of = {p["id"]: p["cluster"] for p in points["points"]}
        top = c.post("/api/search", json={"query": "IBE", "min_score": "none", "k": 1}).json()["hits"][0]
        wanted = cluster_of[top["id"]]
        hits = c.post("/api/search", json={"query": "IBE", "cluster": wanted, "min_score": "none", "k": 10}).json()["hits"]
        assert hits and {cluster_of[h["id"]] for h in hits} == {wanted}
        assert c.post("/api/search", json={"query": "IBE", "cluster": 42}).status_code == 400
        sim = c.get("/api/similar", params={"target": source(PROCEDURE)}).json()
        assert source(GLOSSARY) in [s["source"] for s in sim["similar"][:2]]
        assert c.post("/api/similar", json={"text": "quarantine lane", "k": 2}).json()["kind"] == "text"
        dups = c.get("/api/dedup").json()
        assert {m["source"] for g in dups["groups"] for m in g["members"]} == {source(ORIGINAL), source(COPY)}
        bad = c.get("/api/similar", params={"target": "nope.md"})
        assert bad.status_code == 400 and bad.json()["error"] == "MapError"
        assert c.get("/api/dedup", params={"threshold": "2"}).status_code == 400
        assert c.post("/api/clusters", json={"k": 0}).status_code == 400
        assert c.post("/api/similar", json={"target": "x", "colour": "red"}).status_code == 422


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_the_map_tab_in_chromium(server: LiveServer) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    with server.client() as c:
        c.post("/api/clusters", json={"k": 3})
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(server.url + "/#map")
        page.wait_for_selector("body[data-ready=true]")
        canvas = page.locator("#map-canvas")
        page.wait_for_function("Number(document.querySelector('#map-canvas').dataset.points) >= 30")
        assert page.locator("#map-legend li").count() == 3
        # hover the first drawn point: the tooltip shows its chunk
        x, y = page.evaluate("""() => { const c = document.querySelector('#map-canvas');
            const r = c.getBoundingClientRect(); return [r.left, r.top]; }""")
        box = canvas.bounding_box()
        assert box is not None
        found = False
        for gx in range(20, int(box["width"]) - 20, 12):
            for gy in range(20, int(box["height"]) - 20, 12):
                page.mouse.move(x + gx, y + gy)
                if page.locator("#map-tip").is_visible():
                    found = True
                    break
            if found:
                break
        assert found and page.locator("#map-tip").inner_text().strip()
        tip_chunk = page.locator("#map-tip").get_attribute("data-chunk")
        page.mouse.click(x + gx, y + gy)
        page.wait_for_selector("#chunk-dialog[open] #chunk-body[data-chunk-id]")
        assert page.locator("#chunk-body").get_attribute("data-chunk-id") == tip_chunk
        page.keyboard.press("Escape")
        # a search rings its hits
        page.fill("#map-query", "IBE quarantine lane")
        page.click("#map-search-form button[type=submit]")
        page.wait_for_function("Number(document.querySelector('#map-canvas').dataset.marked) > 0")
        ARTIFACTS = ROOT / "tests" / "artifacts"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "map.png"
        page.screenshot(path=str(shot))
        if os.environ.get("LOCALKB_UPDATE_SCREENSHOT"):
            shutil.copy(shot, ROOT / "docs" / "img" / "map.png")
        # the duplicates view shows the edited copy with a diff
        page.click("#map-dups")
        page.wait_for_selector("#dup-list ins, #dup-list del")
        assert "onboarding" in page.locator("#dup-list").inner_text()
        # more like this from a search hit
        page.click('nav [data-tab="search"]')
        page.fill("#search-input", "inbound exception procedure")
        page.click("#search-form button[type=submit]")
        page.wait_for_selector("#search-results .more-like")
        page.locator("#search-results .more-like").first.click()
        page.wait_for_selector("#similar-list li")
        assert not page.locator("#tab-map").is_hidden()
        browser.close()
