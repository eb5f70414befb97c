"""How each context dataset's frames become pupil records and the rows of its own tables.

Pure shaping over polars frames: `records_of(file)` gives one row per pupil record to store
(identity details, school, line) keyed by `key`, and `details_of(file, records)` the rows of the
dataset's own tables (keystage.context.models), each carrying the `key` of its record. The
intake (keystage.collection.intake) writes both with one bulk insert per table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from keystage.formats.kinds import DatasetFile
from keystage.formats.stacked import part_ids, split_parts

# The columns of the records frame, in PupilRecord's terms.
RECORD_COLUMNS = {
    "key": pl.Int64, "line": pl.Int64, "laestab": pl.String, "upn": pl.String,
    "surname": pl.String, "forename": pl.String, "middle_names": pl.String, "dob": pl.Date,
    "sex": pl.String, "ncyear": pl.String,
}


@dataclass(frozen=True)
class DetailRows:
    """Rows for one of the dataset's tables: the model's label, its fields, and a frame with
    `key` (the record's key) and those fields (`record` is filled in by the intake)."""

    model: str  # "context.FsmPeriod"
    fields: tuple[str, ...]
    frame: pl.DataFrame


def _pick(frame: pl.DataFrame, *names: str, dtype=pl.String) -> pl.Expr:
    """The first of the named columns the frame has, cast; a null column when it has none."""
    for name in names:
        if name in frame.columns:
            return pl.col(name).cast(dtype, strict=False)
    return pl.lit(None, dtype)


def _text(frame: pl.DataFrame, *names: str) -> pl.Expr:
    return _pick(frame, *names).fill_null("").str.strip_chars()


def _flag(frame: pl.DataFrame, *names: str) -> pl.Expr:
    """A yes/no column as a nullable boolean (Y/N, 1/0, true/false, or a boolean already)."""
    for name in names:
        if name in frame.columns:
            if frame.schema[name] == pl.Boolean:
                return pl.col(name)
            text = pl.col(name).cast(pl.String).str.strip_chars().str.to_uppercase()
            return (pl.when(text.is_in(["Y", "YES", "1", "TRUE", "T"])).then(True)
                    .when(text.is_in(["N", "NO", "0", "FALSE", "F"])).then(False)
                    .otherwise(None))
    return pl.lit(None, pl.Boolean)


def _line(frame: pl.DataFrame) -> pl.Expr:
    return _pick(frame, "line", "row", dtype=pl.Int64)


def _identity(frame: pl.DataFrame, laestab: pl.Expr | None = None) -> list[pl.Expr]:
    return [
        _line(frame).alias("line"),
        (laestab if laestab is not None else _text(frame, "laestab")).alias("laestab"),
        _text(frame, "upn").str.to_uppercase().alias("upn"),
        _text(frame, "surname").alias("surname"),
        _text(frame, "forename", "forenames").alias("forename"),
        _text(frame, "middle_names").alias("middle_names"),
        _pick(frame, "dob", dtype=pl.Date).alias("dob"),
        _text(frame, "sex").str.to_uppercase().alias("sex"),
        _text(frame, "ncyear").alias("ncyear"),
    ]


def _records(frame: pl.DataFrame, laestab: pl.Expr | None = None) -> pl.DataFrame:
    return frame.select(*_identity(frame, laestab)).with_row_index("key").with_columns(
        pl.col("key").cast(pl.Int64)
    ).select(list(RECORD_COLUMNS))


def _census_records(file: DatasetFile) -> pl.DataFrame:
    pupils = file.frames["pupils"]
    # Returns shaped together (shape_together) carry each pupil's school in a column.
    return _records(pupils, pl.col(_SCHOOL) if _SCHOOL in pupils.columns
                    else pl.lit(file.laestab))


def _place(frame: pl.DataFrame) -> list[str]:
    """The columns that find a pupil's element: its line, and its file when several are
    shaped together."""
    return [*(["file"] if "file" in frame.columns else []), "line"]


def _census_details(file: DatasetFile, records: pl.DataFrame) -> list[DetailRows]:
    pupils = file.frames["pupils"]
    keyed = pupils.with_row_index("key").with_columns(pl.col("key").cast(pl.Int64))
    detail = keyed.select(
        "key",
        _text(keyed, "former_upn", "former_upns").alias("former_upn"),
        _text(keyed, "uln").alias("uln"),
        _text(keyed, "preferred_surname").alias("preferred_surname"),
        _text(keyed, "former_surname").alias("former_surname"),
        _text(keyed, "ethnicity").alias("ethnicity"),
        _text(keyed, "first_language", "language").alias("first_language"),
        _text(keyed, "enrol_status").alias("enrol_status"),
        _pick(keyed, "entry_date", dtype=pl.Date).alias("entry_date"),
        _flag(keyed, "part_time").alias("part_time"),
        _text(keyed, "boarder").alias("boarder"),
        _text(keyed, "sen_provision").alias("sen_provision"),
        _flag(keyed, "fsm_eligible").alias("fsm_eligible"),
        _text(keyed, "service_child").alias("service_child"),
        _text(keyed, "adopted_from_care").alias("adopted_from_care"),
    )
    # FSM periods and SEN needs are children of a pupil element: they carry its line.
    place = _place(keyed)
    by_line = keyed.select("key", *place[:-1], _line(keyed).alias("line"))
    detail = detail.join(_attendance(file, by_line), on="key", how="left")
    rows = [DetailRows("context.CensusDetail", tuple(c for c in detail.columns if c != "key"),
                       detail)]
    fsm = file.frames.get("fsm")
    if fsm is not None and fsm.height:
        fsm = fsm.select(*place[:-1], _line(fsm).alias("line"),
                         _pick(fsm, "start", dtype=pl.Date).alias("start"),
                         _pick(fsm, "end", dtype=pl.Date).alias("end"))
        fsm = fsm.join(by_line, on=place, how="inner").select("key", "start", "end")
        rows.append(DetailRows("context.FsmPeriod", ("start", "end"), fsm))
    sen = file.frames.get("sen_needs")
    if sen is not None and sen.height:
        sen = sen.select(*place[:-1], _line(sen).alias("line"),
                         _text(sen, "sen_type", "type").alias("sen_type"),
                         _pick(sen, "rank", dtype=pl.Int64).alias("rank"))
        sen = sen.join(by_line, on=place, how="inner").select("key", "sen_type", "rank")
        rows.append(DetailRows("context.SenNeed", ("sen_type", "rank"), sen))
    return rows


_ATTENDANCE = {"key": pl.Int64, "sessions_possible": pl.Int64, "sessions_absent": pl.Int64,
               "exclusions": pl.Int64, "exclusion_sessions": pl.Int64}


def _attendance(file: DatasetFile, by_line: pl.DataFrame) -> pl.DataFrame:
    """Each pupil's termly attendance and exclusions, summed (null where the census has none)."""
    summary = by_line.select("key")
    attendance = file.frames.get("attendance")
    if attendance is not None and attendance.height:
        summed = attendance.join(by_line, on=_place(by_line)).group_by("key").agg(
            sessions_possible=pl.col("sessions_possible").sum(),
            sessions_absent=(pl.col("sessions_authorised").fill_null(0)
                             + pl.col("sessions_unauthorised").fill_null(0)).sum())
        summary = summary.join(summed, on="key", how="left")
    exclusions = file.frames.get("exclusions")
    if exclusions is not None and exclusions.height:
        counted = exclusions.join(by_line, on=_place(by_line)).group_by("key").agg(
            exclusions=pl.len(), exclusion_sessions=pl.col("sessions").fill_null(0).sum())
        summary = summary.join(counted, on="key", how="left")
    for column in _ATTENDANCE:
        if column not in summary.columns:
            summary = summary.with_columns(pl.lit(None, pl.Int64).alias(column))
    return summary.select(list(_ATTENDANCE)).cast(_ATTENDANCE)


def census_leavers(file: DatasetFile) -> pl.DataFrame:
    """The pupils a census lists as no longer on roll, in CensusLeaver's columns."""
    leavers = file.frames.get("leavers")
    if leavers is None:
        return pl.DataFrame(schema={"line": pl.Int64})
    return leavers.select(
        *_place(leavers)[:-1], _line(leavers).alias("line"),
        _text(leavers, "upn").str.to_uppercase().alias("upn"),
        _text(leavers, "surname").alias("surname"),
        _text(leavers, "forename", "forenames").alias("forename"),
        _pick(leavers, "dob", dtype=pl.Date).alias("dob"),
        _text(leavers, "sex").str.to_uppercase().alias("sex"),
        _pick(leavers, "entry_date", dtype=pl.Date).alias("entry_date"),
        _pick(leavers, "leaving_date", dtype=pl.Date).alias("leaving_date"),
    )


def _pp_records(file: DatasetFile) -> pl.DataFrame:
    return _records(file.frames["pupils"])


def _pp_details(file: DatasetFile, records: pl.DataFrame) -> list[DetailRows]:
    pupils = file.frames["pupils"].with_row_index("key").with_columns(
        pl.col("key").cast(pl.Int64))
    frame = pupils.select(
        "key", _flag(pupils, "pp_eligible", "eligible").alias("eligible"),
        _text(pupils, "pp_reason", "reason").str.to_uppercase().alias("reason"),
    )
    return [DetailRows("context.PupilPremium", ("eligible", "reason"), frame)]


_KS2_FIELDS = {
    "read_score": ("readscore", "read_score"), "read_outcome": ("readoutcome", "read_outcome"),
    "mat_score": ("matscore", "mat_score"), "mat_outcome": ("matoutcome", "mat_outcome"),
    "gps_score": ("gpsscore", "gps_score"), "gps_outcome": ("gpsoutcome", "gps_outcome"),
    "writ_ta_outcome": ("writtaoutcome", "writ_ta_outcome"),
    "sci_ta_outcome": ("scitaoutcome", "sci_ta_outcome"),
}


def _lower_columns(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename({c: c.lower() for c in frame.columns})


def _ks2_records(file: DatasetFile) -> pl.DataFrame:
    return _records(_lower_columns(file.frames["results"]))


def _ks2_details(file: DatasetFile, records: pl.DataFrame) -> list[DetailRows]:
    results = _lower_columns(file.frames["results"]).with_row_index("key").with_columns(
        pl.col("key").cast(pl.Int64))
    columns = []
    for field, names in _KS2_FIELDS.items():
        if field.endswith("_score"):
            columns.append(_pick(results, *names, dtype=pl.Int64).alias(field))
        else:
            columns.append(_text(results, *names).alias(field))
    frame = results.select("key", *columns)
    return [DetailRows("context.Ks2Result", tuple(_KS2_FIELDS), frame)]


def _ks4_rows(file: DatasetFile) -> pl.DataFrame:
    results = _lower_columns(file.frames["results"])
    return results.with_columns(
        _line(results).alias("line"), _text(results, "laestab").alias("laestab"),
        _text(results, "upn").str.to_uppercase().alias("upn"),
    )


def _ks4_records(file: DatasetFile) -> pl.DataFrame:
    # One record per candidate: their first row of the file gives the identity details.
    rows = _ks4_rows(file)
    first = rows.sort("line").unique(["laestab", "upn"], keep="first", maintain_order=True)
    return _records(first)


def _results_details(model: str, columns: dict[str, pl.Expr | tuple[str, ...]]):
    """The detail rows of a results file (KS4, KS5): each row keyed to its candidate's record,
    with the file's line and the model's `columns` (text from the first of the names given,
    or an expression)."""

    def details(file: DatasetFile, records: pl.DataFrame) -> list[DetailRows]:
        rows = _ks4_rows(file)
        keyed = rows.join(records.select("key", "laestab", "upn"), on=["laestab", "upn"],
                          how="inner")
        frame = keyed.select("key", pl.col("line").alias("row"), *(
            (_text(keyed, *source) if isinstance(source, tuple) else source).alias(name)
            for name, source in columns.items()))
        return [DetailRows(model, ("row", *columns), frame)]

    return details


_ks4_details = _results_details("context.Ks4Result", {
    "qualification": ("qualtype", "qualification"), "subject": ("subject",),
    "grade": ("grade",)})
_ks5_details = _results_details("context.Ks5Result", {
    "qualification": ("qualcode",), "subject": ("subjectcode",), "grade": ("grade",),
    "prior_aps": pl.col("prioraps").cast(pl.Float64)})


def _extra_rows(file: DatasetFile) -> pl.DataFrame:
    values = file.frames["values"]
    return values.with_columns(_line(values).alias("line"),
                               _text(values, "laestab").alias("laestab"),
                               _text(values, "upn").str.to_uppercase().alias("upn"))


def _extra_records(file: DatasetFile) -> pl.DataFrame:
    rows = _extra_rows(file)
    first = rows.sort("line").unique(["line"], keep="first", maintain_order=True)
    return _records(first)


def _extra_details(file: DatasetFile, records: pl.DataFrame) -> list[DetailRows]:
    rows = _extra_rows(file)
    keyed = rows.join(records.select("key", "line"), on="line", how="inner")
    frame = keyed.select("key", _text(keyed, "field").alias("field"),
                         _text(keyed, "value").alias("value"))
    return [DetailRows("context.ExtraValue", ("field", "value"), frame)]


@dataclass(frozen=True)
class Store:
    """How one dataset's file is stored."""

    records: Callable[[DatasetFile], pl.DataFrame]
    details: Callable[[DatasetFile, pl.DataFrame], list[DetailRows]]


STORES: dict[str, Store] = {
    "census": Store(_census_records, _census_details),
    "pp": Store(_pp_records, _pp_details),
    "ks2": Store(_ks2_records, _ks2_details),
    "ks4": Store(_ks4_records, _ks4_details),
    # KS5 has the KS4 file's shape: one record per student, a row per qualification.
    "ks5": Store(_ks4_records, _ks5_details),
    "extra": Store(_extra_records, _extra_details),
}


def records_of(file: DatasetFile) -> pl.DataFrame:
    """One row per pupil record the file gives, in RECORD_COLUMNS, keyed by `key`."""
    return STORES[file.dataset].records(file).cast(RECORD_COLUMNS)


def details_of(file: DatasetFile, records: pl.DataFrame) -> list[DetailRows]:
    """The rows of the dataset's own tables, each with its record's key."""
    return STORES[file.dataset].details(file, records)


@dataclass
class Shaped:
    """A file's rows as the intake stores them: its records, its dataset's own rows and (for a
    census) its leavers."""

    records: pl.DataFrame
    details: list[DetailRows]
    leavers: pl.DataFrame | None


def shape(file: DatasetFile) -> Shaped:
    """One file's records, detail rows and leavers."""
    records = records_of(file)
    return Shaped(records, details_of(file, records),
                  census_leavers(file) if file.dataset == "census" else None)


# The column of each pupil's school in census returns shaped together.
_SCHOOL = "file_laestab"


def shape_together(files: list[DatasetFile]) -> list[Shaped]:
    """What shape gives for each file, with one set of frame operations for all of them when
    they are census returns (the fixed cost per operation is most of a small file's shaping).
    Keys are unique across the files, not numbered from 0 in each."""
    if len(files) < 2 or any(f.dataset != "census" for f in files):
        return [shape(f) for f in files]
    frames = {}
    for name in files[0].frames:
        parts = [f.frames[name] for f in files]
        merged = pl.concat(parts, how="vertical")
        merged = merged.with_columns(part_ids([part.height for part in parts], "file"))
        if name == "pupils":
            schools = pl.DataFrame({"file": range(len(files)),
                                    _SCHOOL: [f.laestab for f in files]},
                                   schema={"file": pl.Int64, _SCHOOL: pl.String})
            merged = merged.join(schools, on="file", how="left", maintain_order="left")
        frames[name] = merged
    together = shape(DatasetFile(files[0].kind, "census", "", frames))
    owner = frames["pupils"].select("file").with_row_index("key").with_columns(
        pl.col("key").cast(pl.Int64))

    def split(frame: pl.DataFrame) -> list[pl.DataFrame]:
        if "file" not in frame.columns:
            frame = frame.join(owner, on="key", how="left", maintain_order="left")
        return split_parts(frame, len(files), frame.clear().drop("file"), "file")

    records = split(together.records)
    details = [split(d.frame) for d in together.details]
    leavers = split(together.leavers)
    return [Shaped(records[i], [DetailRows(d.model, d.fields, details[j][i])
                                for j, d in enumerate(together.details)], leavers[i])
            for i in range(len(files))]
