"""Readers of Keystage's own CSV layouts for the context datasets (encodings.md section 3).

Pure (no Django). Each reads a whole file into a keystage.formats.kinds.DatasetFile, or raises
FormatError naming the file, the row (the header is row 1) and what to do. Columns come in any
order and any case; unknown columns are ignored and reported as a warning.

Frames (every column text unless said; `row` Int64; `dob` Date):
- pupil premium, kind `pp_csv`, frame "pupils": row, upn, laestab, surname, forenames, dob,
  pp_eligible ("Y"/"N"), pp_reason ("FSM6", "CLA", "POSTLAC", "SERVICE" or "").
- KS2 results, kind `ks2_csv`, frame "results": row, upn, laestab, surname, forenames, dob,
  sex, readscore, matscore, gpsscore (Int64, null where the cell is empty or a code such as A),
  readoutcome, matoutcome, gpsoutcome, writtaoutcome, scitaoutcome.
- KS4 results, kind `ks4_csv`, frame "results": row, upn, laestab, surname, forenames, dob, sex,
  qualtype, subject, grade (one row per pupil and qualification).
- KS5 results, kind `ks5_csv`, frame "results": row, upn, laestab, surname, forenames, dob, sex,
  qualcode (the DfE qualification code: 111 A level, 121 AS level), subjectcode (DfE subject code),
  grade, prioraps (Float64: the student's KS4 average point score; null where empty).
- extra pupil fields, kind `extra_csv`, frame "values": row, upn, laestab, field, value (long
  form: one row per pupil and named field).
"""

from __future__ import annotations

import polars as pl

from keystage.formats.csvsource import (
    ROW,
    CsvTable,
    header_of,
    parse_dates,
    parse_ints,
    read_csv,
)
from keystage.formats.errors import FormatError
from keystage.formats.kinds import DatasetFile
from keystage.formats.ks4_subjects import ks4_grades, ks4_subjects

IDENTITY = ("UPN", "LAESTAB", "SURNAME", "FORENAMES", "DOB")
PP_COLUMNS = (*IDENTITY, "PP_ELIGIBLE", "PP_REASON")
KS2_SCORES = ("READSCORE", "MATSCORE", "GPSSCORE")
KS2_COLUMNS = (*IDENTITY, "SEX", "READSCORE", "READOUTCOME", "MATSCORE", "MATOUTCOME",
               "GPSSCORE", "GPSOUTCOME", "WRITTAOUTCOME", "SCITAOUTCOME")
KS4_COLUMNS = (*IDENTITY, "SEX", "QUALTYPE", "SUBJECT", "GRADE")
KS5_COLUMNS = (*IDENTITY, "SEX", "QUALCODE", "SUBJECTCODE", "GRADE", "PRIORAPS")
# The grades of the qualifications the KS5 measures read (keystage.measures.ks5.POINTS; the
# reckoner writes A* as `*`). Other qualification codes are kept as the file gives them.
KS5_GRADES = {"111": ("A*", "*", "A", "B", "C", "D", "E", "U"),
              "121": ("A", "B", "C", "D", "E", "U")}
EXTRA_REQUIRED = ("UPN", "LAESTAB")
PP_REASONS = ("FSM6", "CLA", "POSTLAC", "SERVICE")
# The codes a KS2 test score cell may hold instead of a score (formats.md 2.4).
KS2_SCORE_CODES = ("A", "B", "D", "F", "H", "J", "L", "M", "N", "P", "Q", "T", "U", "AS", "NS",
                   "CA", "CN")

_IDENTITY_SCHEMA = {ROW: pl.Int64, "upn": pl.String, "laestab": pl.String,
                    "surname": pl.String, "forenames": pl.String, "dob": pl.Date}
SCHEMAS = {
    "pp": {**_IDENTITY_SCHEMA, "pp_eligible": pl.String, "pp_reason": pl.String},
    "ks2": {**_IDENTITY_SCHEMA, "sex": pl.String, "readscore": pl.Int64,
            "readoutcome": pl.String, "matscore": pl.Int64, "matoutcome": pl.String,
            "gpsscore": pl.Int64, "gpsoutcome": pl.String, "writtaoutcome": pl.String,
            "scitaoutcome": pl.String},
    "ks4": {**_IDENTITY_SCHEMA, "sex": pl.String, "qualtype": pl.String, "subject": pl.String,
            "grade": pl.String},
    "ks5": {**_IDENTITY_SCHEMA, "sex": pl.String, "qualcode": pl.String,
            "subjectcode": pl.String, "grade": pl.String, "prioraps": pl.Float64},
    "extra": {ROW: pl.Int64, "upn": pl.String, "laestab": pl.String, "field": pl.String,
              "value": pl.String},
}


def _has(head: bytes, columns) -> bool:
    return {c.lower() for c in columns} <= set(header_of(head))


def looks_like_pp(head: bytes) -> bool:
    """A header row with every pupil premium column."""
    return _has(head, PP_COLUMNS)


def looks_like_ks2(head: bytes) -> bool:
    """A header row with the KS2 results identity and score columns."""
    return _has(head, (*IDENTITY, *KS2_SCORES))


def looks_like_ks4(head: bytes) -> bool:
    """A header row with every KS4 results column."""
    return _has(head, KS4_COLUMNS)


def looks_like_ks5(head: bytes) -> bool:
    """A header row with every KS5 results column."""
    return _has(head, KS5_COLUMNS)


def never(head: bytes) -> bool:
    """Extra fields are any CSV keyed by UPN, so no sniff could tell one from a stray
    spreadsheet: the intake reads a file as extra fields only when the LA names its fields."""
    return False


def _identity(table: CsvTable, filename: str) -> list[pl.Expr]:
    frame = table.frame
    _check_laestab(frame, filename)
    return [
        pl.col(ROW), pl.col("upn").str.to_uppercase(), pl.col("laestab"), pl.col("surname"),
        pl.col("forenames"),
        parse_dates(frame, "dob", filename=filename, label="DOB").alias("dob"),
    ]


def _check_laestab(frame: pl.DataFrame, filename: str) -> None:
    bad = frame.filter(~pl.col("laestab").str.contains(r"^\d{7}$"))
    if bad.height:
        row, value = bad.select(ROW, "laestab").row(0)
        problem = "is empty" if not value else f"'{value[:20]}' is not 7 digits"
        raise FormatError(f"LAESTAB {problem}. Every row needs the pupil's school as its LA "
                          "number and establishment number, e.g. 3302001.", filename=filename,
                          line=row, column="LAESTAB")


def _values_in(frame: pl.DataFrame, column: str, allowed, filename: str, what: str) -> None:
    bad = frame.filter(~pl.col(column).is_in(list(allowed)))
    if bad.height:
        row, value = bad.select(ROW, column).row(0)
        raise FormatError(f"{column.upper()} '{value[:20]}' is not {what}. Correct it, then send "
                          "the file again.", filename=filename, line=row, column=column.upper())


def _file(kind: str, dataset: str, filename: str, name: str, frame: pl.DataFrame,
          table: CsvTable, year) -> DatasetFile:
    return DatasetFile(kind, dataset, filename, {name: frame.cast(SCHEMAS[dataset])},
                       year=None, warnings=table.warnings)


def read_pp(source, *, filename: str, year: int | None = None, **options) -> DatasetFile:
    """A pupil premium CSV, whole."""
    table = read_csv(source, filename=filename, required=PP_COLUMNS)
    frame = table.frame.with_columns(pl.col("pp_eligible", "pp_reason").str.to_uppercase())
    _values_in(frame, "pp_eligible", ("Y", "N"), filename, "Y or N")
    _values_in(frame, "pp_reason", ("", *PP_REASONS), filename,
               f"a pupil premium reason ({', '.join(PP_REASONS)}, or empty)")
    frame = frame.select(*_identity(table, filename), "pp_eligible", "pp_reason")
    return _file("pp_csv", "pp", filename, "pupils", frame, table, year)


def _code(column: str) -> pl.Expr:
    return pl.col(column).fill_null("").str.strip_chars().str.to_uppercase()


def read_ks2(source, *, filename: str, year: int | None = None, **options) -> DatasetFile:
    """A KS2 results CSV from the DfE, whole: scores as numbers, codes and outcomes as text."""
    table = read_csv(source, filename=filename, required=KS2_COLUMNS)
    frame = table.frame.with_columns(
        pl.col("sex", "readoutcome", "matoutcome", "gpsoutcome", "writtaoutcome",
               "scitaoutcome").str.to_uppercase())
    scores = [parse_ints(frame, c.lower(), filename=filename, codes=KS2_SCORE_CODES,
                         label=c).alias(c.lower()) for c in KS2_SCORES]
    # A code in the score cell (A, B, ...) with no outcome is the outcome: the pupil counts in
    # the subject's measures as not meeting them (methods.md 11.2), not as having no result.
    frame = frame.with_columns(
        pl.when((pl.col(f"{c}outcome").fill_null("").str.strip_chars() == "")
                & _code(f"{c}score").is_in(list(KS2_SCORE_CODES)))
        .then(_code(f"{c}score")).otherwise(pl.col(f"{c}outcome")).alias(f"{c}outcome")
        for c in ("read", "mat", "gps"))
    frame = frame.select(*_identity(table, filename), "sex", *scores, "readoutcome",
                         "matoutcome", "gpsoutcome", "writtaoutcome", "scitaoutcome")
    return _file("ks2_csv", "ks2", filename, "results", frame, table, year)


def read_ks4(source, *, filename: str, year: int | None = None, **options) -> DatasetFile:
    """A KS4 results CSV, whole; a grade a known qualification cannot take refuses the file.

    An unknown subject is kept (the cleaning rules list it for the LA to check); a grade that
    is not one of its qualification type's grades (any subject of that type) is refused, as
    no subject list change could make it valid.
    """
    table = read_csv(source, filename=filename, required=KS4_COLUMNS)
    frame = table.frame.with_columns(pl.col("sex", "qualtype", "subject", "grade")
                                     .str.to_uppercase())
    if year is not None:
        by_type: dict[str, set[str]] = {}
        for (qualification, _subject), grades in ks4_grades(year).items():
            by_type.setdefault(qualification, set()).update(grades)
        known = pl.DataFrame({"qualtype": list(by_type),
                              "_grades": [sorted(g) for g in by_type.values()]},
                             schema={"qualtype": pl.String, "_grades": pl.List(pl.String)})
        checked = frame.join(known, on="qualtype", how="inner")
        bad = checked.filter(~pl.col("grade").is_in(pl.col("_grades")))
        if bad.height:
            row, grade, qualification, subject = bad.select(
                ROW, "grade", "qualtype", "subject").row(0)
            titles = {s.subject: s.title for s in ks4_subjects(year)}
            raise FormatError(
                f"grade '{grade[:10]}' is not a {qualification} grade ({subject}"
                f"{', ' + titles[subject] if subject in titles else ''}). Correct the grade "
                "from the awarding body's results, then send the file again.",
                filename=filename, line=row, column="GRADE")
    frame = frame.select(*_identity(table, filename), "sex", "qualtype", "subject", "grade")
    return _file("ks4_csv", "ks4", filename, "results", frame, table, year)


def read_ks5(source, *, filename: str, year: int | None = None, **options) -> DatasetFile:
    """A KS5 results CSV, whole: an A or AS level grade the qualification does not have, or a
    prior attainment that is not a KS4 average point score (0 to 9), refuses the file."""
    table = read_csv(source, filename=filename, required=KS5_COLUMNS)
    frame = table.frame.with_columns(pl.col("sex", "qualcode", "subjectcode", "grade")
                                     .fill_null("").str.strip_chars().str.to_uppercase())
    bad_code = frame.filter(~pl.col("qualcode").str.contains(r"^\d{3}$"))
    if bad_code.height:
        row, value = bad_code.select(ROW, "qualcode").row(0)
        raise FormatError(f"QUALCODE '{value[:20]}' is not a DfE qualification code (three "
                          "digits: 111 for an A level, 121 for an AS level). Correct it, then "
                          "send the file again.", filename=filename, line=row, column="QUALCODE")
    for qualification, grades in KS5_GRADES.items():
        wrong = frame.filter((pl.col("qualcode") == qualification)
                             & ~pl.col("grade").is_in(list(grades)))
        if wrong.height:
            row, grade = wrong.select(ROW, "grade").row(0)
            name = "A level" if qualification == "111" else "AS level"
            raise FormatError(f"grade '{grade[:10]}' is not an {name} grade "
                              f"({', '.join(g for g in grades if g != '*')}). Correct the "
                              "grade from the awarding body's results, then send the file "
                              "again.", filename=filename, line=row, column="GRADE")
    prior = frame.with_columns(
        _prior=pl.col("prioraps").fill_null("").str.strip_chars()).with_columns(
        prioraps=pl.when(pl.col("_prior") == "").then(None)
        .otherwise(pl.col("_prior").cast(pl.Float64, strict=False)))
    wrong = prior.filter(((pl.col("_prior") != "") & pl.col("prioraps").is_null())
                         | ~pl.col("prioraps").is_between(0, 9) | pl.col("prioraps").is_nan())
    if wrong.height:
        row, value = wrong.select(ROW, "_prior").row(0)
        raise FormatError(f"PRIORAPS '{value[:20]}' is not a KS4 average point score (a number "
                          "from 0 to 9, or empty when the student has none). Correct it, then "
                          "send the file again.", filename=filename, line=row, column="PRIORAPS")
    frame = prior.select(*_identity(table, filename), "sex", "qualcode", "subjectcode",
                         pl.col("grade").replace("*", "A*"), "prioraps")
    return _file("ks5_csv", "ks5", filename, "results", frame, table, year)


def read_extra(source, *, filename: str, year: int | None = None,
               fields: dict[str, str] | None = None, **options) -> DatasetFile:
    """A CSV of the LA's own pupil fields, keyed by UPN and LAESTAB, in long form."""
    if not fields:
        raise FormatError("name the columns to keep as extra pupil fields (--fields, or the "
                          "upload page's extra fields box).", filename=filename)
    wanted = {column.strip().lower(): name.strip() for column, name in fields.items()}
    long_names = [name for name in wanted.values() if len(name) > 60 or not name]
    if long_names:
        raise FormatError(f"the field name {long_names[0][:70]!r} is empty or longer than 60 "
                          "characters. Choose a shorter name.", filename=filename)
    table = read_csv(source, filename=filename, required=EXTRA_REQUIRED, keep_all=True)
    present = set(table.frame.columns)
    missing = [c for c in fields if c.strip().lower() not in present]
    if missing:
        found = [h.strip() for h in table.header if h.strip().lower() not in ("upn", "laestab")]
        raise FormatError(f"no column named {', '.join(missing)}. The file's other columns are "
                          f"{', '.join(found) or 'none'}.", filename=filename, line=1)
    frame = table.frame
    _check_laestab(frame, filename)
    long = frame.select(ROW, pl.col("upn").str.to_uppercase(), "laestab", *wanted).unpivot(
        index=[ROW, "upn", "laestab"], on=list(wanted), variable_name="field",
        value_name="value",
    ).with_columns(pl.col("field").replace_strict(wanted)).sort(ROW, "field")
    too_long = long.filter(pl.col("value").str.len_chars() > 200)
    if too_long.height:
        row, field = too_long.select(ROW, "field").row(0)
        raise FormatError(f"the {field} value is longer than 200 characters. Shorten it, then "
                          "send the file again.", filename=filename, line=row)
    table.warnings[:] = [w for w in table.warnings if not w.startswith("columns not used")]
    return _file("extra_csv", "extra", filename, "values", long, table, year)
