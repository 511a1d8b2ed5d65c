"""The ask panel in a real headless Chromium: what a user needs to check an answer is on the page.

A real server on 127.0.0.1 over a real KB (packaged MiniLM, FAISS), the real support checker, the real
budget and the real retrieval cut-off; only the model's words are scripted, so each display case happens
on demand: a refusal for each of the three reasons (each its own sentence, ``#ask-refusal``), an answer with
one supported and one unsupported sentence (marked in the answer), the same in quote mode (a quote not found), a citation moved to the passage that
supports it, the withheld draft of an unsupported answer, and every chunk shortened or dropped to fit the
window with the tokens it lost. What the page shows is compared with the JSON of the same request.

The API side of these fields is tested on the real packaged GGUF in tests/llm/test_ask_checked_real.py
(truncation of a single long chunk through the CLI, JSON and ``/api/ask``; a deleted chunk refused with
``abstained_because = "retrieval"``; a wrong citation moved on the bundled corpus) and the model name in
tests/server/test_browser.py and tests/llm/test_server_model_real.py.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from server_harness import CHROMIUM, CHROMIUM_ARGS, LiveServer

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")

LONG = " ".join(f"Archive shelf {i} of the Vellmar depot holds crates of brass valves numbered {100 + i} to "
                f"{140 + i}, inspected every {i + 2} weeks by the depot keeper." for i in range(14))
DOCS = {
    "zorblax.md": "# Zorblax\n\nThe Zorblax daemon listens on port 7781 by default. Its configuration file is "
                  "/etc/zorblax/zorblax.toml.",
    "backup.md": "# Backups\n\nNightly backups of the Quillon database run at 02:30 and are kept for 14 days.",
    "restore.md": "# Restores\n\nRestores of the Quillon database backups are rehearsed every month by the "
                  "operations team on a spare host.",
    "office.md": "# Office\n\nThe Lindqvist office opens at 8:15 on weekdays and is closed on Sundays.",
    "depot.md": "# Vellmar depot\n\n" + LONG,
}
#: question -> the scripted model's reply (the passages are numbered in rank order; see ``reply``)
Q_MIXED = "Which port does the Zorblax daemon listen on?"
Q_MOVED = "At what time do the nightly Quillon database backups run?"
Q_MODEL = "When does the Lindqvist office open on weekdays?"
Q_UNSUPPORTED = "Where is the configuration file of the Zorblax daemon?"
Q_CUT = "What does archive shelf 3 of the Vellmar depot hold?"
Q_NOTHING = "Which striker won the golden boot at the 1954 football world cup in Switzerland?"
#: the model's context window (the scripted model counts 4 characters a token): the page keeps 256 for the
#: answer; the rules, the template and the short documents fit, a whole chunk of the depot does not
WINDOW = 700


def reply(messages: Sequence[dict[str, str]]) -> str:
    user = messages[-1]["content"]
    passages = user.split("Question:")[0]

    def n_of(word: str) -> int:
        """The number of the passage holding ``word`` (as the page's server numbered them)."""
        for block in passages.split("<passage n=\"")[1:]:
            if word in block:
                return int(block.split("\"", 1)[0])
        raise AssertionError(f"{word!r} is not in the prompt")

    if "by quoting" in messages[0]["content"]:  # ask --quote: the extractive rules were sent
        if Q_MIXED in user:
            return (f'"listens on port 7781 by default" [{n_of("7781")}]. '
                    f'"listens on port 8080 by default" [{n_of("7781")}].')
        raise AssertionError("quote mode is asked only the port question here")
    if Q_MIXED in user:
        return (f"The Zorblax daemon listens on port 7781 [{n_of('7781')}]. "
                f"It was written in Fortran by a team of volcanologists in Reykjavik [{n_of('7781')}].")
    if Q_MOVED in user:
        wrong = n_of("rehearsed")  # a passage on the same subject without the fact
        return f"The nightly Quillon backups run at 02:30 and are kept for 14 days [{wrong}]."
    if Q_MODEL in user:
        return "I don't know."
    if Q_UNSUPPORTED in user:
        return "Penguins migrate across the Sahara every spring to lay their eggs [1]."
    if Q_CUT in user:
        return f"Archive shelf 3 holds crates of brass valves numbered 103 to 143 [{n_of('shelf 3')}]."
    raise AssertionError(f"unexpected question in {user[-200:]!r}")


@pytest.fixture(scope="module")
def ask_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from localkb.llm.fake import ScriptedLLM
    from localkb.server.app import create_app

    docs = tmp_path_factory.mktemp("askdocs")
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    app = create_app(tmp_path_factory.mktemp("askkb") / "kb", upload_roots=[docs],
                     llm=ScriptedLLM(respond=reply, context_window=WINDOW))
    server = LiveServer(app).start()
    with server.client() as c:
        assert c.post("/api/ingest/path", json={"paths": [str(docs)], "wait": True}).status_code == 200
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(ask_server: LiveServer) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page()
        pg.goto(ask_server.url + "/#ask")
        pg.wait_for_selector("body[data-ready=true]")
        pg.click('nav [data-tab="ask"]')
        yield pg
        browser.close()


def ask(page: Any, server: LiveServer, question: str, quote: bool = False) -> dict[str, Any]:
    """Ask on the page and wait for the stream to end; return the JSON of the same request."""
    page.set_checked("#ask-quote", quote)
    page.fill("#ask-input", question)
    page.click("#ask-form button[type=submit]")
    sync_api.expect(page.locator("#ask-status")).not_to_have_text("")
    sync_api.expect(page.locator("#ask-form button[type=submit]")).to_be_enabled(timeout=60_000)
    sync_api.expect(page.locator("#ask-status")).not_to_contain_text("…")
    with server.client() as c:
        r = c.post("/api/ask", json={"question": question, "quote": quote})
        assert r.status_code == 200, r.text
        return r.json()


def cuts_on_page(page: Any) -> list[tuple[int, int, bool]]:
    items = page.locator("#ask-notes li.cut")
    return [(int(items.nth(i).get_attribute("data-rank")), int(items.nth(i).get_attribute("data-tokens-cut")),
             items.nth(i).get_attribute("data-dropped") == "true") for i in range(items.count())]


def test_an_unsupported_sentence_is_marked_in_the_answer(page: Any, ask_server: LiveServer) -> None:
    out = ask(page, ask_server, Q_MIXED)
    assert not out["abstained"] and [s["supported"] for s in out["sentences"]] == [True, False], out
    assert page.locator("#ask-refusal").is_hidden()
    assert page.locator("#ask-answer .sentence[data-supported=true]").count() == 1
    bad = page.locator("#ask-answer .sentence.unsupported")
    assert bad.count() == 1 and "Fortran" in bad.inner_text()
    assert "7781" not in bad.inner_text()
    assert out["model"] == "scripted" and "scripted" in page.locator("#ask-status").inner_text()
    assert cuts_on_page(page) == [(c["rank"], c["tokens_cut"], c["dropped"]) for c in out["cut_chunks"]]


def test_every_chunk_shortened_or_dropped_is_listed_with_tokens_cut(page: Any, ask_server: LiveServer) -> None:
    out = ask(page, ask_server, Q_CUT)
    short = [c for c in out["cut_chunks"] if not c["dropped"]]
    assert out["truncated"] and len(short) == 1 and short[0]["rank"] == 1, out["cut_chunks"]
    assert cuts_on_page(page) == [(c["rank"], c["tokens_cut"], c["dropped"]) for c in out["cut_chunks"]]
    text = page.locator("#ask-notes li.cut[data-dropped=false]").inner_text()
    assert f"shortened by {short[0]['tokens_cut']} of {short[0]['tokens']} tokens" in text
    assert f"{WINDOW}-token window" in text
    # the hits below a shortened top chunk are dropped, and each is listed too
    dropped = [c for c in out["cut_chunks"] if c["dropped"]]
    assert dropped and page.locator("#ask-notes li.cut[data-dropped=true]").count() == len(dropped)
    assert page.locator("#ask-answer a.cite").count() == 1  # the answer still cites the shortened chunk


def test_a_moved_citation_is_shown(page: Any, ask_server: LiveServer) -> None:
    out = ask(page, ask_server, Q_MOVED)
    [s] = out["sentences"]
    assert s["moved"] and s["supported"] and s["citations"] != s["cited"], s
    note = page.locator("#ask-notes li.moved")
    assert note.count() == 1 and f"citation moved from [{s['cited'][0]}]" in note.inner_text()
    link = page.locator("#ask-answer a.cite")
    assert link.count() == 1 and link.get_attribute("data-n") == str(s["citations"][0])


@pytest.mark.parametrize(("question", "because", "sentence"), [
    (Q_NOTHING, "retrieval", "nothing in the knowledge base is relevant enough"),
    (Q_MODEL, "model", "said they do not contain the answer"),
    (Q_UNSUPPORTED, "unsupported", "is not supported by the retrieved passages"),
])
def test_each_refusal_reason_is_its_own_sentence(page: Any, ask_server: LiveServer, question: str, because: str,
                                                  sentence: str) -> None:
    out = ask(page, ask_server, question)
    assert out["abstained"] and out["abstained_because"] == because, out
    refusal = page.locator("#ask-refusal")
    assert refusal.is_visible() and refusal.get_attribute("data-because") == because
    assert sentence in refusal.inner_text()
    assert page.locator("#ask-citations li").count() == 0
    status = page.locator("#ask-status").inner_text()
    if because == "retrieval":
        assert "was not asked" in status
    else:
        assert "Answered by scripted" in status
    draft = page.locator("#ask-notes li.draft")
    if because == "unsupported":
        assert draft.count() == 1 and "Penguins" in draft.inner_text() and "Penguins" not in page.locator(
            "#ask-answer").inner_text()
    else:
        assert draft.count() == 0


def test_quote_mode_from_the_page_marks_the_quote_not_found(page: Any, ask_server: LiveServer) -> None:
    out = ask(page, ask_server, Q_MIXED, quote=True)
    assert out["mode"] == "quote" and [s["supported"] for s in out["sentences"]] == [True, False], out
    ok = page.locator("#ask-answer .sentence[data-supported=true]")
    bad = page.locator("#ask-answer .sentence.unsupported")
    assert ok.count() == 1 and "7781" in ok.inner_text()
    assert bad.count() == 1 and "8080" in bad.inner_text()
    assert "not in the passage it cites" in (bad.get_attribute("title") or "")
    assert "8080" in (bad.get_attribute("data-quotes") or "")
