"""Expected cohort sizes: Keystage's own CSV layout (encodings.md section 3); no Django.

Columns `LAESTAB,Collection,AcademicYear,ExpectedCount` in any order; `LAESTAB` holds the EY URN
for a PVI setting. AcademicYear is "2025/26" (or "2025-26", "2025-2026", or its start year "2025";
keystage.years.parse_academic_year): all mean the year whose assessments are in summer 2026.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from keystage.datasets import COHORT_CODES
from keystage.formats.errors import FormatError
from keystage.years import parse_academic_year

REQUIRED = ("LAESTAB", "Collection", "AcademicYear", "ExpectedCount")
# No school has a cohort this big; a larger number is a typing slip (and would not fit the
# database column on PostgreSQL).
MAX_EXPECTED_COUNT = 10_000


@dataclass(frozen=True)
class ExpectedCohortRow:
    laestab: str  # LAESTAB (7 digits) or EY URN (6 digits)
    collection: str
    year: int  # assessment (summer) year
    expected_count: int
    line: int


def sniff_cohorts(head: bytes) -> bool:
    """True when the bytes start like an expected-cohorts CSV."""
    first = head.decode("utf-8", "ignore").lstrip("\ufeff").splitlines()[:1]
    names = {c.strip().lower() for c in first[0].split(",")} if first else set()
    return {r.lower() for r in REQUIRED} <= names


def read_expected_cohorts(data: bytes, *, filename: str) -> list[ExpectedCohortRow]:
    """Every row of an expected-cohorts CSV, or a FormatError naming the line and column."""
    if not data.strip():
        raise FormatError(
            "the file is empty. Export the expected cohorts again.", filename=filename
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise FormatError(
            "the file is not UTF-8. Save it as 'CSV UTF-8' and try again.",
            filename=filename,
            line=line,
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader)]
    lookup = {h.lower(): i for i, h in enumerate(header)}
    missing = [c for c in REQUIRED if c.lower() not in lookup]
    if missing:
        raise FormatError(
            f"missing column(s) {', '.join(missing)}. The header must have {','.join(REQUIRED)}.",
            filename=filename,
            line=1,
        )
    rows: list[ExpectedCohortRow] = []
    seen: dict[tuple, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise FormatError(
                f"{len(row)} fields where the header has {len(header)}. Check for stray commas.",
                filename=filename,
                line=line,
            )

        def cell(name: str, row: list[str] = row) -> str:
            return row[lookup[name.lower()]].strip()

        laestab = cell("LAESTAB")
        if not (laestab.isascii() and laestab.isdigit() and len(laestab) in (6, 7)):
            raise FormatError(
                f"'{laestab}' is not a LAESTAB (7 digits) or EY URN (6 digits).",
                filename=filename,
                line=line,
                column="LAESTAB",
            )
        collection = cell("Collection").upper()
        if collection not in COHORT_CODES:
            raise FormatError(
                f"'{cell('Collection')}' is not a collection: use one of "
                f"{', '.join(COHORT_CODES)}.",
                filename=filename,
                line=line,
                column="Collection",
            )
        year = parse_academic_year(cell("AcademicYear"))
        if year is None:
            raise FormatError(
                f"'{cell('AcademicYear')}' is not an academic year like 2025/26.",
                filename=filename,
                line=line,
                column="AcademicYear",
            )
        count = cell("ExpectedCount")
        if not (count.isascii() and count.isdigit()) or int(count) > MAX_EXPECTED_COUNT:
            raise FormatError(
                f"'{count[:20]}' is not a whole number of pupils from 0 to "
                f"{MAX_EXPECTED_COUNT:,}.",
                filename=filename,
                line=line,
                column="ExpectedCount",
            )
        key = (laestab, collection, year)
        if key in seen:
            raise FormatError(
                f"{laestab} {collection} {cell('AcademicYear')} is also on line "
                f"{seen[key]}. Keep one row.",
                filename=filename,
                line=line,
            )
        seen[key] = line
        rows.append(
            ExpectedCohortRow(laestab, collection, year, int(count), line)
        )
    return rows
