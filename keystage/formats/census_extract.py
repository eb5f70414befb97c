"""School census CSV extracts: one table of a census per file, the layout an open-source peer
reads (SocialFinanceDigitalLabs liia-tools-pipeline, school census samples); no Django.

Each file is one of TABLES, recognised by its columns, never its name. Every row and every
column is kept as the file gives it (text, lower-case column names as in the header), plus a
parsed date column `<name>_date` for each date column (written `2025-Feb-16 00:00:00`, or ISO).
The census term and year come from the file's name when it follows the peer's
`YYYY_term_table.csv` pattern; nothing in the rows says them.
"""

from __future__ import annotations

import re
from pathlib import PurePath

import polars as pl

from keystage.formats.csvsource import ROW, decode, header_of, read_csv
from keystage.formats.errors import FormatError
from keystage.formats.kinds import DatasetFile

# Table -> the columns that identify it (each table's own key columns; every file has more).
TABLES: dict[str, tuple[str, ...]] = {
    "pupilonroll": ("pupilonrolltableid", "pupilonrollorderseqcolumn", "ncyearactual"),
    "pupilnolongeronroll": ("pupilnolongeronrolltableid", "leavingdate",
                            "pupilnolongeronrollorderseqcolumn"),
    "fsmperiod": ("fsmperiodtableid", "fsmstartdate"),
    "senneeds": ("senneedstableid", "sentype"),
    "termlyexclusionsonroll": ("termlyexclusionsonrolltableid", "category"),
    "termlyexclusionsoffroll": ("termlyexclusionsoffrolltableid", "category"),
    "termlysessiondetailsonroll": ("termlysessiondetailsonrolltableid", "attendancereason"),
    "termlysessiondetailsoffroll": ("termlysessiondetailsoffrolltableid", "attendancereason"),
}
DATE_COLUMNS = ("dob", "entrydate", "leavingdate", "fsmstartdate", "fsmenddate", "startdate")
_TERMS = {"autumn": "AUT", "spring": "SPR", "summer": "SUM"}
_NAME = re.compile(r"(?P<year>\d{4})_(?P<term>autumn|spring|summer)_", re.IGNORECASE)


def table_of(columns) -> str | None:
    """The extract table whose key columns a header has, or None."""
    names = {c.strip().lower() for c in columns}
    for table, keys in TABLES.items():
        if set(keys) <= names:
            return table
    return None


def looks_like_census_extract(head: bytes) -> bool:
    """A header row of one of the census extract tables."""
    return table_of(header_of(head)) is not None


def _date(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.coalesce(
        text.str.strptime(pl.Date, "%Y-%b-%d %H:%M:%S", strict=False),
        text.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        text.str.strptime(pl.Date, "%Y-%m-%d %H:%M:%S", strict=False),
    ).alias(f"{column}_date")


def read_census_extract(source, *, filename: str, year: int | None = None,
                        **options) -> DatasetFile:
    """One census extract table, every row and column as written; FormatError if broken."""
    data = source if isinstance(source, (bytes, bytearray)) else open(source, "rb").read()
    text, _ = decode(bytes(data), filename)
    header = header_of(text[:65536].encode())
    table = table_of(header)
    if table is None:
        raise FormatError("the columns are not those of a school census extract table. "
                          f"Expected, for example, {', '.join(TABLES['pupilonroll'])}.",
                          filename=filename, line=1)
    read = read_csv(bytes(data), filename=filename, required=TABLES[table], keep_all=True,
                    exact=True)
    frame = read.frame
    dates = [c for c in DATE_COLUMNS if c in frame.columns]
    parsed = frame.with_columns(_date(c) for c in dates)
    for column in dates:
        bad = parsed.filter((pl.col(column) != "") & pl.col(f"{column}_date").is_null())
        if bad.height:
            row, value = bad.select(ROW, column).row(0)
            raise FormatError(f"{column} '{value[:30]}' is not a date. Export the table again.",
                              filename=filename, line=row, column=column)
    match = _NAME.search(PurePath(filename).name)
    term = _TERMS[match["term"].lower()] if match else ""
    file_year = None
    if match:
        file_year = int(match["year"]) if term != "AUT" else int(match["year"]) + 1
    return DatasetFile("census_csv", "census", filename, {table: parsed}, year=file_year,
                       term=term, warnings=read.warnings)
