"""The layouts of the LA's statutory return files to the DfE, held as per-year data; no Django.

The table is data/return_layouts.csv (one row per collection and range of assessment years) and
each layout's structure is an XSD under data/xsd/, so a new DfE specification is a data change.
Layout source: shared/domain/encodings.md section 2.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from keystage.datasets import RETURN_CODES
from keystage.formats.errors import DataFileError

__all__ = [
    "COLUMNS",
    "LAYOUTS_FILE",
    "RETURN_COLLECTIONS",
    "XSD_DIR",
    "LayoutError",
    "ReturnLayout",
    "file_name",
    "layout_for",
    "load_layouts",
    "xsd_path",
]

DATA_DIR = Path(__file__).with_name("data")
LAYOUTS_FILE = DATA_DIR / "return_layouts.csv"
XSD_DIR = DATA_DIR / "xsd"
# The collections Keystage writes a return for (keystage.datasets, those with a return layout).
RETURN_COLLECTIONS = RETURN_CODES
COLUMNS = (
    "collection",
    "first_year",
    "last_year",
    "collection_code",
    "term",
    "reference_date",
    "layout",
    "xsd",
    "includes_pvi",
    "ncyears",
    "omit_results",
)

_CODE = re.compile(r"^[A-Z][A-Z0-9]*$")
_LAYOUT = re.compile(r"^v[0-9]+$")
_XSD_NAME = re.compile(r"^[a-z0-9_]+\.xsd$")
_MONTH_DAY = re.compile(r"^([0-9]{2})-([0-9]{2})$")
_LA_CODE = re.compile(r"^[0-9]{3}$")


class LayoutError(DataFileError):
    """The layout file is not valid; the message names the file, the line and what is wrong."""


@dataclass(frozen=True)
class ReturnLayout:
    """One collection's return layout for a range of assessment years."""

    collection: str
    first_year: int
    last_year: int | None
    collection_code: str
    term: str
    reference_date: str
    layout: str
    xsd: str
    includes_pvi: bool
    ncyears: tuple[str, ...]
    omit_results: frozenset[str]

    def applies_in(self, year: int) -> bool:
        """True when the layout is the one in force for this assessment year."""
        return self.first_year <= year and (self.last_year is None or year <= self.last_year)

    def reference_date_in(self, year: int) -> date:
        """The collection's reference date in one assessment year."""
        month, day = self.reference_date.split("-")
        return date(year, int(month), int(day))


def _year(text: str, column: str, path: Path, line: int) -> int:
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise LayoutError(path, line, f"{column} {text!r} is not a four-digit year")
    return int(text)


def _layout(row: dict[str, str], path: Path, line: int) -> ReturnLayout:
    collection = row["collection"]
    if collection not in RETURN_COLLECTIONS:
        raise LayoutError(
            path,
            line,
            f"unknown collection {collection!r}; expected one of {', '.join(RETURN_COLLECTIONS)}",
        )
    first_year = _year(row["first_year"], "first_year", path, line)
    last_year = _year(row["last_year"], "last_year", path, line) if row["last_year"] else None
    if last_year is not None and last_year < first_year:
        raise LayoutError(path, line, f"last_year {last_year} is before first_year {first_year}")
    for column in ("collection_code", "term"):
        if not _CODE.match(row[column]):
            raise LayoutError(path, line, f"{column} {row[column]!r} is not an upper-case code")
    match = _MONTH_DAY.match(row["reference_date"])
    try:
        # 2024 is a leap year, so 02-29 is accepted here and fails only in the years it must.
        if match is None:
            raise ValueError
        date(2024, int(match.group(1)), int(match.group(2)))
    except ValueError:
        raise LayoutError(
            path, line, f"reference_date {row['reference_date']!r} is not a MM-DD date"
        ) from None
    if not _LAYOUT.match(row["layout"]):
        raise LayoutError(path, line, f"layout {row['layout']!r} is not like v1")
    if not _XSD_NAME.match(row["xsd"]):
        raise LayoutError(path, line, f"xsd {row['xsd']!r} is not a file name like eyfsp_v1.xsd")
    if not (path.parent / "xsd" / row["xsd"]).is_file():
        raise LayoutError(path, line, f"xsd {row['xsd']!r} is not in {path.parent / 'xsd'}")
    if row["includes_pvi"] not in ("0", "1"):
        raise LayoutError(path, line, f"includes_pvi {row['includes_pvi']!r} is not 0 or 1")
    ncyears = tuple(row["ncyears"].split())
    if not ncyears:
        raise LayoutError(path, line, "ncyears is empty: name the NC years the return carries")
    return ReturnLayout(
        collection=collection,
        first_year=first_year,
        last_year=last_year,
        collection_code=row["collection_code"],
        term=row["term"],
        reference_date=row["reference_date"],
        layout=row["layout"],
        xsd=row["xsd"],
        includes_pvi=row["includes_pvi"] == "1",
        ncyears=ncyears,
        omit_results=frozenset(row["omit_results"].split()),
    )


def _overlaps(a: ReturnLayout, b: ReturnLayout) -> bool:
    a_last = a.last_year if a.last_year is not None else 9999
    b_last = b.last_year if b.last_year is not None else 9999
    return a.first_year <= b_last and b.first_year <= a_last


def load_layouts(path: Path | str = LAYOUTS_FILE) -> tuple[ReturnLayout, ...]:
    """Every layout in a layout file, checked; LayoutError names the line of any problem."""
    path = Path(path)
    layouts: list[tuple[int, ReturnLayout]] = []
    header: list[str] | None = None
    with path.open(encoding="utf-8", newline="") as handle:
        for number, text in enumerate(handle, start=1):
            if text.startswith("#") or not text.strip():
                continue
            values = next(csv.reader([text]))
            if header is None:
                if tuple(values) != COLUMNS:
                    missing = [c for c in COLUMNS if c not in values]
                    unknown = [c for c in values if c not in COLUMNS]
                    raise LayoutError(
                        path,
                        number,
                        f"the header must be {','.join(COLUMNS)}"
                        + (f"; missing {', '.join(missing)}" if missing else "")
                        + (f"; unknown {', '.join(unknown)}" if unknown else ""),
                    )
                header = values
                continue
            if len(values) != len(header):
                raise LayoutError(
                    path, number, f"{len(values)} values where the header has {len(header)}"
                )
            layout = _layout(dict(zip(header, values, strict=True)), path, number)
            for other_line, other in layouts:
                if other.collection == layout.collection and _overlaps(layout, other):
                    raise LayoutError(
                        path,
                        number,
                        f"the years of this {layout.collection} layout overlap line {other_line}",
                    )
            layouts.append((number, layout))
    if header is None:
        raise LayoutError(path, 1, "the file has no header row")
    return tuple(layout for _, layout in layouts)


@cache
def _default_layouts() -> tuple[ReturnLayout, ...]:
    return load_layouts(LAYOUTS_FILE)


def layout_for(collection: str, year: int) -> ReturnLayout:
    """The return layout in force for one collection and assessment year."""
    layouts = _default_layouts()
    for layout in layouts:
        if layout.collection == collection and layout.applies_in(year):
            return layout
    known = [f"{x.first_year}-{x.last_year or ''}" for x in layouts if x.collection == collection]
    if not known:
        raise LookupError(
            f"no return layout for collection {collection!r}: Keystage writes returns for "
            f"{', '.join(RETURN_COLLECTIONS)} ({LAYOUTS_FILE.name})"
        )
    raise LookupError(
        f"no {collection} return layout for {year}: {LAYOUTS_FILE.name} covers the years "
        f"{', '.join(known)}. Add a row for {year} when its DfE specification is in hand."
    )


def xsd_path(layout: ReturnLayout) -> Path:
    """The XSD that a layout's files must satisfy."""
    return XSD_DIR / layout.xsd


def file_name(la_code: str, collection_code: str, year: int, serial: int) -> str:
    """The return file's name, for example 999_EYFSP_2026_001.xml."""
    if not _LA_CODE.match(la_code):
        raise ValueError(f"LA code {la_code!r} is not three digits")
    if not _CODE.match(collection_code):
        raise ValueError(f"collection code {collection_code!r} is not an upper-case code")
    if not 1000 <= year <= 9999:
        raise ValueError(f"year {year} is not a four-digit year")
    if not 1 <= serial <= 999:
        raise ValueError(f"serial {serial} is not between 1 and 999 (three digits in the file)")
    return f"{la_code}_{collection_code}_{year}_{serial:03d}.xml"
