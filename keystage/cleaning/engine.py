"""Run a year's validation rules over one collection's data and collect every issue; no Django.

The caller loads the data into the polars frames of CleaningData (schemas below); run_rules runs
each rule's check over whole columns and returns one table of issues, never stopping at the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from keystage.cleaning.checks import CHECK_SCHEMA, CHECKS
from keystage.cleaning.ruleset import RuleSet, rule_set_for
from keystage.datasets import COLLECTION_CODES

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
}
ISSUE_ORDER = ["laestab", "upn", "rule_code", "field"]


@dataclass
class CleaningData:
    """One collection's data for one LA and assessment year, as the rules read it."""

    collection: str  # eyfsp | phonics | ks1 | ks2ta | mtc
    year: int  # assessment (summer) year, e.g. 2026 for 2025/26
    pupils: pl.DataFrame
    results: pl.DataFrame  # every ResultStatus=R row; is_latest marks the one that counts
    schools: pl.DataFrame
    cohorts: pl.DataFrame  # the LA's expected cohort sizes for this year
    others: pl.DataFrame  # the LA's pupil records of other collections or years
    earlier_phonics: pl.DataFrame  # the LA's latest phonics results of the year before


def empty_cleaning_data(collection: str, year: int) -> CleaningData:
    """CleaningData with correctly typed empty frames."""
    if collection not in COLLECTION_CODES:
        raise ValueError(f"unknown collection {collection!r}")
    frames = {name: pl.DataFrame(schema=schema) for name, schema in FRAME_SCHEMAS.items()}
    return CleaningData(collection=collection, year=year, **frames)


def empty_issues() -> pl.DataFrame:
    """An issues table with no rows."""
    return pl.DataFrame(schema=ISSUES_SCHEMA)


def check_frames(data: CleaningData) -> None:
    """Raise ValueError when a frame lacks a column or has one of the wrong type."""
    if data.collection not in COLLECTION_CODES:
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
