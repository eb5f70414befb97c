"""Years, declared once: assessment, academic, census and financial years, and birth windows.

Pure (no Django). Keystage's `year` is always the **assessment year**, the summer in which the
academic year ends (2026 = the academic year 2025/26, design.md). Everything else is derived here:
- the academic year runs 1 September (year - 1) to 31 August (year), labelled "2025/26";
- the spring census reference date is the third Thursday of January of the assessment year
  (methods.md 11.1); autumn is the first Thursday of October before it, summer the third Thursday
  of May (the DfE's usual census days; a file's own ReferenceDate always wins);
- the social-care collection year ends 31 March of the assessment year (SSDA903 and CIN);
- the financial year that ends on 31 March of the assessment year is "2025-26";
- a pupil in NC year N in the academic year was born between 1 September (year - 6 - N) and
  31 August (year - 5 - N), with reception as N = 0 (the age rules of the National Curriculum).
"""

from __future__ import annotations

import datetime as dt
import re

# Years a page or command accepts at all (anything else is a typing slip or a hostile value).
MIN_YEAR = 2000
MAX_YEAR = 2099

TERMS = ("AUT", "SPR", "SUM")
TERM_LABELS = {"AUT": "autumn", "SPR": "spring", "SUM": "summer"}
# National curriculum year codes (CBDS D00020), youngest first; `X` (outside the NC) has no number.
NC_YEARS = ("N1", "N2", "R", *(str(n) for n in range(1, 15)))

_ACADEMIC = re.compile(r"^\s*(\d{4})\s*(?:[/-]\s*(\d{2}|\d{4}))?\s*$")


def academic_year_label(year: int) -> str:
    """The academic year that ends in the summer of `year`: 2026 -> "2025/26"."""
    return f"{year - 1}/{year % 100:02d}"


def financial_year_label(year: int) -> str:
    """The financial year ending 31 March of `year`: 2026 -> "2025-26"."""
    return f"{year - 1}-{year % 100:02d}"


def parse_academic_year(text: str) -> int | None:
    """The assessment year of "2025/26", "2025-26", "2025-2026" or "2025" (start year); else None.

    A lone four-digit year is the year the academic year starts, as LAs write it in files.
    """
    match = _ACADEMIC.match(text or "")
    if not match:
        return None
    start = int(match.group(1))
    end = match.group(2)
    if end is not None:
        expected = (start + 1) % (100 if len(end) == 2 else 10_000)
        if int(end) != expected:
            return None
    return start + 1


def academic_year_start(year: int) -> dt.date:
    """1 September of the academic year that ends in `year`."""
    return dt.date(year - 1, 9, 1)


def academic_year_end(year: int) -> dt.date:
    """31 August of the assessment year."""
    return dt.date(year, 8, 31)


def assessment_year_of(day: dt.date) -> int:
    """The assessment year whose academic year contains `day`."""
    return day.year + 1 if day.month >= 9 else day.year


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


THURSDAY = 3


def census_reference_date(year: int, term: str = "SPR") -> dt.date:
    """The usual reference date of a term's school census in the academic year ending in `year`."""
    if term == "AUT":
        return _nth_weekday(year - 1, 10, THURSDAY, 1)
    if term == "SPR":
        return _nth_weekday(year, 1, THURSDAY, 3)
    if term == "SUM":
        return _nth_weekday(year, 5, THURSDAY, 3)
    raise ValueError(f"unknown census term {term!r}; use one of {', '.join(TERMS)}")


def census_term_label(term: str) -> str:
    """The census term in words ("SPR" -> "spring census")."""
    return f"{TERM_LABELS.get(term, term)} census"


def census_window(year: int, term: str) -> tuple[dt.date, dt.date]:
    """Earliest and latest reference dates a term's census of the year may carry.

    Autumn: September to December of the first calendar year; spring: January to March;
    summer: April to August. A file whose date falls outside is for another year or term.
    """
    if term == "AUT":
        return dt.date(year - 1, 9, 1), dt.date(year - 1, 12, 31)
    if term == "SPR":
        return dt.date(year, 1, 1), dt.date(year, 3, 31)
    if term == "SUM":
        return dt.date(year, 4, 1), dt.date(year, 8, 31)
    raise ValueError(f"unknown census term {term!r}; use one of {', '.join(TERMS)}")


def census_term_of(day: dt.date) -> tuple[int, str]:
    """The assessment year and term a census reference date belongs to."""
    year = assessment_year_of(day)
    if day.month >= 9:
        return year, "AUT"
    return (year, "SPR") if day.month <= 3 else (year, "SUM")


def social_care_year(year: int) -> tuple[dt.date, dt.date]:
    """First and last day of the social-care collection year ending 31 March of `year`."""
    return dt.date(year - 1, 4, 1), dt.date(year, 3, 31)


def ncyear_number(ncyear: str) -> int | None:
    """NC year as a number, reception 0, nursery -1 and -2; None for X or anything unknown."""
    text = (ncyear or "").strip().upper()
    if text == "R":
        return 0
    if text in ("N1", "N2"):
        return -1 if text == "N2" else -2
    if text.isdigit() and 1 <= int(text) <= 14:
        return int(text)
    return None


def dob_window(year: int, ncyear: str | int) -> tuple[dt.date, dt.date]:
    """Earliest and latest date of birth of a pupil in an NC year in the academic year `year`.

    Reception (`R`, 0) in 2025/26 means born 1 September 2020 to 31 August 2021.
    """
    n = ncyear if isinstance(ncyear, int) else ncyear_number(ncyear)
    if n is None:
        raise ValueError(f"no date-of-birth window for NC year {ncyear!r}")
    return dt.date(year - 6 - n, 9, 1), dt.date(year - 5 - n, 8, 31)


def age_on(dob: dt.date, day: dt.date) -> int:
    """Age in whole years on a day."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def is_summer_born(dob: dt.date) -> bool:
    """Born in May, June, July or August (methods.md 11.1)."""
    return dob.month in (5, 6, 7, 8)


def recent_years(year: int, count: int = 5) -> list[int]:
    """The `count` assessment years ending with `year`, oldest first."""
    return list(range(year - count + 1, year + 1))
