"""Moderation exports: one school's pupil results and headline summary for each collection."""

from __future__ import annotations

import polars as pl

from keystage.collection.models import AssessmentResult, PupilRecord
from keystage.core.bulk import read_frame
from keystage.datasets import threshold

SUMMARY_COLUMNS = ["collection", "measure", "pupils", "value"]
_PUPILS = {"pupil_id": pl.Int64, "ncyear": pl.String, "gld": pl.Boolean, "elgs_expected": pl.Int64}
_RESULTS = {"pupil_id": pl.Int64, "component": pl.String, "result": pl.String}


def summarise(collection: str, pupils: pl.DataFrame, results: pl.DataFrame) -> list[tuple]:
    """Headline measures of one school's collection, as (measure, pupils, value) rows.

    Definitions follow methods.md section 4: GLD over every pupil with a complete record
    (A counts as not at expected); phonics over Year 1, the registry's pass mark; KS TA at the
    expected standard or above (EXS or GDS); MTC the mean of the scores (codes excluded).
    """

    def share(hits: int, base: int) -> str:
        return f"{100 * hits / base:.1f}%" if base else ""

    def at_least_expected(component: str, base: int) -> tuple:
        hits = results.filter(
            (pl.col("component") == component) & pl.col("result").is_in(["EXS", "GDS"])
        ).height
        return (f"{component} at expected or above", base, share(hits, base))

    if collection == "eyfsp":
        assessed = pupils.filter(pl.col("gld").is_not_null())
        mean = assessed["elgs_expected"].mean()
        return [
            (
                "Good level of development",
                assessed.height,
                share(assessed["gld"].sum(), assessed.height),
            ),
            ("Average ELGs at expected", assessed.height, "" if mean is None else f"{mean:.1f}"),
        ]
    if collection == "phonics":
        pass_mark = threshold("phonics", "pass_mark")
        rows = []
        for year_group, label in (("1", "Year 1"), ("2", "Year 2 retakes")):
            ids = pupils.filter(pl.col("ncyear") == year_group)["pupil_id"]
            marks = results.filter(
                pl.col("pupil_id").is_in(ids.implode()) & (pl.col("component") == "PSC")
            )
            met = marks.filter(
                pl.col("result").str.contains(r"^\d+$")
                & (pl.col("result").cast(pl.Int64, strict=False) >= pass_mark)
            ).height
            rows.append((f"{label} meeting the standard", ids.len(), share(met, ids.len())))
        return rows
    if collection == "ks1":
        return [at_least_expected(c, pupils.height) for c in ("RE", "WR", "MAT", "SCI")]
    if collection == "ks2ta":
        return [at_least_expected(c, pupils.height) for c in ("WR", "SCI")]
    if collection == "mtc":
        scores = results.filter(
            (pl.col("component") == "MTC") & pl.col("result").str.contains(r"^\d+$")
        )
        values = scores["result"].cast(pl.Int64)
        full = threshold("mtc", "full_marks")
        return [
            ("Mean score", scores.height, f"{values.mean():.1f}" if scores.height else ""),
            (f"Full marks ({full})", scores.height, share((values == full).sum(), scores.height)),
        ]
    return []


def school_summary(school, year: int, collections) -> list[tuple]:
    """Summary rows (collection, measure, pupils, value) for one school's loaded collections."""
    rows = []
    for collection in collections:
        pupils = read_frame(
            f"SELECT id, ncyear, CASE WHEN gld IS NULL THEN NULL WHEN gld THEN 1 ELSE 0 END, "  # noqa: S608
            f"elgs_expected FROM {PupilRecord._meta.db_table} "
            f"WHERE school_id = %s AND collection = %s AND year = %s",
            (school.pk, collection, year),
            _PUPILS,
        )
        if pupils.is_empty():
            continue
        results = read_frame(
            f"SELECT r.pupil_id, r.component, r.result FROM {AssessmentResult._meta.db_table} r "  # noqa: S608
            f"JOIN {PupilRecord._meta.db_table} p ON p.id = r.pupil_id "
            f"WHERE p.school_id = %s AND p.collection = %s AND p.year = %s AND r.is_latest",
            (school.pk, collection, year),
            _RESULTS,
        )
        rows += [(collection, *row) for row in summarise(collection, pupils, results)]
    return rows
