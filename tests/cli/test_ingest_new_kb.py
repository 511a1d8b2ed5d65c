"""``localkb ingest`` into a NEW KB creates it only when something given can be ingested: paths that could
only be skipped (missing, dangling, a FIFO, an unsupported type) are one error line, exit 1, and no KB — so
no model is fixed by a mistake. Into an existing KB the same paths are skipped (exit 3), nothing lost."""
from __future__ import annotations

import json
import os

from localkb.cli.common import EXIT_ERROR, EXIT_SKIPPED

from ..conftest import run_cli


def unusable(root):
    (root / "dangling.md").symlink_to(root / "nowhere.md")
    (root / "tool.exe").write_bytes(b"MZ\x90\x00binary")
    os.mkfifo(root / "pipe.txt")
    return [str(root / "dangling.md"), str(root / "tool.exe"), str(root / "pipe.txt"), str(root / "typo.txt")]


def test_paths_that_could_only_be_skipped_create_no_kb(tmp_path):
    paths = unusable(tmp_path)
    kb = tmp_path / "new-kb"
    proc = run_cli("ingest", *paths, "--kb", str(kb))
    assert proc.returncode == EXIT_ERROR and proc.stdout == "" and "Traceback" not in proc.stderr
    line = proc.stderr.strip()
    assert line.startswith("Error: Nothing to ingest: ") and "\n" not in line
    for path, reason in zip(paths, ("dangling symlink", "unsupported file type '.exe'", "a FIFO",
                                    "no such file or directory"), strict=True):
        assert f"{path}: " in line and reason in line, (path, line)
    assert not kb.exists()
    as_json = json.loads(run_cli("ingest", *paths, "--kb", str(kb), "--json").stdout)
    assert as_json["error"] == "IngestError" and not kb.exists()


def test_one_good_path_creates_the_kb_and_the_rest_are_skipped(tmp_path):
    paths = unusable(tmp_path)
    good = tmp_path / "good.txt"
    good.write_text("Herons fish at dawn in the shallow pond.", encoding="utf-8")
    kb = tmp_path / "kb"
    proc = run_cli("ingest", *paths, str(good), "--kb", str(kb), "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == EXIT_SKIPPED and report["added"] == 1 and len(report["skipped"]) == 4
    # an existing KB: the same unusable paths alone are skipped and listed, the KB is kept as it was
    again = run_cli("ingest", *paths, "--kb", str(kb), "--json", "--no-prune")
    assert again.returncode == EXIT_SKIPPED and len(json.loads(again.stdout)["skipped"]) == 4
    assert run_cli("documents", "--kb", str(kb)).stdout.count("good.txt") == 1


def test_an_empty_folder_still_makes_a_kb(tmp_path):
    """A folder counts as something to ingest (a KB set up before its files arrive)."""
    (tmp_path / "inbox").mkdir()
    proc = run_cli("ingest", str(tmp_path / "inbox"), "--kb", str(tmp_path / "kb"))
    assert proc.returncode == 0 and (tmp_path / "kb" / "manifest.json").exists()
