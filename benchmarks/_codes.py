"""Identifier tables → BEIR sets for the "IBE returns OBE" problem: ICD-10-CM codes and ISO country/currency codes.

Queries come in three kinds (``metadata.kind``): ``bare`` (just the code), ``sentence`` (the code
inside a question) and ``absent`` (a plausible near-miss code that is assigned nowhere: it has no
qrels, the right answer is nothing).
"""
from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

ICD_TARGET_DOCS = 3000
ICD_ANCHORS = ("E10", "E11", "E13")  # the diabetes categories: E11.9 vs E11.8 vs E10.9 …
ICD_SENTENCES = (
    "What does diagnosis code {c} mean?",
    "The patient chart lists {c}. Which condition is that?",
    "Is {c} the right code for this claim?",
    "Look up the description of code {c}",
    "The insurer rejected a claim coded {c}; what condition does it describe?",
)
ISO_SENTENCES = {
    "alpha3": ("Which country has the code {c}?", "The shipment's destination is {c}. Which country is that?",
               "Customs form field 'country of origin' says {c}; what country is meant?"),
    "alpha2": ("Which country is {c}?", "The address ends with the country code {c}. Which country?",
               "Our supplier is registered in {c}; what country is that?"),
    "currency": ("Which currency is {c}?", "The invoice total is in {c}. What currency is that?",
                 "What is the currency with code {c}?"),
}
_TOKEN = re.compile(r"[A-Za-z0-9]+")


def _icd_tables(xml_bytes: bytes, code_list: bytes) -> tuple[dict[str, str], dict[str, list[str]], set[str]]:
    """(code → description, category → codes in document order, every valid code without dots)."""
    root = ET.fromstring(xml_bytes)
    desc: dict[str, str] = {}
    categories: dict[str, list[str]] = defaultdict(list)
    for diag in root.iter("diag"):
        name, text = diag.findtext("name"), diag.findtext("desc")
        if name and text:
            desc[name.strip()] = " ".join(text.split())
            categories[name.strip()[:3]].append(name.strip())
    valid = {code.replace(".", "") for code in desc}
    for line in code_list.decode("utf-8", "replace").splitlines():
        token = line.split(" ", 1)[0].strip()
        if token:
            valid.add(token.replace(".", ""))
    return desc, dict(categories), valid


def _icd_near_misses(code: str, valid: set[str], rng: random.Random) -> list[str]:
    """Plausible codes one edit away from ``code`` that ICD-10-CM does not have (E11.9 → E11.99, E11.9X)."""
    stem = code if "." in code else code + "."
    out = []
    if len(stem.replace(".", "")) < 7:
        out += [stem + d for d in "0123456789"] + [stem + "X"]
    if "." in code and not code.endswith("."):
        out += [code[:-1] + d for d in "0123456789" if d != code[-1]]
    out = [c for c in out if c.replace(".", "") not in valid and not c.endswith(".")]
    rng.shuffle(out)
    return out


def build_icd10(xml_bytes: bytes, code_list: bytes, seed: int, target_docs: int = ICD_TARGET_DOCS,
                n_bare: int = 150, n_sentence: int = 150, n_absent: int = 100) -> dict[str, Any]:
    """One document per code of whole categories (so near neighbours such as E11.8/E11.9 are present)."""
    desc, categories, valid = _icd_tables(xml_bytes, code_list)
    rng = random.Random(seed)
    order = [c for c in ICD_ANCHORS if c in categories]
    rest = sorted(c for c in categories if c not in order)
    rng.shuffle(rest)
    chosen: list[str] = [code for cat in order for code in categories[cat]]  # anchors: always in
    for cat in rest:
        if len(chosen) >= target_docs:
            break
        chosen.extend(categories[cat])
    chosen = sorted(set(chosen))
    corpus = [{"_id": f"icd-{code}", "title": code, "text": f"{code} — {desc[code]}"} for code in chosen]
    queries, qrels = _code_queries(
        [(code, f"icd-{code}", "icd10") for code in chosen], n_bare, n_sentence, rng,
        {"icd10": ICD_SENTENCES}, first=("E11.9", "E11.8", "E10.9", "E13.9"),
    )
    absent: list[str] = ["E11.99"] if "E1199" not in valid else []
    for code in rng.sample(chosen, len(chosen)):
        misses = [m for m in _icd_near_misses(code, valid, rng) if m not in absent]
        if misses:
            absent.append(misses[0])
        if len(absent) >= n_absent:
            break
    queries += _absent_queries(absent, "icd10", {"icd10": ICD_SENTENCES}, rng)
    return {"corpus": corpus, "queries": queries, "qrels": qrels}


def _code_queries(codes: list[tuple[str, str, str]], n_bare: int, n_sentence: int, rng: random.Random,
                  templates: dict[str, tuple[str, ...]], first: tuple[str, ...] = ()
                  ) -> tuple[list[dict[str, Any]], list[tuple[str, str, int]]]:
    """Bare and in-sentence queries for codes sampled from ``codes``; ``first`` are always among the bare ones."""
    pinned = [c for c in codes if c[0] in first]
    others = [c for c in codes if c[0] not in first]
    picked = pinned + rng.sample(others, min(len(others), n_bare + n_sentence - len(pinned)))
    queries: list[dict[str, Any]] = []
    qrels: list[tuple[str, str, int]] = []
    for i, (code, doc_id, system) in enumerate(picked):
        kind = "bare" if i < n_bare else "sentence"
        text = code if kind == "bare" else rng.choice(templates[system]).format(c=code)
        qid = f"{kind}-{system}-{code}"
        queries.append({"_id": qid, "text": text, "metadata": {"kind": kind, "system": system, "code": code}})
        qrels.append((qid, doc_id, 1))
    return queries, qrels


def _absent_queries(codes: list[str], system: str, templates: dict[str, tuple[str, ...]],
                    rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for i, code in enumerate(codes):
        text = code if i % 2 == 0 else rng.choice(templates[system]).format(c=code)
        out.append({"_id": f"absent-{system}-{code}", "text": text,
                    "metadata": {"kind": "absent", "form": "bare" if i % 2 == 0 else "sentence",
                                 "system": system, "code": code}})
    return out


def build_iso_countries(iso3166_1: bytes, iso3166_3: bytes, iso4217: bytes, seed: int,
                        n_per_system: int = 60, n_absent: int = 40) -> dict[str, Any]:
    """One document per country and per currency; queries on alpha-3, alpha-2 and currency codes."""
    countries = json.loads(iso3166_1)["3166-1"]
    historic = json.loads(iso3166_3)["3166-3"]
    currencies = json.loads(iso4217)["4217"]
    corpus: list[dict[str, Any]] = []
    for c in sorted(countries, key=lambda c: c["alpha_3"]):
        extra = f" Official name: {c['official_name']}." if c.get("official_name") else ""
        corpus.append({"_id": f"country-{c['alpha_3']}", "title": c["name"],
                       "text": f"{c['alpha_3']} / {c['alpha_2']} — {c['name']}.{extra} "
                               f"ISO 3166-1 numeric code {c['numeric']}."})
    for cur in sorted(currencies, key=lambda c: c["alpha_3"]):
        corpus.append({"_id": f"currency-{cur['alpha_3']}", "title": cur["name"],
                       "text": f"{cur['alpha_3']} — {cur['name']} (currency, ISO 4217 numeric code {cur['numeric']})."})
    # A code is only queried if it occurs (case-insensitively) as a token of exactly one document.
    holders: dict[str, set[str]] = defaultdict(set)
    for doc in corpus:
        for tok in _TOKEN.findall(doc["text"]):
            holders[tok.upper()].add(doc["_id"])
    systems = {
        "alpha3": [(c["alpha_3"], f"country-{c['alpha_3']}") for c in countries],
        "alpha2": [(c["alpha_2"], f"country-{c['alpha_3']}") for c in countries],
        "currency": [(c["alpha_3"], f"currency-{c['alpha_3']}") for c in currencies],
    }
    rng = random.Random(seed)
    queries: list[dict[str, Any]] = []
    qrels: list[tuple[str, str, int]] = []
    for system, pairs in systems.items():
        usable = sorted((code, doc_id, system) for code, doc_id in pairs if holders.get(code) == {doc_id})
        q, r = _code_queries(usable, n_per_system // 2, n_per_system - n_per_system // 2, rng, ISO_SENTENCES)
        queries += q
        qrels += r
    assigned = {c["alpha_3"] for c in countries} | {c["alpha_2"] for c in countries}
    assigned |= {c["alpha_3"] for c in currencies} | {c.get("alpha_3", "") for c in historic}
    assigned |= {c.get("alpha_2", "") for c in historic} | set(holders)
    for system, pairs in (("alpha3", systems["alpha3"]), ("currency", systems["currency"])):
        misses: list[str] = []
        for code, _ in rng.sample(sorted(pairs), len(pairs)):
            pos = rng.randrange(3)
            options = [code[:pos] + ch + code[pos + 1:] for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
            options = [o for o in options if o not in assigned and o not in misses]
            if options:
                misses.append(rng.choice(options))
            if len(misses) >= n_absent // 2:
                break
        queries += _absent_queries(misses, system, ISO_SENTENCES, rng)
    return {"corpus": corpus, "queries": queries, "qrels": qrels}
