"""The list of LA codes, held as data in data/la_codes.csv."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LA_CODES_FILE = Path(__file__).with_name("data") / "la_codes.csv"


@dataclass(frozen=True)
class LaCode:
    code: str
    name: str
    kind: str
    current: bool


@cache
def la_codes() -> dict[str, LaCode]:
    """Every known LA code, keyed by its three digits."""
    with LA_CODES_FILE.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        return {
            row["code"]: LaCode(row["code"], row["name"], row["kind"], row["current"] == "1")
            for row in csv.DictReader(lines)
        }


def is_known_la_code(code: str) -> bool:
    """True when the code is an LA code in the list (current, former, other or the demo LA)."""
    return code in la_codes()


def current_english_la_codes() -> list[str]:
    """The codes of the English LAs that exist today, in order."""
    return sorted(code for code, la in la_codes().items() if la.current)
