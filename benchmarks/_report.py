"""Write one benchmark's table into ``docs/benchmarks.md``, stamped with how and where it was run.

Each benchmark owns one block of the file, delimited by ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->``. :func:`write_section` replaces that block (or appends it when it is new),
so several benchmarks can run one after the other, or at the same time, without losing each
other's figures: writers take an exclusive ``fcntl`` lock on a lock file beside the report and
publish the new text with an atomic ``os.replace``.
"""
from __future__ import annotations

import datetime as _dt
import fcntl
import os
import platform
import re
import shlex
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REPORT = REPO_ROOT / "docs" / "benchmarks.md"

INTRO = """# Benchmarks

Every table below was written by a script in `benchmarks/` (one script per question), on real data
fetched at run time into `~/.cache/localkb/datasets` by `benchmarks/datasets.py` (see
[datasets.md](datasets.md)); nothing here is typed by hand. Each section records the exact command,
the date (UTC) and the machine it ran on. Re-run a script to refresh its section; the others are
left untouched.
"""

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VERSIONED = ("torch", "faiss-cpu", "sentence-transformers", "chromadb", "bm25s", "llama-cpp-python")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _ram_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / (1024 * 1024), 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_info() -> dict[str, Any]:
    """Describe the machine a benchmark runs on.

    Returns:
        ``{"cores", "ram_gib", "cpu", "os", "python", "packages": {name: version}}``; ``packages``
        lists only the relevant distributions that are installed (read from their metadata, so
        nothing heavy is imported). ``cores`` is what this process may use (affinity), which on a
        shared box can be less than the machine has.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    packages: dict[str, str] = {}
    for dist in _VERSIONED:
        try:
            packages[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cores": cores,
        "ram_gib": _ram_gib(),
        "cpu": _cpu_model(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "packages": packages,
    }


def _format_machine(info: dict[str, Any]) -> str:
    ram = f"{info['ram_gib']} GiB RAM" if info.get("ram_gib") is not None else "RAM unknown"
    parts = [f"{info['cores']} cores", ram, str(info["cpu"]), f"Python {info['python']}"]
    parts += [f"{name} {version}" for name, version in info.get("packages", {}).items()]
    return ", ".join(parts)


def default_command() -> str:
    """The command line this process was started with, as a user would type it from the repo root."""
    exe = Path(sys.executable)
    try:
        exe_text = str(exe.relative_to(REPO_ROOT))
    except ValueError:
        exe_text = "python"
    args = []
    for arg in sys.argv:
        try:
            arg = str(Path(arg).resolve().relative_to(REPO_ROOT)) if Path(arg).exists() else arg
        except ValueError:
            pass
        args.append(arg)
    return " ".join(shlex.quote(part) for part in [exe_text, *args])


def render_section(name: str, markdown: str, command: str, when: str, machine: str) -> str:
    """The full block for one benchmark, markers included."""
    body = markdown.strip("\n")
    return (
        f"<!-- bench:{name} -->\n"
        f"{body}\n\n"
        f"_Command:_ `{command}`  \n"
        f"_Run:_ {when} on {machine}\n"
        f"<!-- /bench:{name} -->"
    )


def replace_section(document: str, name: str, block: str) -> str:
    """Put ``block`` in place of the existing ``NAME`` block of ``document``, or append it."""
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.DOTALL
    )
    if pattern.search(document):
        return pattern.sub(lambda _m: block, document, count=1)
    return document.rstrip("\n") + "\n\n" + block + "\n"


def load_note(load0: float) -> str:
    """The line every benchmark ends with: the 1-minute load average at its start and now, and the CPUs."""
    return (f"Machine load average (1 min) at start / end: {load0:.1f} / {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} CPUs (shared with other jobs, run under nice).")


def write_section(
    name: str,
    markdown: str,
    command: str | None = None,
    *,
    path: Path | str | None = None,
) -> Path:
    """Replace (or append) the block of benchmark ``name`` in the report.

    Args:
        name: Section name: letters, digits, ``_ . -``; it is the marker ``<!-- bench:NAME -->``.
        markdown: The section body (a heading, a table, a few lines of comment).
        command: The command that produced it; default: this process's ``argv``.
        path: The report file; default ``docs/benchmarks.md`` of this checkout (or ``$LOCALKB_BENCH_REPORT``).

    Returns:
        The path written.

    Raises:
        ValueError: ``name`` is not a valid section name or ``markdown`` contains a bench marker.
    """
    if not _NAME_RE.match(name):
        raise ValueError(f"Invalid benchmark section name {name!r}: use letters, digits, '_', '.', '-'.")
    if "<!-- bench:" in markdown or "<!-- /bench:" in markdown:
        raise ValueError("The section body must not contain bench markers.")
    target = Path(path or os.environ.get("LOCALKB_BENCH_REPORT") or DEFAULT_REPORT)
    target.parent.mkdir(parents=True, exist_ok=True)
    when = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = render_section(name, markdown, command or default_command(), when, _format_machine(machine_info()))
    lock_path = target.with_name("." + target.name + ".lock")
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = target.read_text(encoding="utf-8") if target.exists() else INTRO
            updated = replace_section(current, name, block)
            fd, tmp = tempfile.mkstemp(prefix="." + target.name + ".", suffix=".tmp", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(updated)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


if __name__ == "__main__":  # pragma: no cover - manual check
    import json

    print(json.dumps(machine_info(), indent=2))
