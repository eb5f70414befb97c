"""Spreadsheet cells that cannot attack the person who opens an export (no Django).

A spreadsheet program treats a text cell starting with `=`, `+`, `-` or `@` as a formula, and a
leading tab or carriage return can smuggle one past a quick look. OWASP's CSV-injection advice:
prefix such a cell with a single quote, which spreadsheets show as text. Only text is neutralised:
numbers (int, float, Decimal) pass unchanged, and so does text that is exactly a negative number
(`-3`, `-1.5`), because exports write numeric columns as text and a plain negative number is not a
formula. Every CSV and XLSX writer in Keystage sends its rows through `safe_row`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
_FIRST = frozenset(DANGEROUS_FIRST)
_PLAIN_NEGATIVE_NUMBER = re.compile(r"-\d+(\.\d+)?")


def is_dangerous(value: str) -> bool:
    """True when a spreadsheet could read this text as a formula."""
    return value.startswith(DANGEROUS_FIRST) and not _PLAIN_NEGATIVE_NUMBER.fullmatch(value)


def safe_cell(value):
    """The value as an export writes it: dangerous text gets a leading quote; the rest as is."""
    if isinstance(value, str) and is_dangerous(value):
        return "'" + value
    return value


def safe_row(row: Iterable) -> list:
    """A row with every cell made safe."""
    # Inlined `safe_cell`: exports pass every cell through here, and a call per cell doubled
    # the time of a 5,000-pupil export.
    return ["'" + value if isinstance(value, str) and value[:1] in _FIRST
            and is_dangerous(value) else value for value in row]


class SafeCsvWriter:
    """csv.writer whose every row goes through `safe_row`: the one CSV writer for exports."""

    def __init__(self, handle, **options):
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable):
        """Write one row, made safe; returns what the handle's write returned."""
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable]) -> None:
        """Write many rows, made safe."""
        for row in rows:
            self._writer.writerow(safe_row(row))
