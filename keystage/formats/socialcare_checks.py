"""Schema checks of the social care returns, as data, per collection year; no Django.

What each return must hold is in data files: the 903 columns and code lists
(data/ssda903_columns.csv, data/ssda903_codes.csv), the CIN census elements and code lists
(data/cin_columns.csv, data/cin_codes.csv), the dates that may not come before another
(data/socialcare_date_order.csv), and the checks themselves with their stable codes, severity and
message (data/socialcare_checks.csv). `check_return(file, year)` runs every check over a read
return, column by column with polars (never a Python loop per row), and gives one finding per
fault with the table, line and column, for the LA to fix in its case management system.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import polars as pl

from keystage.formats.datafiles import DATA, data_rows, year_code_lists
from keystage.formats.errors import DataFileError
from keystage.formats.kinds import DatasetFile

FINDING_SCHEMA = {"code": pl.String, "severity": pl.String, "table": pl.String,
                  "line": pl.Int64, "column": pl.String, "child": pl.String,
                  "value": pl.String, "message": pl.String}
_UPN = r"^[A-Za-z]\d{11}[0-9A-Za-z]$"
_UPN_OR_REASON = r"^([A-Za-z]\d{11}[0-9A-Za-z]|UN(10|[1-9]))$"
_DATE_SHAPE = {"ssda903": (r"^\d{2}/\d{2}/\d{4}$", "%d/%m/%Y"),
               "cin": (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d")}


@dataclass(frozen=True)
class Check:
    code: str
    dataset: str
    kind: str
    severity: str
    message: str


@dataclass(frozen=True)
class ColumnSpec:
    table: str
    column: str  # the frame's column
    label: str  # as the file names it
    year_from: int
    year_to: int | None
    type: str
    required: bool
    code_list: str


def _rows(name: str):
    path = DATA / name
    for number, row in data_rows(path):
        yield path, number, row


@functools.cache
def checks() -> dict[str, Check]:
    """Every check by code."""
    found = {}
    for path, number, row in _rows("socialcare_checks.csv"):
        if row["severity"] not in ("error", "query"):
            raise DataFileError(path, number, f"unknown severity {row['severity']!r}")
        found[row["code"]] = Check(row["code"], row["dataset"], row["kind"], row["severity"],
                                   row["message"])
    return found


def _check(dataset: str, kind: str) -> Check:
    return next(c for c in checks().values() if c.dataset == dataset and c.kind == kind)


@functools.cache
def column_specs(dataset: str) -> tuple[ColumnSpec, ...]:
    """The columns checked in a return, with the years each is collected."""
    if dataset == "ssda903":
        from keystage.formats.ssda903 import columns

        return tuple(ColumnSpec(c.table, c.name.lower(), c.name, c.year_from, c.year_to,
                                "upn" if (c.table, c.name) == ("header", "UPN") else c.type,
                                c.required, c.code_list) for c in columns())
    specs = []
    for path, number, row in _rows("cin_columns.csv"):
        try:
            specs.append(ColumnSpec(row["table"], row["column"], row["element"],
                                    int(row["year_from"]),
                                    int(row["year_to"]) if row["year_to"] else None,
                                    row["type"], row["required"] == "Y", row["code_list"]))
        except (KeyError, ValueError) as error:
            raise DataFileError(path, number, f"not a valid column row ({error})") from None
    return tuple(specs)


@functools.cache
def code_lists(dataset: str) -> dict[str, tuple[tuple[str, int, int | None], ...]]:
    """Each code list of a return: (code, first year, last year or None)."""
    if dataset == "ssda903":
        from keystage.formats.ssda903 import codes

        return codes()
    return year_code_lists(DATA / "cin_codes.csv")


@functools.cache
def date_orders(dataset: str) -> tuple[tuple[str, str, str], ...]:
    """(table, start column, end column) pairs whose end may not come before the start."""
    return tuple((r["table"], r["start"], r["end"]) for _, _, r in
                 _rows("socialcare_date_order.csv") if r["dataset"] == dataset)


def _codes(dataset: str, name: str, year: int) -> list[str]:
    return [c for c, first, last in code_lists(dataset).get(name, ())
            if first <= year and (last is None or year <= last)]


def _findings(frame: pl.DataFrame, bad: pl.Expr, check: Check, table: str, column: str,
              label: str, **words: str) -> pl.LazyFrame:
    """The findings of one check over a table, lazily (collected with every other's)."""
    line = "row" if "row" in frame.columns else "line"
    child = pl.col("child").cast(pl.String) if "child" in frame.columns else pl.lit("")
    value = pl.col(column).cast(pl.String).fill_null("") if column else pl.lit("")
    hits = frame.lazy().filter(bad).select(
        line=pl.col(line).cast(pl.Int64) if line in frame.columns else pl.lit(0, pl.Int64),
        child=child, value=value)
    template = check.message.replace("{column}", label)
    for key, word in words.items():
        template = template.replace("{" + key + "}", word)
    before, _, after = template.partition("{value}")
    return hits.select(
        code=pl.lit(check.code), severity=pl.lit(check.severity), table=pl.lit(table),
        line="line", column=pl.lit(label), child="child",
        value=pl.col("value").str.slice(0, 100),
        message=(pl.lit(before) + pl.col("value").str.slice(0, 40) + pl.lit(after)
                 if "{value}" in template else pl.lit(template)),
    )


@functools.cache
def _year_checks(dataset: str, year: int) -> tuple[tuple, ...]:
    """Every check of a return for a collection year as (table, the columns it needs, the
    expression true on a faulty row, check, column, label, message words): built once a
    process, since building a hundred polars expressions costs more than running them."""
    pattern, fmt = _DATE_SHAPE[dataset]
    pending: list[tuple] = []
    for spec in column_specs(dataset):
        if not (spec.year_from <= year and (spec.year_to is None or year <= spec.year_to)):
            continue
        text = pl.col(spec.column).cast(pl.String).fill_null("").str.strip_chars()
        present = text != ""
        where = (spec.table, (spec.column,))
        if spec.required:
            pending.append((*where, ~present, _check(dataset, "required"), spec.column,
                            spec.label, {}))
        if spec.type == "date":
            wrong = present & (~text.str.contains(pattern)
                               | text.str.strptime(pl.Date, fmt, strict=False).is_null())
            pending.append((*where, wrong, _check(dataset, "date"), spec.column, spec.label,
                            {}))
        elif spec.type == "int":
            pending.append((*where, present & ~text.str.contains(r"^\d+$"),
                            _check(dataset, "int"), spec.column, spec.label, {}))
        elif spec.type == "upn":
            shape = _UPN_OR_REASON if dataset == "ssda903" else _UPN
            pending.append((*where, present & ~text.str.contains(shape),
                            _check(dataset, "upn"), spec.column, spec.label, {}))
        elif spec.type == "code" and spec.code_list:
            allowed = _codes(dataset, spec.code_list, year)
            pending.append((*where, present & ~text.is_in(allowed),
                            _check(dataset, "code"), spec.column, spec.label,
                            {"code_list": spec.code_list}))
    labels = {(s.table, s.column): s.label for s in column_specs(dataset)}

    def parsed(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.String).fill_null("").str.strip_chars() \
            .str.strptime(pl.Date, fmt, strict=False)

    for table, start, end in date_orders(dataset):
        pending.append((table, (start, end), parsed(end) < parsed(start),
                        _check(dataset, "order"), end, labels.get((table, end), end),
                        {"start": labels.get((table, start), start)}))
    return tuple(pending)


def check_return(file: DatasetFile, year: int) -> pl.DataFrame:
    """Every schema finding of a read SSDA903 or CIN return, in FINDING_SCHEMA."""
    dataset = file.dataset
    # (table, the expression true on a faulty row, check, column, label, message words), for
    # the tables and columns this return holds.
    pending = []
    for table, needs, *rest in _year_checks(dataset, year):
        frame = file.frames.get(table)
        if frame is not None and frame.height and all(c in frame.columns for c in needs):
            pending.append((table, *rest))
    parts = []
    # One pass over each table says which checks found anything (every table's pass in one
    # call: polars has a fixed cost a call, much of a small table's time); only those are
    # listed, with the return's other findings, in one more call.
    tables = list(dict.fromkeys(p[0] for p in pending))
    mine = {table: [p for p in pending if p[0] == table] for table in tables}
    flags = pl.collect_all([
        file.frames[table].lazy().select([bad.any().alias(f"_{i}") for i, (_, bad, *_) in
                                          enumerate(mine[table])]) for table in tables],
        engine="in-memory")
    for table, flagged in zip(tables, flags, strict=True):
        for hit, (_, bad, check, column, label, words) in zip(flagged.row(0), mine[table],
                                                              strict=True):
            if hit:
                parts.append(_findings(file.frames[table], bad, check, table, column, label,
                                       **words))
    parts.extend(_duplicates(file, dataset))
    if dataset == "cin":
        parts.extend(_cin_header(file))
    if not parts:
        return pl.DataFrame(schema=FINDING_SCHEMA)
    return pl.concat(parts).select(list(FINDING_SCHEMA)).cast(FINDING_SCHEMA).sort(
        "table", "line", "code", maintain_order=True).collect(engine="in-memory")


def _duplicates(file: DatasetFile, dataset: str) -> list[pl.LazyFrame]:
    table = "header" if dataset == "ssda903" else "children"
    frame = file.frames.get(table)
    if frame is None or not frame.height or "child" not in frame.columns:
        return []
    repeated = pl.col("child").is_duplicated() & (pl.col("child").fill_null("") != "")
    label = "CHILD" if dataset == "ssda903" else "LAchildID"
    return [_findings(frame, repeated, _check(dataset, "duplicate"), table, "child", label)]


def _cin_header(file: DatasetFile) -> list[pl.LazyFrame]:
    header = file.frames.get("header")
    if header is None or not header.height:
        return []
    reference = pl.col("reference_date").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    not_march = reference.is_not_null() & ((reference.dt.month() != 3)
                                           | (reference.dt.day() != 31))
    year_text = pl.col("year").cast(pl.String).fill_null("")
    disagree = reference.is_not_null() & year_text.str.contains(r"^\d{4}$") \
        & (year_text.cast(pl.Int64, strict=False) != reference.dt.year())
    return [
        _findings(header, not_march, _check("cin", "reference_date"), "header",
                  "reference_date", "ReferenceDate"),
        _findings(header, disagree, _check("cin", "year"), "header", "year", "Year"),
    ]


@dataclass(frozen=True)
class Finding:
    """One schema finding: the check's code, where it is and what to do."""

    code: str  # a code of data/socialcare_checks.csv, e.g. "903S03"
    table: str  # the reader's frame
    row_or_line: int  # the CSV row (header = 1) or the XML element's line
    column: str  # as the file names it (DECOM, CINreferralDate)
    child: str
    value: str  # the faulty value as given (at most 100 characters)
    message: str
    severity: str = "error"  # "error" or "query"


def _as_findings(file: DatasetFile, dataset: str, year: int) -> list[Finding]:
    if file.dataset != dataset:
        raise ValueError(f"{file.filename}: a {file.dataset} file, not {dataset}")
    frame = check_return(file, year)
    # One object per finding (not per row of the return): the checks themselves ran vectorised.
    return [Finding(r["code"], r["table"], r["line"], r["column"], r["child"], r["value"],
                    r["message"], r["severity"]) for r in frame.iter_rows(named=True)]


def check_ssda903(dataset_file: DatasetFile, year: int) -> list[Finding]:
    """Every schema finding of a read SSDA903 return for a collection year."""
    return _as_findings(dataset_file, "ssda903", year)


def check_cin(dataset_file: DatasetFile, year: int) -> list[Finding]:
    """Every schema finding of a read CIN census for a collection year."""
    return _as_findings(dataset_file, "cin", year)
