"""The children of a social care return and its rows, from the frames the readers give; no Django.

`children_of(file)` gives one row per child of an SSDA903 or CIN census return (a DatasetFile
from keystage.formats.ssda903 or keystage.formats.cin): their identifiers as the file gives
them, sex as "M"/"F"/"", date of birth as a date where it is one, and how many rows of each
kind the return holds for them (the columns of `keystage export socialcare`). `rows_of(file)`
gives every row of every table with its columns as the file gave them, for storage.

Choices (also in the README):
- A 903 child is a row of the header table; a CIN child is a <Child>. A child named twice is
  kept twice (the schema checks report it); the counts are of every row with that child id.
- `upn` is the UPN column as the file gives it. In the 903 the UPN column holds a reason code
  (UN1 to UN10) when the UPN is unknown: it is kept as `upn_unknown` too, as the CIN
  UPNunknown is, and such a value is never used to link.
- Sex: 903 SEX 1 is M, 2 is F; CIN GenderCurrent (or the newer Sex) 1 is M, 2 is F, and
  "M"/"F" are read as they are; anything else (0 not known, 9 not specified) is "".
"""

from __future__ import annotations

import polars as pl

from keystage.formats.kinds import DatasetFile

CHILD_SCHEMA = {
    "source": pl.String, "child_id": pl.String, "line": pl.Int64, "upn": pl.String,
    "former_upn": pl.String, "upn_unknown": pl.String, "dob_text": pl.String, "dob": pl.Date,
    "sex": pl.String, "sex_code": pl.String, "ethnicity": pl.String, "episodes": pl.Int64,
    "reviews": pl.Int64, "missing": pl.Int64, "cin_details": pl.Int64,
    "assessments": pl.Int64, "cpp_plans": pl.Int64,
}
# Tables whose rows are counted per child in `export socialcare`, by source.
COUNTED = {
    "ssda903": {"episodes": "episodes", "reviews": "reviews", "missing": "missing"},
    "cin": {"cin_details": "cin_details", "assessments": "assessments", "cpp_plans": "cpp"},
}
_UNKNOWN_UPN = r"^UN\d{1,2}$"
# Column of each frame that names the child, and of each frame's line.
_CHILD_COLUMN = {"ssda903": "child", "cin": "child"}


def _sex(code: pl.Expr) -> pl.Expr:
    text = code.fill_null("").str.strip_chars().str.to_uppercase()
    return (pl.when(text.is_in(["1", "M"])).then(pl.lit("M"))
            .when(text.is_in(["2", "F"])).then(pl.lit("F")).otherwise(pl.lit("")))


def _text(frame: pl.DataFrame, column: str) -> pl.Expr:
    if column in frame.columns:
        return pl.col(column).cast(pl.String).fill_null("").str.strip_chars()
    return pl.lit("")


def _line_column(frame: pl.DataFrame) -> str | None:
    for name in ("row", "line"):
        if name in frame.columns:
            return name
    return None


def _counts(file: DatasetFile, source: str) -> pl.LazyFrame:
    """child_id and one count column per counted table (0 for a child with none), lazily."""
    parts = []
    for column, table in COUNTED[source].items():
        frame = file.frames.get(table)
        if frame is None or not frame.height:
            continue
        parts.append(frame.lazy().select(child_id=_text(frame, _CHILD_COLUMN[source]))
                     .group_by("child_id").agg(pl.len().cast(pl.Int64).alias(column)))
    counts = pl.LazyFrame(schema={"child_id": pl.String})
    for part in parts:
        counts = counts.join(part, on="child_id", how="full", coalesce=True)
    missing = [column for column in COUNTED[source]
               if column not in counts.collect_schema().names()]
    return counts.with_columns(pl.lit(None, pl.Int64).alias(column) for column in missing)


def children_of(file: DatasetFile) -> pl.DataFrame:
    """One row per child of the return, in CHILD_SCHEMA."""
    # One polars call for the whole plan (it has a fixed cost a call), on the in-memory engine.
    return children_plan(file).collect(engine="in-memory")


def children_plan(file: DatasetFile) -> pl.LazyFrame:
    """children_of's frame as a lazy plan, to be collected with others (pl.collect_all)."""
    source = file.dataset
    if source == "ssda903":
        header = file.frames.get("header", pl.DataFrame())
        line = _line_column(header)
        upn = _text(header, "upn")
        children = header.lazy().select(
            child_id=_text(header, "child"),
            line=pl.col(line).cast(pl.Int64) if line else pl.lit(0, pl.Int64),
            upn=upn,
            former_upn=pl.lit(""),
            upn_unknown=pl.when(upn.str.to_uppercase().str.contains(_UNKNOWN_UPN))
            .then(upn.str.to_uppercase()).otherwise(pl.lit("")),
            dob_text=_text(header, "dob"),
            dob=_text(header, "dob").str.strptime(pl.Date, "%d/%m/%Y", strict=False),
            sex=_sex(_text(header, "sex")),
            sex_code=_text(header, "sex"),
            ethnicity=_text(header, "ethnic"),
        )
    elif source == "cin":
        frame = file.frames.get("children", pl.DataFrame())
        line = _line_column(frame)
        sex_code = (pl.when(_text(frame, "sex") != "").then(_text(frame, "sex"))
                    .otherwise(_text(frame, "gender_current")))
        children = frame.lazy().select(
            child_id=_text(frame, "child"),
            line=pl.col(line).cast(pl.Int64) if line else pl.lit(0, pl.Int64),
            upn=_text(frame, "upn"),
            former_upn=_text(frame, "former_upn"),
            upn_unknown=_text(frame, "upn_unknown"),
            dob_text=_text(frame, "dob"),
            dob=_text(frame, "dob").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
            sex=_sex(sex_code),
            sex_code=sex_code,
            ethnicity=_text(frame, "ethnicity"),
        )
    else:
        raise ValueError(f"{file.filename}: not a social care return ({source})")
    children = children.join(_counts(file, source), on="child_id", how="left",
                             maintain_order="left")
    for column in ("episodes", "reviews", "missing", "cin_details", "assessments",
                   "cpp_plans"):
        if column in COUNTED[source]:
            children = children.with_columns(pl.col(column).fill_null(0))
        else:
            children = children.with_columns(pl.lit(None, pl.Int64).alias(column))
    return children.with_columns(source=pl.lit(source)).select(list(CHILD_SCHEMA)).cast(
        CHILD_SCHEMA)


ROW_SCHEMA = {"table": pl.String, "line": pl.Int64, "child_id": pl.String, "data": pl.String}


def rows_of(file: DatasetFile) -> pl.DataFrame:
    """Every row of every table: table, line, child id and its columns as a JSON object's text
    ({column: text}, in file order), encoded in one pass per table."""
    # Every table in one polars call (it has a fixed cost a call), on the in-memory engine.
    return rows_plan(file).collect(engine="in-memory")


def rows_plan(file: DatasetFile) -> pl.LazyFrame:
    """rows_of's frame as a lazy plan, to be collected with others (pl.collect_all)."""
    parts = [pl.LazyFrame(schema=ROW_SCHEMA)]
    child_column = _CHILD_COLUMN.get(file.dataset, "child")
    for table, frame in file.frames.items():
        if not frame.height:
            continue
        line = _line_column(frame)
        columns = [c for c in frame.columns if c != line]
        parts.append(frame.lazy().select(
            table=pl.lit(table),
            line=pl.col(line).cast(pl.Int64).fill_null(0) if line else pl.lit(0, pl.Int64),
            child_id=pl.col(child_column).cast(pl.String).fill_null("")
            if child_column in columns else pl.lit(""),
            data=pl.struct(pl.col(columns).cast(pl.String)).struct.json_encode(),
        ))
    return pl.concat(parts)
