"""``/api/audit`` over real HTTP and the audit panel in the real headless Chromium (Debian's package)."""
from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "server"))
from server_harness import CHROMIUM, CHROMIUM_ARGS, LiveServer  # noqa: E402


@pytest.fixture(scope="module")
def server(corpus_kb: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from localkb.server.app import create_app

    folder = tmp_path_factory.mktemp("audit-server") / "kb"
    shutil.copytree(corpus_kb, folder)
    live = LiveServer(create_app(folder, create=False)).start()
    yield live
    live.stop()


def test_audit_endpoint(server: LiveServer) -> None:
    with server.client() as c:
        r = c.get("/api/audit", params={"duplicates": "false"}, timeout=300)
    assert r.status_code == 200, r.text
    data = r.json()
    assert ["IBE", "OBE"] in [c["terms"] for c in data["collisions"]] and data["duplicates"] is None


def test_audit_panel_in_chromium(server: LiveServer) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(server.url + "/#overview")
        page.wait_for_selector("body[data-ready=true]")
        page.click("#audit-run")
        page.wait_for_selector("#audit-result tr.collision", timeout=300_000)
        assert page.locator("#audit-result tr[data-terms='IBE~OBE']").count() == 1
        assert "localkb tune" in page.locator("#audit-result").inner_text()
        browser.close()
