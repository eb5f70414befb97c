"""Import indicators: what each LA has loaded of each dataset and year, against what it expects,
and how much of the national cohort the deployment holds; no Django.

`indicator_rows(loaded, expected, national_cohorts, *, las, datasets, years)` gives one row per
LA, dataset and year in INDICATOR_COLUMNS (the `keystage indicators` layout of design.md),
including the datasets and years nothing was loaded for (zeros: the gaps an LA must chase).

- loaded: la, dataset, year, files, schools, pupils (what is current, per LA)
- expected: la, dataset, year, expected_pupils (expected cohorts, or the census count of the
  dataset's year group; absent where nothing says what to expect)
- national_cohorts: dataset, year, pupils (keystage/measures/data/national_cohorts.csv)

Percentages are to one decimal place, rounded half away from zero; `reliable` is "Y" when the
unrounded national share is at least RELIABLE_FROM (methods.md 11.2: NCER's 60% rule), else "N".
Where no national cohort size is published for a dataset and year, the deployment's own
expected pupils stand in for it (methods.md 11.2: "or the census count where none is
published"); where neither exists the national share is empty.
"""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

import polars as pl

INDICATOR_COLUMNS = (
    "la", "dataset", "year", "files", "schools", "pupils", "expected_pupils", "coverage_pct",
    "las_loaded", "national_pupils", "national_coverage_pct", "reliable",
)
RELIABLE_FROM = 60.0
NATIONAL_COHORTS_FILE = Path(__file__).with_name("data") / "national_cohorts.csv"


@cache
def national_cohorts(path: Path = NATIONAL_COHORTS_FILE) -> pl.DataFrame:
    """The national cohort size per dataset and year (comment lines start with #)."""
    with open(path, encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(line for line in handle if not line.startswith("#"))]
    return pl.DataFrame(
        [{"dataset": r["dataset"], "year": int(r["year"]), "pupils": int(r["pupils"])}
         for r in rows],
        schema={"dataset": pl.String, "year": pl.Int64, "pupils": pl.Int64})


def percent(numerator: int | None, denominator: int | None) -> str:
    """A percentage to 1 dp, half away from zero; empty when there is nothing to divide by."""
    if numerator is None or not denominator:
        return ""
    value = Decimal(numerator) * 100 / Decimal(denominator)
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def indicator_rows(loaded: pl.DataFrame, expected: pl.DataFrame, cohorts: pl.DataFrame, *,
                   las, datasets, years) -> list[dict]:
    """Every (LA, dataset, year) row of the indicators, gaps included."""
    grid = pl.DataFrame(
        [{"la": la, "dataset": d, "year": y} for la in las for d in datasets for y in years],
        schema={"la": pl.String, "dataset": pl.String, "year": pl.Int64})
    frame = (grid.join(loaded, on=["la", "dataset", "year"], how="left")
             .join(expected, on=["la", "dataset", "year"], how="left")
             .with_columns(pl.col("files", "schools", "pupils").fill_null(0)))
    national = (loaded.group_by("dataset", "year").agg(
        las_loaded=(pl.col("pupils") > 0).sum(), national_pupils=pl.col("pupils").sum()))
    stand_in = expected.group_by("dataset", "year").agg(_expected=pl.col("expected_pupils")
                                                        .sum())
    cohort = (cohorts.rename({"pupils": "_published"})
              .join(stand_in, on=["dataset", "year"], how="full", coalesce=True)
              .with_columns(_cohort=pl.coalesce("_published", "_expected"))
              .select("dataset", "year", "_cohort"))
    frame = (frame.join(national, on=["dataset", "year"], how="left")
             .join(cohort, on=["dataset", "year"], how="left")
             .with_columns(pl.col("las_loaded", "national_pupils").fill_null(0))
             .sort("la", "dataset", "year"))
    order = {code: i for i, code in enumerate(datasets)}
    rows = []
    for r in sorted(frame.iter_rows(named=True),
                    key=lambda r: (r["la"], order[r["dataset"]], r["year"])):
        share = (r["national_pupils"] * 100 / r["_cohort"]) if r["_cohort"] else None
        rows.append({
            "la": r["la"], "dataset": r["dataset"], "year": r["year"], "files": r["files"],
            "schools": r["schools"], "pupils": r["pupils"],
            "expected_pupils": "" if r["expected_pupils"] is None else r["expected_pupils"],
            "coverage_pct": percent(r["pupils"], r["expected_pupils"]),
            "las_loaded": r["las_loaded"], "national_pupils": r["national_pupils"],
            "national_coverage_pct": percent(r["national_pupils"], r["_cohort"]),
            "reliable": "Y" if share is not None and share >= RELIABLE_FROM else "N",
        })
    return rows
