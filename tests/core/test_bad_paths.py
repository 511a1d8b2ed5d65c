"""Issue 12, defect 3: one bad path never aborts an ingest (it used to: a traceback, no JSON, 0 files).

Every case is a real entry on disk that fails even for root (the tests run as root, so chmod 000 proves
nothing): a symlink loop, a dangling symlink, a FIFO (opening it would block for ever), a character
device (/dev/zero would read for ever), a symlinked folder pointing at its parent, and files that vanish
while the run is going on.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from localkb import KnowledgeBase

from ..conftest import LOCALKB

GOOD = {"quokka.txt": "The quokka lives on Rottnest Island and is active at night.",
        "sub/wombat.md": "# Wombats\n\nWombats dig long burrows with their strong claws."}


def bad_folder(root: Path) -> Path:
    folder = root / "docs"
    for name, text in GOOD.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "loop.txt").symlink_to("loop.txt")
    (folder / "dangling.md").symlink_to(root / "nowhere.md")
    os.mkfifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    (folder / "sub" / "up").symlink_to("..")
    return folder


EXPECTED = {"loop.txt": "symlink loop", "dangling.md": "dangling symlink", "pipe.txt": "FIFO",
            "zero.txt": "character device", "up": "symbolic link to a folder"}


def test_bad_entries_are_skipped_with_reasons_and_the_rest_ingested(tmp_path):
    folder = bad_folder(tmp_path)
    proc = subprocess.run([LOCALKB, "ingest", str(folder), "--kb", str(tmp_path / "kb"), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert report["added"] == len(GOOD)
    skipped = {Path(s["path"]).name: s["error"] for s in report["skipped"]}
    assert set(skipped) == set(EXPECTED)
    for name, words in EXPECTED.items():
        assert words in skipped[name], (name, skipped[name])
    human = subprocess.run([LOCALKB, "ingest", str(folder / "loop.txt"), str(folder / "pipe.txt"), str(folder),
                            "--kb", str(tmp_path / "kb")], capture_output=True, text=True, timeout=300)
    assert human.returncode == 3 and "Traceback" not in human.stderr
    assert f"skipped {folder / 'loop.txt'}: symlink loop" in human.stderr
    assert f"skipped {folder / 'pipe.txt'}: a FIFO, not a file to read" in human.stderr


def test_files_that_vanish_during_the_run_are_skipped(tmp_path):
    """Real deletions while a real ingest runs: the progress hook removes files just before they are read."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(6):
        (folder / f"note{i}.txt").write_text(f"Note {i}: the heron number {i} fishes at pond {i}.", encoding="utf-8")
    doomed = {"note2.txt", "note4.txt"}

    def progress(phase: str, n: int, total: int) -> None:
        if phase == "read" and f"note{n - 1}.txt" in doomed:  # candidates are read in sorted order
            (folder / f"note{n - 1}.txt").unlink()

    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        report = kb.ingest([folder], progress=progress)
        assert {Path(s.path).name for s in report.skipped} == doomed
        assert all("vanished" in s.error for s in report.skipped)
        assert report.added == 4
        assert kb.store.count() == kb.db.chunk_count() == 4


def test_a_folder_that_vanishes_during_the_walk_is_skipped(tmp_path, monkeypatch):
    """Unit test of the walk: a sub-folder removed between listing its parent and entering it."""
    import shutil

    from localkb.ingest import files

    folder = tmp_path / "docs"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    (folder / "a" / "one.txt").write_text("one", encoding="utf-8")
    (folder / "b" / "two.txt").write_text("two", encoding="utf-8")
    real_walk = os.walk

    def walk_and_remove(top, **kw):
        for dirpath, dirnames, filenames in real_walk(top, **kw):
            yield dirpath, dirnames, filenames
            if dirpath == str(folder):
                shutil.rmtree(folder / "a")

    monkeypatch.setattr(files.os, "walk", walk_and_remove)
    items = list(files.walk([folder]))
    problems = [i for i in items if isinstance(i, tuple)]
    found = [i.path.name for i in items if not isinstance(i, tuple)]
    assert found == ["two.txt"]
    assert problems and Path(problems[0][0]).name == "a" and "vanished" in problems[0][1]
