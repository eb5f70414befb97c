"""Run a year's validation rules over one dataset's data and collect every issue; no Django.

The caller loads the data into the polars frames of CleaningData (schemas below); run_rules runs
each rule's check over whole columns and returns one table of issues, never stopping at the first.
The statutory collections fill pupils, results, schools, cohorts, others and earlier_phonics; a
context dataset fills pupils and schools and the frames of its own rows (census, fsm_periods,
pp, ks2, ks4, ks5, extra) and census_upns that its rules read (frames_needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from keystage.cleaning.checks import CHECK_SCHEMA, CHECKS, CONTEXT_FIELDS
from keystage.cleaning.ruleset import CLEANED_CODES, Rule, RuleSet, rule_set_for

PUPILS_SCHEMA: dict[str, pl.DataType] = {
    "pupil_id": pl.Int64(),
    "school_id": pl.Int64(),
    "upn": pl.String(),
    "surname": pl.String(),
    "forename": pl.String(),
    "dob": pl.Date(),  # null when missing or not a date
    "dob_text": pl.String(),  # as in the file, "" when missing
    "sex": pl.String(),
    "ncyear": pl.String(),
}
RESULTS_SCHEMA: dict[str, pl.DataType] = {
    "pupil_id": pl.Int64(),
    "component": pl.String(),
    "result": pl.String(),
    "is_latest": pl.Boolean(),
}
SCHOOLS_SCHEMA: dict[str, pl.DataType] = {
    "school_id": pl.Int64(),
    "laestab": pl.String(),  # LAESTAB, or the 6-digit EY URN of a PVI setting
    "name": pl.String(),
    "is_pvi": pl.Boolean(),
    "status": pl.String(),
    "in_la": pl.Boolean(),
    "has_submission": pl.Boolean(),
}
COHORTS_SCHEMA: dict[str, pl.DataType] = {
    "school_id": pl.Int64(),
    "cohort": pl.String(),
    "expected": pl.Int64(),
}
OTHERS_SCHEMA: dict[str, pl.DataType] = {
    "upn": pl.String(),
    "surname": pl.String(),
    "forename": pl.String(),
    "dob": pl.Date(),
    "sex": pl.String(),
    "collection": pl.String(),
    "year": pl.Int64(),
    "laestab": pl.String(),
}
EARLIER_PHONICS_SCHEMA: dict[str, pl.DataType] = {
    "upn": pl.String(),
    "result": pl.String(),
}
# The context datasets' own rows, one frame per table (keystage.context.models), keyed by the
# pupil_id of their record.
CENSUS_SCHEMA: dict[str, pl.DataType] = {"pupil_id": pl.Int64(), "enrol_status": pl.String()}
FSM_PERIODS_SCHEMA: dict[str, pl.DataType] = {
    "pupil_id": pl.Int64(),
    "start": pl.Date(),
    "end": pl.Date(),  # null while the period is open
}
PP_SCHEMA: dict[str, pl.DataType] = {
    "pupil_id": pl.Int64(),
    "eligible": pl.Boolean(),
    "reason": pl.String(),
}
KS2_SCHEMA: dict[str, pl.DataType] = {
    "pupil_id": pl.Int64(),
    "read_score": pl.Int64(),  # null where the pupil has no scaled score
    "mat_score": pl.Int64(),
    "gps_score": pl.Int64(),
}
KS4_SCHEMA: dict[str, pl.DataType] = {
    "pupil_id": pl.Int64(),
    "row": pl.Int64(),
    "qualification": pl.String(),
    "subject": pl.String(),
    "grade": pl.String(),
}
KS5_SCHEMA: dict[str, pl.DataType] = {
    "pupil_id": pl.Int64(),
    "row": pl.Int64(),
    "qualification": pl.String(),
    "subject": pl.String(),
    "grade": pl.String(),
    "prior_aps": pl.Float64(),  # null where the student has no KS4 prior attainment
}
EXTRA_SCHEMA: dict[str, pl.DataType] = {
    "pupil_id": pl.Int64(),
    "field": pl.String(),
    "value": pl.String(),
}
# The UPNs on any census of the LA in the year (for "a result for a pupil not in the census").
CENSUS_UPNS_SCHEMA: dict[str, pl.DataType] = {"upn": pl.String()}
# Records whose UPN is the UPN of another pupil than the one they are linked to (keystage.pupils):
# the record's id, and the name of the pupil who has that UPN.
UPN_OWNERS_SCHEMA: dict[str, pl.DataType] = {
    "pupil_id": pl.Int64(), "owner_surname": pl.String(), "owner_forename": pl.String(),
}
ISSUES_SCHEMA: dict[str, pl.DataType] = {
    "rule_code": pl.String(),
    "severity": pl.String(),
    "school_id": pl.Int64(),
    "pupil_id": pl.Int64(),  # null for school-level issues
    "laestab": pl.String(),
    "upn": pl.String(),  # "" for school-level issues
    "field": pl.String(),
    "value": pl.String(),
    "message": pl.String(),
}
FRAME_SCHEMAS = {
    "pupils": PUPILS_SCHEMA,
    "results": RESULTS_SCHEMA,
    "schools": SCHOOLS_SCHEMA,
    "cohorts": COHORTS_SCHEMA,
    "others": OTHERS_SCHEMA,
    "earlier_phonics": EARLIER_PHONICS_SCHEMA,
    "census": CENSUS_SCHEMA,
    "fsm_periods": FSM_PERIODS_SCHEMA,
    "pp": PP_SCHEMA,
    "ks2": KS2_SCHEMA,
    "ks4": KS4_SCHEMA,
    "ks5": KS5_SCHEMA,
    "extra": EXTRA_SCHEMA,
    "census_upns": CENSUS_UPNS_SCHEMA,
    "upn_owners": UPN_OWNERS_SCHEMA,
}
ISSUE_ORDER = ["laestab", "upn", "rule_code", "field"]


def _empty(name: str):
    return field(default_factory=lambda: pl.DataFrame(schema=FRAME_SCHEMAS[name]))


@dataclass
class CleaningData:
    """One dataset's data for one LA and assessment year, as the rules read it."""

    collection: str  # a dataset with rules: eyfsp | phonics | ks1 | ks2ta | mtc | census | ...
    year: int  # assessment (summer) year, e.g. 2026 for 2025/26
    pupils: pl.DataFrame
    results: pl.DataFrame  # every ResultStatus=R row; is_latest marks the one that counts
    schools: pl.DataFrame
    cohorts: pl.DataFrame  # the LA's expected cohort sizes for this year
    others: pl.DataFrame  # the LA's pupil records of other collections or years
    earlier_phonics: pl.DataFrame  # the LA's latest phonics results of the year before
    census: pl.DataFrame = _empty("census")
    fsm_periods: pl.DataFrame = _empty("fsm_periods")
    pp: pl.DataFrame = _empty("pp")
    ks2: pl.DataFrame = _empty("ks2")
    ks4: pl.DataFrame = _empty("ks4")
    ks5: pl.DataFrame = _empty("ks5")
    extra: pl.DataFrame = _empty("extra")
    census_upns: pl.DataFrame = _empty("census_upns")
    upn_owners: pl.DataFrame = _empty("upn_owners")
    term: str = ""  # the census term whose records these are; empty for every other dataset


def empty_cleaning_data(collection: str, year: int, term: str = "") -> CleaningData:
    """CleaningData with correctly typed empty frames."""
    if collection not in CLEANED_CODES:
        raise ValueError(f"unknown collection {collection!r}")
    frames = {name: pl.DataFrame(schema=schema) for name, schema in FRAME_SCHEMAS.items()}
    return CleaningData(collection=collection, year=year, term=term, **frames)


def frames_needed(rules: tuple[Rule, ...]) -> set[str]:
    """The frames beyond pupils and schools that these rules' checks read."""
    needed = set()
    for rule in rules:
        check = CHECKS[rule.check]
        needed.update(check.reads)
        if check.field_kind == "context":
            needed.update(CONTEXT_FIELDS[name][1] for name in rule.fields)
    return needed


def empty_issues() -> pl.DataFrame:
    """An issues table with no rows."""
    return pl.DataFrame(schema=ISSUES_SCHEMA)


def check_frames(data: CleaningData) -> None:
    """Raise ValueError when a frame lacks a column or has one of the wrong type."""
    if data.collection not in CLEANED_CODES:
        raise ValueError(f"unknown collection {data.collection!r}")
    for name, schema in FRAME_SCHEMAS.items():
        frame: pl.DataFrame = getattr(data, name)
        for column, dtype in schema.items():
            if column not in frame.schema:
                raise ValueError(f"CleaningData.{name} has no column {column}")
            if frame.schema[column] != dtype:
                raise ValueError(
                    f"CleaningData.{name}.{column} is {frame.schema[column]}, not {dtype}"
                )


def run_rules(data: CleaningData, rule_set: RuleSet | None = None) -> pl.DataFrame:
    """Every issue the year's rules find in the data, sorted by LAESTAB, UPN, rule and field."""
    check_frames(data)
    if rule_set is None:
        rule_set = rule_set_for(data.year)
    elif rule_set.year != data.year:
        raise ValueError(f"the rule set is for {rule_set.version}, the data for {data.year}")
    # Frames read in pieces (CSV from a database COPY) come in several chunks, and polars 2.1
    # panics on some string expressions over a filtered multi-chunk frame: one chunk each.
    data = CleaningData(**{
        name: (value.rechunk() if isinstance(value, pl.DataFrame) else value)
        for name, value in vars(data).items()
    })
    found = []
    for rule in rule_set.for_collection(data.collection):
        issues = CHECKS[rule.check](data, rule)
        if issues.height:
            found.append(
                issues.select(list(CHECK_SCHEMA)).with_columns(
                    rule_code=pl.lit(rule.code),
                    severity=pl.lit(rule.severity),
                    message=pl.lit(rule.message),
                )
            )
    if not found:
        return empty_issues()
    upns = data.pupils.lazy().select("pupil_id", "upn").unique("pupil_id")
    laestabs = data.schools.lazy().select("school_id", "laestab").unique("school_id")
    return (
        pl.concat(found)
        .lazy()
        .join(upns, on="pupil_id", how="left")
        .join(laestabs, on="school_id", how="left")
        .with_columns(pl.col("upn").fill_null(""), pl.col("laestab").fill_null(""))
        .select(list(ISSUES_SCHEMA))
        .unique()
        .sort([*ISSUE_ORDER, "pupil_id", "value"], nulls_last=True)
        .collect()
    )
