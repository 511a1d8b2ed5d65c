"""A few hundred varied, real English sentences for the store contract suite (deterministic)."""
from __future__ import annotations

import itertools
import random

_PEOPLE = ["The nurse", "A farmer", "My grandmother", "The pilot", "A student", "The chef", "Our accountant",
           "The mechanic", "A volunteer", "The librarian", "The surgeon", "A child"]
_ACTS = ["repaired the broken fence", "cooked a spicy vegetable curry", "filed the quarterly tax return",
         "landed the plane in heavy fog", "read a novel about the French revolution",
         "planted tomatoes in the greenhouse", "fixed the leaking brake line", "sorted donated winter coats",
         "catalogued rare medieval manuscripts", "removed an inflamed appendix", "built a sandcastle",
         "debugged a memory leak in the server"]
_WHEN = ["before sunrise", "during the storm", "on a quiet Sunday", "after the meeting",
         "in the middle of the night", "last summer"]
_FACTS = [
    "Water boils at one hundred degrees Celsius at sea level.",
    "The invoice must be paid within thirty days of delivery.",
    "Restart the router if the wireless connection keeps dropping.",
    "Type 2 diabetes is managed with diet, exercise and medication.",
    "The warehouse ships orders every weekday at four in the afternoon.",
    "Photosynthesis turns sunlight, water and carbon dioxide into sugar.",
    "Employees accrue two days of paid leave per month.",
    "The Treaty of Westphalia ended the Thirty Years' War in 1648.",
    "A database index speeds up lookups at the cost of slower writes.",
    "Error code E42 means the disk is full.",
    "The museum is closed on Mondays and public holidays.",
    "Mount Everest is the highest mountain above sea level.",
    "Backups are encrypted and kept for ninety days.",
    "The recipe needs two eggs, flour, sugar and a pinch of salt.",
    "Jupiter has dozens of moons, the largest being Ganymede.",
    "Passwords must be at least twelve characters long.",
    "The train to Lyon leaves from platform nine.",
    "Vaccines train the immune system to recognise a pathogen.",
    "The quarterly report shows revenue grew by eight percent.",
    "Cats sleep for up to sixteen hours a day.",
]


def sentences(n: int = 360, seed: int = 3) -> list[str]:
    """``n`` distinct sentences: people doing things at times, plus plain facts, shuffled."""
    combos = [f"{p} {a} {w}." for p, a, w in itertools.product(_PEOPLE, _ACTS, _WHEN)]
    rng = random.Random(seed)
    rng.shuffle(combos)
    out = list(_FACTS) + combos[: max(0, n - len(_FACTS))]
    rng.shuffle(out)
    return out[:n]


QUERIES = [
    "Who fixed a car?", "hospital operation", "cooking dinner", "airplane in bad weather", "gardening",
    "taxes and accounting", "old books in a library", "software bug", "charity clothing drive",
    "what temperature does water boil", "how long do I have to pay an invoice", "wifi keeps disconnecting",
    "diabetes treatment", "when do orders ship", "vacation days", "the end of a European war",
    "why are writes slower with an index", "disk full error", "opening hours of the museum",
    "tallest mountain", "how long are backups kept", "baking a cake", "moons of Jupiter",
    "password rules", "train departure platform", "how vaccines work", "company revenue growth",
    "sleepy animals", "a child at the beach", "night shift emergency",
]
