"""Helpers for the server tests: a live uvicorn server in a thread, a scripted LLM, a small database."""
from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn

CORPUS = {
    "ibe.md": "# Inbound events\n\nThe IBE module receives inbound events from the payment gateway and "
              "stores them in the ledger within 200 milliseconds.",
    "obe.md": "# Outbound events\n\nThe OBE module sends outbound events to partners every night at 02:00.",
    "cats.txt": "Cats sleep for about sixteen hours a day. A group of cats is called a clowder.",
    "rivers.txt": "The Yangtze is the longest river in Asia, about 6,300 kilometres long.",
}
TOKEN = "test-token-9f2c"
#: Debian's Chromium, driven by Playwright (which never downloads a browser), and the flags every page test uses
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class LiveServer:
    """uvicorn serving ``app`` on a socket bound to 127.0.0.1:0, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        from localkb.server.guards import uvicorn_limits

        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", **uvicorn_limits()))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()

    def client(self, **kw: Any) -> httpx.Client:
        """A client that sends the intent header, as the page does (a plain form POST is refused without it)."""
        headers = {"X-LocalKB-Request": "1", **kw.pop("headers", {})}
        return httpx.Client(base_url=self.url, timeout=120, headers=headers, **kw)


def scripted_llm() -> Any:
    """Answers grounded questions with the first sentence of passage 1, cited; writes fixed SQL for the music
    database."""
    from localkb.llm.fake import ScriptedLLM

    def respond(messages: Sequence[dict[str, str]]) -> str:
        system = messages[0]["content"]
        question = messages[-1]["content"]
        if "SELECT query" in system:
            if "delete" in question.lower():
                return "```sql\nDELETE FROM artist\n```"
            return "```sql\nSELECT name FROM artist ORDER BY name\n```"
        # the first sentence of passage 1, cited: an answer the support check passes for any question
        first = question.split("<passage n=\"1\"", 1)[-1].split(">", 1)[-1].split("</passage>", 1)[0]
        sentence = next((line for line in first.strip().splitlines() if line and not line.startswith("#")),
                        "The IBE module receives inbound events from the payment gateway.")
        return f"{sentence.split('. ')[0].rstrip('.')} [1]."

    return ScriptedLLM(respond=respond)


def make_music_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE artist (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE album (id INTEGER PRIMARY KEY, title TEXT NOT NULL, artist_id INTEGER REFERENCES artist(id));
        INSERT INTO artist VALUES (1, 'Miles Davis'), (2, 'Björk'), (3, 'Faye Wong');
        INSERT INTO album VALUES (1, 'Kind of Blue', 1), (2, 'Homogenic', 2), (3, 'Fable', 3);
    """)
    conn.commit()
    conn.close()
    return path


