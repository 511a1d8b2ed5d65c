"""The web page in a real headless Chromium (Debian's package), driven by Playwright.

Open the page, drop a file on it and upload another, see them listed, search and see the hit with
highlighted terms, ask and see a citation that opens the cited chunk, switch to Chinese, use the SQL
tab. Screenshots are kept in tests/artifacts/ (with LOCALKB_UPDATE_SCREENSHOT=1 the search one is copied to docs/img/web.png).

Needs: ``apt-get install chromium`` (and ``fonts-wqy-microhei`` so the Chinese UI renders in the
screenshot) and ``pip install playwright`` — never ``playwright install``: the browser comes from Debian.
The ask and SQL steps use the real packaged GGUF (``LOCALKB_TEST_LLM_MODEL``, default
qwen2.5-coder-1.5b, which cites reliably; the 0.5B often answers without citing) when it is provisioned
and llama-cpp-python is installed, else the scripted LLM (then the page's streaming, citation links and
SQL view are what is tested).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_harness import CHROMIUM, CHROMIUM_ARGS, CORPUS, LiveServer, scripted_llm

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")


def real_llm() -> object | None:
    """The packaged GGUF as an LLM object, or None when it is not available here."""
    try:
        import llama_cpp  # noqa: F401

        from localkb.llm.base import open_llm
        from localkb.llm.gguf import is_provisioned, model_path
    except ImportError:
        return None
    name = os.environ.get("LOCALKB_TEST_LLM_MODEL", "qwen2.5-coder-1.5b")
    if not is_provisioned(name):
        return None
    return open_llm(f"llamacpp://{model_path(name)}", threads=2, timeout=300)


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory, music_db: Path) -> Iterator[tuple[LiveServer, bool]]:
    from localkb.server.app import create_app

    docs = tmp_path_factory.mktemp("bdocs")
    for name, text in CORPUS.items():
        (docs / name).write_text(text, encoding="utf-8")
    llm = real_llm()
    app = create_app(tmp_path_factory.mktemp("bkb") / "kb", upload_roots=[docs],
                     databases={"music": f"sqlite:///{music_db}"}, llm=llm or scripted_llm())
    server = LiveServer(app).start()
    with server.client() as c:
        assert c.post("/api/ingest/path", json={"paths": [str(docs)], "wait": True, "tags": ["docs"]}).status_code == 200
    yield server, llm is not None
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def shot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)  # type: ignore[attr-defined]
    return path


def test_page_end_to_end(page_server: tuple[LiveServer, bool], browser: object, tmp_path: Path) -> None:
    server, real = page_server
    print(f"LLM: {'the real packaged GGUF' if real else 'scripted (no provisioned GGUF here)'}")
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    expect = sync_api.expect
    expect(page.locator('[data-stat="stats.documents"] .value')).to_have_text(str(len(CORPUS)))

    # drag-and-drop one file onto the drop zone
    drop = page.evaluate_handle("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File(["# Ledger\\n\\nThe ledger keeps every settled payment for seven years."],
                              "ledger-notes.md", {type: "text/markdown"}));
        return dt; }""")
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": drop})
    # …and choose another through the file input, plus a binary file that must be reported as skipped
    notes = tmp_path / "gateway-notes.txt"
    notes.write_text("The payment gateway retries failed webhooks three times with exponential backoff.",
                     encoding="utf-8")
    blob = tmp_path / "blob.txt"
    blob.write_bytes(bytes(range(256)) * 8)
    page.set_input_files("#file-input", [str(notes), str(blob)])
    expect(page.locator('#upload-list li[data-file="ledger-notes.md"]')).to_have_attribute("data-status", "ok", timeout=120_000)
    expect(page.locator('#upload-list li[data-file="gateway-notes.txt"]')).to_have_attribute("data-status", "ok", timeout=120_000)
    expect(page.locator('#upload-list li[data-file="blob.txt"]')).to_have_attribute("data-status", "bad", timeout=120_000)
    expect(page.locator('#upload-list li[data-file="blob.txt"]')).to_contain_text("binary")
    expect(page.locator('[data-stat="stats.documents"] .value')).to_have_text(str(len(CORPUS) + 2))
    shot(page, "web-overview.png")

    # the documents tab lists the uploads; a document shows its chunks
    page.click('nav [data-tab="documents"]')
    item = page.locator("#doc-list li", has_text="gateway-notes.txt")
    expect(item).to_be_visible()
    item.click()
    expect(page.locator("#doc-detail .chunk")).to_contain_text("exponential backoff")

    # search: the uploaded file is the top hit, with scores and highlighted terms
    page.click('nav [data-tab="search"]')
    page.fill("#search-input", "webhook retries payment gateway")
    page.click("#search-form button[type=submit]")
    first = page.locator("#search-results .hit").first
    expect(first.locator(".source")).to_contain_text("gateway-notes.txt")
    expect(first.locator("mark").first).to_be_visible()
    assert float(first.locator(".score").inner_text()) > 0.3
    expect(page.locator("#search-meta")).not_to_contain_text("null")
    expect(page.locator("#search-meta")).to_contain_text("weights dense")
    first.click()
    expect(page.locator("#chunk-dialog")).to_be_visible()
    expect(page.locator("#chunk-body .text")).to_contain_text("three times")
    page.keyboard.press("Escape")
    # an identifier in the query: exact-match flags, and the chunk holding it verbatim ranks first
    page.fill("#search-input", "IBE payment gateway events")
    page.click("#search-form button[type=submit]")
    expect(page.locator("#search-meta .flag.yes")).to_contain_text("IBE")
    expect(page.locator("#search-results .hit").first.locator(".source")).to_contain_text("ibe.md")
    expect(page.locator("#search-results .hit").first.locator("mark", has_text="IBE")).to_be_visible()
    shot(page, "web-search.png")

    # ask: the answer streams in; its citation opens the cited chunk
    page.click('nav [data-tab="ask"]')
    page.fill("#ask-input", "What is a group of cats called?")
    page.click("#ask-form button[type=submit]")
    expect(page.locator("#ask-status")).not_to_have_text("")
    expect(page.locator("#ask-form button[type=submit]")).to_be_enabled(timeout=300_000)  # the stream has ended
    citation = page.locator("#ask-citations li").first
    answer = page.locator("#ask-answer").inner_text()
    assert page.locator("#ask-citations li").count() >= 1, f"no citation in the answer: {answer!r}"
    expect(citation).to_contain_text("cats.txt")
    model = page.locator("#ask-status").get_attribute("data-model")  # the page names the model that answered
    assert model and model in page.locator("#ask-status").inner_text()
    shot(page, "web-ask.png")
    page.locator("#ask-answer a.cite").first.click() if page.locator("#ask-answer a.cite").count() else citation.click()
    expect(page.locator("#chunk-body .text")).to_contain_text("clowder")
    page.keyboard.press("Escape")

    # SQL tab: the guard alone, then a question → generated SQL, the guard's verdict, rows
    page.click('nav [data-tab="sql"]')
    expect(page.locator("#sql-db option")).to_have_count(1)
    page.fill("#sql-check-input", "DELETE FROM artist")
    page.click("#sql-check-form button[type=submit]")
    expect(page.locator("#sql-output .verdict.rejected")).to_be_visible()
    page.fill("#sql-input", "List the names of all artists")
    page.click("#sql-form button[type=submit]")
    expect(page.locator("#sql-generated")).to_contain_text("SELECT", timeout=300_000)
    expect(page.locator("#sql-output .verdict.allowed")).to_be_visible()
    expect(page.locator("#sql-output table.rows")).to_contain_text("Faye Wong")
    shot(page, "web-sql.png")

    # Chinese UI
    page.click("#lang-toggle")
    expect(page.locator('nav [data-tab="overview"]')).to_have_text("概览")
    page.click('nav [data-tab="overview"]')
    expect(page.locator('[data-stat="stats.documents"] .label')).to_have_text("文档")
    shot(page, "web-zh.png")
    page.click("#lang-toggle")

    assert not errors, errors
    context.close()
    if os.environ.get("LOCALKB_UPDATE_SCREENSHOT"):  # refresh the README's picture on request only
        img = ROOT / "docs" / "img"
        img.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / "web-search.png", img / "web.png")


def test_page_asks_for_the_token(tmp_path_factory: pytest.TempPathFactory, browser: object) -> None:
    from localkb.server.app import create_app

    server = LiveServer(create_app(tmp_path_factory.mktemp("tkb") / "kb", token="page-token")).start()
    try:
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(server.url + "/")
        expect = sync_api.expect
        expect(page.locator("#token-bar")).to_be_visible()
        page.fill("#token-input", "page-token")
        page.click("#token-save")
        page.wait_for_selector("body[data-ready=true]")
        expect(page.locator("#token-bar")).to_be_hidden()
        expect(page.locator('[data-stat="stats.documents"] .value')).to_have_text("0")
        page.close()
    finally:
        server.stop()


def test_page_takes_the_token_from_the_url_and_uploads_with_it(tmp_path_factory: pytest.TempPathFactory,
                                                                 browser: object, tmp_path: Path) -> None:
    """The URL ``localkb serve`` prints (``/?token=T``): the page keeps the token for the session, takes it
    off the address bar, and sends it on every call — an upload included (a multipart POST, which the
    server only takes with the token or the page's own header)."""
    from localkb.server.app import create_app

    server = LiveServer(create_app(tmp_path_factory.mktemp("ukb") / "kb", token="url-token")).start()
    try:
        page = browser.new_page()  # type: ignore[attr-defined]
        seen: list[dict[str, str]] = []
        page.on("request", lambda r: seen.append(r.headers) if "/api/" in r.url else None)
        page.goto(server.url + "/?token=url-token#overview")
        page.wait_for_selector("body[data-ready=true]")
        expect = sync_api.expect
        expect(page.locator("#token-bar")).to_be_hidden()
        assert "token" not in page.url and page.url.endswith("#overview")  # not left in history or screenshots
        notes = tmp_path / "token-notes.txt"
        notes.write_text("Uploads from the page carry the server token.", encoding="utf-8")
        page.set_input_files("#file-input", [str(notes)])
        expect(page.locator('#upload-list li[data-file="token-notes.txt"]')).to_have_attribute(
            "data-status", "ok", timeout=120_000)
        expect(page.locator('[data-stat="stats.documents"] .value')).to_have_text("1")
        page.reload()  # the same tab keeps the token (sessionStorage)
        page.wait_for_selector("body[data-ready=true]")
        expect(page.locator("#token-bar")).to_be_hidden()
        assert seen and all(h.get("x-api-key") == "url-token" and h.get("x-localkb-request") == "1" for h in seen)
        page.close()
    finally:
        server.stop()
