"""Keystage's own data files (CSV with `#` comment lines): rows with their line numbers, and
code lists by year. Pure (no Django); errors name the file and line (DataFileError)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from keystage.formats.errors import DataFileError

DATA = Path(__file__).parent / "data"


def data_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of each data row, blank and comment lines skipped."""
    with open(path, newline="", encoding="utf-8") as handle:
        lines = [(n, line) for n, line in enumerate(handle, start=1)
                 if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(line for _, line in lines)
    for (number, _), row in zip(lines[1:], reader, strict=False):
        yield number, row


def year_code_lists(path: Path) -> dict[str, tuple[tuple[str, int, int | None], ...]]:
    """Each code list of a `code_list,code,year_from,year_to` file: (code, first year, last
    year or None)."""
    lists: dict[str, list] = {}
    for number, row in data_rows(path):
        try:
            lists.setdefault(row["code_list"], []).append(
                (row["code"], int(row["year_from"]),
                 int(row["year_to"]) if row["year_to"] else None))
        except (KeyError, ValueError, TypeError) as error:
            raise DataFileError(path, number, f"not a valid code row ({error})") from None
    return {name: tuple(values) for name, values in lists.items()}
