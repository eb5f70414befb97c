"""One safe way to read Keystage's CSV layouts into polars frames, whole files at once.

Every value arrives as text: a cell is never guessed to be a number or a date, so "00123" and
"=SUM(A1)" come through as written (exports make formulas safe on the way out). Rows are
numbered as a spreadsheet shows them: the header is row 1. Columns are matched by name, in
any order, case-insensitively; unknown columns are reported, never silently used.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from keystage.formats.errors import FormatError

# Keystage's CSVs are per LA per year: a national KS4 file of ~600,000 pupils with ~10
# qualifications each is ~400 MB; anything larger is not one of them.
MAX_CSV_BYTES = 1024 * 1024 * 1024
ROW = "row"


@dataclass
class CsvTable:
    """A CSV read whole: one String column per wanted column, plus `row` (header = row 1)."""

    frame: pl.DataFrame
    header: list[str]  # the file's own column names, as written
    ignored: list[str] = field(default_factory=list)  # columns the layout does not use
    warnings: list[str] = field(default_factory=list)


def _bytes_of(source, filename: str) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        try:
            size = os.path.getsize(source)
            if size > MAX_CSV_BYTES:
                raise FormatError(
                    f"the file is {size // (1024 * 1024)} MB, more than any Keystage CSV layout "
                    "holds. Check it is the right file.", filename=filename)
            with open(source, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise FormatError(f"the file could not be opened ({error.strerror or error}). "
                              "Upload it again.", filename=filename) from error
    if len(data) > MAX_CSV_BYTES:
        raise FormatError("the file is larger than any Keystage CSV layout holds. Check it is "
                          "the right file.", filename=filename)
    return data


def decode(data: bytes, filename: str) -> tuple[str, list[str]]:
    """The file's text (UTF-8, a BOM tolerated; else Windows-1252) and any warning about it."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FormatError(
            "the file holds NUL bytes, so it is not a text CSV (perhaps a spreadsheet saved "
            "in another format, or UTF-16). Save it as 'CSV UTF-8' and try again.",
            filename=filename, line=data[:nul].count(b"\n") + 1)
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as error:
        raise FormatError(
            "the file is not UTF-8. Save it as 'CSV UTF-8' and try again.",
            filename=filename, line=data[:error.start].count(b"\n") + 1) from None
    return text, ["the file is not UTF-8; it was read as Windows-1252. Save it as 'CSV UTF-8' "
                  "to be sure names with accents are right."]


def header_of(head: bytes) -> list[str]:
    """The lower-cased column names of the first line of a file's first bytes (for sniffs)."""
    text = head.decode("utf-8", "ignore").lstrip("\ufeff")
    first = text.split("\n", 1)[0].rstrip("\r")
    try:
        cells = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        return []
    return [c.strip().lower() for c in cells]


def _bad_row(text: str, width: int, filename: str) -> FormatError:
    """The first row whose width differs from the header's (the slow path, errors only)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for number, cells in enumerate(reader, start=1):
            if cells and len(cells) != width:
                return FormatError(
                    f"row {number} has {len(cells)} cells where the header has {width}. Check "
                    "for stray commas or quotes, then send the file again.",
                    filename=filename, line=number)
    except csv.Error as error:
        return FormatError(f"the file is not a well-formed CSV ({error}). Save it again as CSV "
                           "and send it again.", filename=filename, line=reader.line_num)
    return FormatError("the file is not a well-formed CSV. Save it again as CSV and send it "
                       "again.", filename=filename)


def _ragged(text: str, width: int, records: int) -> bool:
    """True when some record has another number of cells than the header (records: the data
    rows polars read; it refuses longer rows itself)."""
    if '"' not in text and text.count(",") == (records + 1) * (width - 1):
        # No quoting, and exactly the commas of full rows: no row can be short.
        return False
    try:
        widths = set(map(len, csv.reader(io.StringIO(text, newline=""))))
    except csv.Error:
        return True
    return bool(widths - {width, 0})


def read_csv(
    source,
    *,
    filename: str,
    required: Sequence[str],
    optional: Sequence[str] = (),
    keep_all: bool = False,
    exact: bool = False,
    columns: Sequence[str] | None = None,
) -> CsvTable:
    """Read a CSV whole into text columns named in lower case, or raise FormatError.

    `required` columns must all be there; `optional` ones are kept when present; with
    `keep_all` every column is kept. With `exact`, cells keep their spaces and rows whose cells
    are all empty are kept too. With `columns` (lower case), the frame has exactly those after
    `row`, in that order, a column the file lacks as empty text.
    """
    data = _bytes_of(source, filename)
    if not data.strip():
        raise FormatError("the file is empty. Export it again.", filename=filename)
    text, warnings = decode(data, filename)
    first_line = text.split("\n", 1)[0].rstrip("\r")
    try:
        header = next(csv.reader([first_line]))
    except (csv.Error, StopIteration):
        header = []
    names = [h.strip().lower() for h in header]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise FormatError(f"the header names {', '.join(repeated)} more than once. Keep one "
                          "column of each name.", filename=filename, line=1)
    missing = [c for c in required if c.lower() not in names]
    if missing:
        raise FormatError(
            f"missing column(s) {', '.join(missing)}. This layout needs "
            f"{', '.join(required)}; the file has "
            f"{', '.join(h.strip() for h in header) or 'none'}.",
            filename=filename, line=1)
    wanted = [n for n in names if keep_all or n in {c.lower() for c in (*required, *optional)}]
    ignored = [h.strip() for h, n in zip(header, names, strict=True) if n not in wanted]
    try:
        frame = pl.read_csv(
            # The bytes as they came when they are UTF-8 (polars would encode the text again).
            data[3:] if data.startswith(b"\xef\xbb\xbf") else data if not warnings
            else text.encode(), has_header=True, new_columns=names, infer_schema=False,
            empty_string_is_null=False, truncate_ragged_lines=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, pl.exceptions.ShapeError):
        raise _bad_row(text, len(names), filename) from None
    lazy = frame.lazy().select(wanted)
    if not exact:
        lazy = lazy.with_columns(pl.col(wanted).str.strip_chars())
    # Quoted cells may span lines, so the row number counts records, as a spreadsheet does.
    lazy = lazy.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    # Rows with every cell empty (a spreadsheet's trailing blank lines) are not data.
    if wanted and not exact:
        lazy = lazy.filter(~pl.all_horizontal(pl.col(wanted) == ""))
    # An empty cell reads as "", so a null is a cell the row lacks: a short row. Newer polars
    # reads a short row's missing cells as "" too, so when the last column (where a short row
    # ends) has an empty cell, the widths of every record are also counted by the csv module's
    # C reader (map(len, ...) runs no Python per row). Asked of the columns themselves, not
    # through polars' query engine, whose fixed cost a call is most of a small file's time.
    if frame.height and names and (
            any(column.has_nulls() for column in frame.iter_columns())
            or ((frame.get_column(names[-1]) == "").any()
                and _ragged(text, len(names), frame.height))):
        raise _bad_row(text, len(names), filename)
    if columns is not None:
        lazy = lazy.select(ROW, *[pl.col(name) if name in wanted else pl.lit("").alias(name)
                                  for name in columns])
    # The in-memory engine, as eager calls use (the streaming one costs more a call).
    frame = lazy.collect(engine="in-memory")
    if ignored:
        warnings.append(f"columns not used by this layout were ignored: {', '.join(ignored)}")
    return CsvTable(frame, header, ignored, warnings)


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _first_bad(frame: pl.DataFrame, bad: pl.Expr, column: str) -> tuple[int, str]:
    hit = frame.filter(bad).select(ROW, column).row(0)
    return hit[0], hit[1]


def parse_dates(frame: pl.DataFrame, column: str, *, filename: str, label: str | None = None,
                required: bool = False) -> pl.Expr:
    """The column as dates (YYYY-MM-DD or DD/MM/YYYY); FormatError names the first bad row."""
    text = pl.col(column)
    parsed = pl.coalesce(
        text.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        text.str.strptime(pl.Date, "%d/%m/%Y", strict=False),
    )
    checked = frame.select(ROW, column, parsed.alias("_d"))
    bad = (pl.col(column) != "") & pl.col("_d").is_null()
    if required:
        bad = bad | (pl.col(column) == "")
    if checked.filter(bad).height:
        row, value = _first_bad(checked, bad, column)
        what = label or column.upper()
        problem = "is empty" if value == "" else f"'{value[:30]}' is not a date"
        raise FormatError(f"{what} {problem}. Write dates as YYYY-MM-DD or DD/MM/YYYY, then "
                          "send the file again.", filename=filename, line=row, column=what)
    return parsed


def parse_ints(frame: pl.DataFrame, column: str, *, filename: str, codes: Sequence[str] = (),
               label: str | None = None) -> pl.Expr:
    """The column as whole numbers, null where empty or one of `codes`; FormatError otherwise."""
    parsed = pl.col(column).str.strip_chars().cast(pl.Int64, strict=False)
    checked = frame.select(ROW, column, parsed.alias("_n"))
    bad = ((pl.col(column) != "") & pl.col("_n").is_null()
           & ~pl.col(column).str.to_uppercase().is_in(list(codes)))
    if checked.filter(bad).height:
        row, value = _first_bad(checked, bad, column)
        what = label or column.upper()
        allowed = f" or one of the codes {', '.join(codes)}" if codes else ""
        raise FormatError(f"{what} '{value[:30]}' is not a whole number{allowed}. Correct it, "
                          "then send the file again.", filename=filename, line=row, column=what)
    return parsed


def parse_date_text(text: str) -> date | None:
    """One date as the CSV layouts write them, or None."""
    text = text.strip()
    try:
        if _ISO.match(text):
            return date.fromisoformat(text)
        day, month, year = text.split("/")
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
