"""What ``localkb search`` prints for a hit: the part of the chunk that matched (not its first 300
characters), in the human output and as ``snippet`` in ``--json``; and every document the chunk is in."""
from __future__ import annotations

import json

import pytest

from ..conftest import run_cli

#: ~100 words that none of the queries below contain, then the sentence they look for, then a few more
FILLER = " ".join(f"ledger{i} reconciled before the quarterly close" for i in range(20))
KEY = "The quokka lives on Rottnest Island and sleeps through the day."
TEXT = f"{FILLER}. {KEY} {' '.join(f'tail{i} entries' for i in range(8))}."


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("snip")
    (root / "docs" / "copy").mkdir(parents=True)
    (root / "docs" / "quokka.txt").write_text(TEXT, encoding="utf-8")
    (root / "docs" / "copy" / "quokka-again.txt").write_text(TEXT, encoding="utf-8")  # the same chunk twice
    folder = str(root / "kb")
    proc = run_cli("ingest", str(root / "docs"), "--kb", folder)
    assert proc.returncode == 0, proc.stderr
    return folder


def test_the_snippet_is_the_part_that_matched(kb):
    assert TEXT.index("quokka") > 600  # the words are far past the first 300 characters
    proc = run_cli("search", "quokka Rottnest", "--kb", kb, "--min-score", "none", "-k", "1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    snippet = next(line for line in lines if line.startswith("   ") and not line.startswith("   also in"))
    assert "quokka lives on Rottnest Island" in snippet and snippet.strip().startswith("…")
    assert len(snippet.strip()) <= 302 and "ledger0 " not in snippet  # not the chunk's start


def test_json_has_the_full_text_and_the_centred_snippet(kb):
    proc = run_cli("search", "quokka Rottnest", "--kb", kb, "--min-score", "none", "-k", "1", "--json")
    hit = json.loads(proc.stdout)["hits"][0]
    assert hit["text"].startswith("ledger0") and KEY in hit["text"]
    assert hit["snippet"].startswith("…") and "quokka lives on Rottnest" in hit["snippet"]
    assert len(hit["snippet"]) <= 302
    # a purely semantic hit (no query word in the chunk) shows the chunk's start
    other = json.loads(run_cli("search", "marsupial wildlife", "--kb", kb, "--min-score", "none", "-k", "1",
                               "--mode", "dense", "--json").stdout)["hits"][0]
    assert other["snippet"].startswith("ledger0") and other["snippet"].endswith("…")


def test_every_source_of_a_chunk_is_printed(kb):
    proc = run_cli("search", "quokka", "--kb", kb, "--min-score", "none", "-k", "1")
    hit = json.loads(run_cli("search", "quokka", "--kb", kb, "--min-score", "none", "-k", "1", "--json").stdout)
    sources = hit["hits"][0]["sources"]
    assert len(sources) == 2 and {s.rsplit("/", 1)[-1] for s in sources} == {"quokka.txt", "quokka-again.txt"}
    head = proc.stdout.splitlines()
    first = next(i for i, line in enumerate(head) if line.startswith("1. "))
    assert sources[0] in head[first] and head[first + 1] == f"   also in {sources[1]}"
