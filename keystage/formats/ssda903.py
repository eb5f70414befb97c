"""The SSDA903 children looked after return: its CSV tables and the EXPSSDA903 XML; no Django.

Tables and columns per collection year are data (data/ssda903_columns.csv, formats.md 5.1), and
so are the code lists (data/ssda903_codes.csv) the schema checks use
(keystage.formats.socialcare_checks). A table is recognised by its columns, never its file name:
CHILD and the table's key column (DECOM for episodes, REVIEW_CODE for reviews ...).

Frames (kind `ssda903_csv` or `ssda903_xml`, dataset `ssda903`): one per table, named as in
the data file (header, episodes, reviews, uasc, oc2, oc3, ad1, placed_for_adoption,
previous_permanence, missing, sw_episodes, dolo), with `row` (Int64: the CSV row, header = 1;
for the XML the line of the element) and every column of the table in lower case, as TEXT
exactly as the file gives it (surrounding spaces removed; an empty cell is ""). Values are not
judged here: a bad date or code is a finding of the schema checks, not a refusal;
`parse_903_date` turns a column into dates for later use. A return is refused only when it
cannot be read: not CSV or XML, a missing column (named), a column twice, no header table, or
a child with episodes who is not in the header. A table in two files is read from both, with a
warning.

The EXPSSDA903 XML (formats.md 5.1) holds one <CHILD> per child: a <HEADER> with CHILDID (the
CSV's CHILD) and the header columns, inside which come <AREVIEW> (reviews), <AMISSING>
(missing), <AD_PLACED> (placed_for_adoption), <PERMANENCE> (previous_permanence) and <OC2>
blocks, the UASC flag and DUC (uasc), the OC3 columns IN_TOUCH, ACTIV, ACCOM (oc3) and the AD1
columns DATE_INT ... LS_ADOPTR (ad1) directly; then <EPISODE> blocks, with PL for PLACE. A
row of uasc, oc3 or ad1 is made for a child whose HEADER holds any of that table's own
columns (for uasc: also the flag UASC=1). An element the reader does not know is named in a
warning, never silently dropped; a <CHILD> that is not directly in <EXPSSDA903> is refused.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import polars as pl

from keystage.formats.csvsource import header_of, read_csv
from keystage.formats.datafiles import DATA, data_rows, year_code_lists
from keystage.formats.errors import DataFileError, FormatError
from keystage.formats.kinds import DatasetFile
from keystage.formats.safexml import read_root, root_is

ROW = "row"
_RESEND = "Export the return again from the case management system."
MAX_BYTES = 500 * 1024 * 1024


@dataclass(frozen=True)
class Column:
    table: str
    name: str  # as the DfE names it, upper case
    year_from: int
    year_to: int | None
    type: str  # text, code, date or int
    required: bool  # a value is required in every row
    code_list: str
    key: bool  # recognises the table

    def covers(self, year: int | None) -> bool:
        """True when the column is part of the table in the collection year (any, for None)."""
        if year is None:
            return True
        return self.year_from <= year and (self.year_to is None or year <= self.year_to)


@functools.cache
def columns() -> tuple[Column, ...]:
    """Every column of every 903 table, with the years it is collected."""
    path = DATA / "ssda903_columns.csv"
    found = []
    for number, row in data_rows(path):
        try:
            found.append(Column(
                row["table"], row["column"].upper(), int(row["year_from"]),
                int(row["year_to"]) if row["year_to"] else None, row["type"],
                row["required"] == "Y", row["code_list"], row["key"] == "Y"))
        except (KeyError, ValueError) as error:
            raise DataFileError(path, number, f"not a valid column row ({error})") from None
        if found[-1].type not in ("text", "code", "date", "int"):
            raise DataFileError(path, number, f"unknown type {found[-1].type!r}")
    return tuple(found)


@functools.cache
def codes() -> dict[str, tuple[tuple[str, int, int | None], ...]]:
    """Each code list: (code, first year, last year or None)."""
    return year_code_lists(DATA / "ssda903_codes.csv")


def code_list(name: str, year: int | None) -> list[str]:
    """The codes of a list valid in a collection year (every year's, for None)."""
    return [c for c, first, last in codes().get(name, ())
            if year is None or (first <= year and (last is None or year <= last))]


def parse_903_date(series: pl.Series) -> pl.Series:
    """A text column as dates: DD/MM/YYYY only, null for anything else (empty, 2015-02-01...)."""
    text = series.cast(pl.String).str.strip_chars()
    # The shape is checked first: strptime alone would take 1/2/2015 and ignore what follows.
    shaped = text.str.contains(r"^\d{2}/\d{2}/\d{4}$").fill_null(False)
    return (pl.select(pl.when(shaped).then(text).otherwise(None).alias(series.name))
            .to_series().str.strptime(pl.Date, "%d/%m/%Y", strict=False))


def tables() -> tuple[str, ...]:
    """The 903 tables, in the order of the data file."""
    return tuple(dict.fromkeys(c.table for c in columns()))


def table_columns(table: str, year: int | None = None) -> list[Column]:
    """The columns of a table in a collection year (for None: of the latest year)."""
    of_table = [c for c in columns() if c.table == table]
    if year is None:
        return [c for c in of_table if c.year_to is None]
    return [c for c in of_table if c.covers(year)]


def ssda903_table_of(names) -> str | None:
    """The 903 table whose columns these are (CHILD and the table's key column), or None."""
    present = {str(n).strip().lstrip("\ufeff").upper() for n in names}
    if "CHILD" not in present:
        return None
    for column in columns():
        if column.key and column.name in present:
            return column.table
    return None


def looks_like_ssda903_table(head: bytes) -> bool:
    """True when the first line of the file is the header of a 903 table."""
    if head.lstrip()[:1] == b"<":
        return False
    return ssda903_table_of(header_of(head)) is not None


def looks_like_ssda903_xml(head: bytes) -> bool:
    """True when the file's root element is <EXPSSDA903>."""
    return root_is(head, "EXPSSDA903")


def _first_year(table: str) -> int:
    return min(c.year_from for c in columns() if c.table == table)


def read_ssda903_table(source, *, filename: str, year: int | None = None,
                       **options) -> DatasetFile:
    """One 903 table from a CSV, whole, or FormatError naming the file, row and what to do."""
    from keystage.formats.csvsource import _bytes_of

    data = _bytes_of(source, filename)
    if not data.strip():
        raise FormatError(f"the file is empty. {_RESEND}", filename=filename)
    table = ssda903_table_of(header_of(data[:65536]))
    if table is None:
        raise FormatError("the header row is not that of an SSDA903 table (CHILD and the "
                          f"table's own columns). {_RESEND}", filename=filename, line=1)
    early = year is not None and year < _first_year(table)
    if early:
        # Read all the same (the LA's system sends what it has); the checks start that year.
        year = None
    wanted = [c.name for c in table_columns(table, year)]
    every = {c.name for c in columns() if c.table == table}
    csv_table = read_csv(data, filename=filename, required=wanted,
                         optional=sorted(every - set(wanted)),
                         columns=[c.lower() for c in wanted])
    frame = csv_table.frame
    warnings = list(csv_table.warnings)
    if early:
        warnings.append(f"the {table} table is collected from {_first_year(table) - 1}-"
                        f"{str(_first_year(table))[2:]}; it was read but is not checked yet")
    return DatasetFile("ssda903_csv", "ssda903", filename, {table: frame}, year=None,
                       warnings=[f"{table}: {w}" for w in warnings])


def read_ssda903_return(files: list[tuple[str, bytes]], *, year: int | None = None
                        ) -> DatasetFile:
    """Several 903 tables as one return: each table once, a header, every episode's child in it."""
    frames: dict[str, pl.DataFrame] = {}
    seen: dict[str, str] = {}
    warnings: list[str] = []
    for name, data in files:
        one = read_ssda903_table(data, filename=name, year=year)
        (table, frame), = one.frames.items()
        warnings.extend(f"{name}: {w}" for w in one.warnings)
        if table in seen:
            # A table in two files (a system that exports in parts, or the peers' folder with
            # its planted-error copy): both are read, in order, and the batch says so.
            warnings.append(f"{name}: a second {table} table (the first was {seen[table]}); "
                            "the rows of both were loaded. Send one file of each table if "
                            "that is not what you meant.")
            frames[table] = pl.concat([frames[table], frame])
            seen[table] += f", {name}"
            continue
        seen[table] = name
        frames[table] = frame
    names = ", ".join(name for name, _ in files)
    if "header" not in frames:
        raise FormatError("the return has no header table (CHILD, SEX, DOB, ETHNIC, UPN ...): "
                          "every child must be in it. Send the header file with the others.",
                          filename=names)
    _check_episode_children(frames, seen)
    for table in tables():
        if table not in frames:
            frames[table] = _empty(table, year)
    return DatasetFile("ssda903_csv", "ssda903", names, frames, year=None, warnings=warnings)


def _empty(table: str, year: int | None) -> pl.DataFrame:
    schema = {ROW: pl.Int64, **{c.name.lower(): pl.String for c in table_columns(table, year)}}
    return pl.DataFrame(schema=schema)


def _check_episode_children(frames: dict[str, pl.DataFrame], seen: dict[str, str]) -> None:
    episodes = frames.get("episodes")
    if episodes is None or not episodes.height:
        return
    stray = episodes.join(frames["header"].select("child"), on="child", how="anti")
    if stray.height:
        row, child = stray.select(ROW, "child").row(0)
        more = f" (and {stray['child'].n_unique() - 1} more)" if stray["child"].n_unique() > 1 \
            else ""
        raise FormatError(f"child {child[:40]!r} has episodes but is not in the header table "
                          f"({seen.get('header', 'header')}){more}. Add the child to the header, "
                          f"or remove the episodes, then send the return again.",
                          filename=seen.get("episodes", "episodes"), line=row, column="CHILD")


# The EXPSSDA903 XML. Tables with a block element of their own, found anywhere under <CHILD>
# (the peers' export puts every block but EPISODE inside <HEADER>; an <OC3> block is read too,
# should a system write one); tables whose columns sit directly in <HEADER>; and the elements
# named otherwise than the CSV columns.
_XML_BLOCKS = {"episodes": "EPISODE", "reviews": "AREVIEW", "missing": "AMISSING",
               "placed_for_adoption": "AD_PLACED", "previous_permanence": "PERMANENCE",
               "oc2": "OC2", "oc3": "OC3"}
_XML_TABLE_OF = {tag: table for table, tag in _XML_BLOCKS.items()}
_XML_FLAT = ("uasc", "oc3", "ad1")
_XML_RENAMED = {"CHILD": "CHILDID", "PLACE": "PL"}
_XML_CHILD_COLUMNS = ("CHILD", "DOB", "SEX")  # from the HEADER, not the table's own columns
_UASC_FLAG = "UASC"


def _xml_known() -> frozenset[str]:
    names = {"EXPSSDA903", "CHILD", "HEADER", _UASC_FLAG, *_XML_BLOCKS.values(),
             *_XML_RENAMED.values()}
    names.update(_XML_RENAMED.get(c.name, c.name) for c in columns())
    return frozenset(names)


def read_ssda903_xml(source, *, filename: str, year: int | None = None,
                     **options) -> DatasetFile:
    """The EXPSSDA903 XML export into the same frames as the CSV tables, or FormatError."""
    root = read_root(source, filename, root="EXPSSDA903", what="an SSDA903 XML export",
                     resend=_RESEND, max_bytes=MAX_BYTES)
    rows: dict[str, list[tuple]] = {t: [] for t in tables()}
    wanted = {t: [c.name for c in table_columns(t, year)] for t in tables()}
    # Each table's columns in order, as (element, True when it is the child's, in the HEADER).
    spec = {t: [(_XML_RENAMED.get(c, c), c in _XML_CHILD_COLUMNS) for c in wanted[t]]
            for t in tables()}

    def values(element) -> dict[str, str]:
        # Each child element's text by name, found in one pass (the first of a name wins).
        found: dict[str, str] = {}
        for item in element:
            if isinstance(item.tag, str) and item.tag not in found:
                found[item.tag] = (item.text or "").strip()
        return found

    nested = next((c for c in root.iter("CHILD") if c.getparent() is not root), None)
    if nested is not None:
        # Its blocks would be counted twice (once for each <CHILD> around them).
        raise FormatError(f"a <CHILD> is inside another element, not directly in <EXPSSDA903>: "
                          f"the file is not in the EXPSSDA903 layout. {_RESEND}",
                          filename=filename, line=nested.sourceline)
    for child in root.iterchildren("CHILD"):
        header = child.find("HEADER")
        if header is None:
            raise FormatError(f"a <CHILD> has no <HEADER>. {_RESEND}", filename=filename,
                              line=child.sourceline)
        given = values(header)
        line = header.sourceline
        rows["header"].append((line, *[given.get(name, "") for name, _ in spec["header"]]))
        for table in _XML_FLAT:
            row = (line, *[given.get(name, "") for name, _ in spec[table]])
            own = any(v for v, (_, mine) in zip(row[1:], spec[table], strict=True) if not mine)
            if own or (table == "uasc" and given.get(_UASC_FLAG) in ("1", "Y", "y")):
                rows[table].append(row)
        for block in child.iter(*_XML_TABLE_OF):
            table = _XML_TABLE_OF[block.tag]
            inside = values(block)
            rows[table].append((block.sourceline, *[
                (given if mine else inside).get(name, "") for name, mine in spec[table]]))
    frames = {}
    for table in tables():
        schema = {ROW: pl.Int64, **{c.lower(): pl.String for c in wanted[table]}}
        frames[table] = (pl.DataFrame(rows[table], schema=schema, orient="row")
                         if rows[table] else pl.DataFrame(schema=schema))
    if not frames["header"].height:
        raise FormatError(f"the file has no <CHILD> with a <HEADER>. {_RESEND}",
                          filename=filename)
    _check_episode_children(frames, {"header": filename, "episodes": filename})
    known = _xml_known()
    unknown: dict[str, int] = {}
    for element in root.iter():
        tag = element.tag
        if isinstance(tag, str) and tag not in known:
            unknown[tag] = unknown.get(tag, 0) + 1
    warnings = []
    if unknown:
        listed = ", ".join(f"<{t[:40]}> ({n})" for t, n in sorted(unknown.items())[:10])
        warnings.append(f"elements this reader does not know were not read: {listed}"
                        + (" ..." if len(unknown) > 10 else ""))
    return DatasetFile("ssda903_xml", "ssda903", filename, frames, year=None,
                       warnings=warnings)
