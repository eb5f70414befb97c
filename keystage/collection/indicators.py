"""Import indicators from the database: a few aggregate queries, then the pure measure."""

from __future__ import annotations

import polars as pl
from django.db.models import Count, Sum

from keystage import datasets
from keystage.collection.models import ExpectedCohort, PupilRecord, Submission, SubmissionStatus
from keystage.measures.indicators import indicator_rows, national_cohorts
from keystage.schools.models import LocalAuthority
from keystage.years import recent_years

_LOADED = {"la": pl.String, "dataset": pl.String, "year": pl.Int64, "files": pl.Int64,
           "schools": pl.Int64, "pupils": pl.Int64}
_EXPECTED = {"la": pl.String, "dataset": pl.String, "year": pl.Int64,
             "expected_pupils": pl.Int64}
# The census counts every pupil on roll once a term; the spring census is the year's count.
CENSUS_TERM = "SPR"


def indicator_years(year: int | None, la: LocalAuthority | None = None) -> list[int]:
    """The year asked for, or the five years up to the LA's current (or latest loaded) year."""
    if year is not None:
        return [year]
    latest = la.current_year.assessment_year if la is not None and la.current_year else None
    if latest is None:
        latest = (Submission.objects.order_by("-year").values_list("year", flat=True).first()
                  or 2026)
    return recent_years(latest)


def _loaded(years: list[int]) -> pl.DataFrame:
    current = Submission.objects.filter(status=SubmissionStatus.CURRENT, year__in=years)
    counts = (current.exclude(collection="census", term__in=["AUT", "SUM"])
              .values("la__code", "collection", "year")
              .annotate(files=Count("file", distinct=True), schools=Count("school",
                                                                          distinct=True),
                        pupils=Sum("pupil_count")))
    rows = [{"la": r["la__code"], "dataset": r["collection"], "year": r["year"],
             "files": r["files"], "schools": r["schools"], "pupils": r["pupils"] or 0}
            for r in counts]
    # The social care returns: files and children of each LA's current return (no schools).
    from keystage.socialcare.models import CareReturn, ReturnStatus

    current_returns = CareReturn.objects.filter(status=ReturnStatus.CURRENT, year__in=years)
    files = dict(current_returns.annotate(n=Count("files", distinct=True))
                 .values_list("pk", "n"))
    for pk, code, dataset, year_, children in current_returns.values_list(
            "pk", "la__code", "dataset", "year", "children"):
        rows.append({"la": code, "dataset": dataset, "year": year_, "files": files.get(pk, 0),
                     "schools": 0, "pupils": children})
    return pl.DataFrame(rows, schema=_LOADED)


def _expected(years: list[int]) -> pl.DataFrame:
    rows: dict[tuple, int] = {}
    for r in (ExpectedCohort.objects.filter(year__in=years)
              .values("la__code", "collection", "year").annotate(n=Sum("expected_count"))):
        key = (r["la__code"], datasets.COHORT_CODES[r["collection"]], r["year"])
        rows[key] = rows.get(key, 0) + (r["n"] or 0)
    # The spring census count of each dataset's year groups, where no cohort is set.
    census = (PupilRecord.objects.filter(
        collection="census", year__in=years, submission__status=SubmissionStatus.CURRENT,
        submission__term=CENSUS_TERM)
        .values("la__code", "year", "ncyear").annotate(n=Count("pk")))
    by_year_group: dict[tuple, int] = {}
    for r in census:
        key = (r["la__code"], r["year"], r["ncyear"].upper())
        by_year_group[key] = by_year_group.get(key, 0) + r["n"]
    set_by_la = set(rows)
    for (la, year, ncyear), count in by_year_group.items():
        for dataset in datasets.DATASETS.values():
            key = (la, dataset.code, year)
            # An expected cohort the LA set wins over the census count.
            if dataset.code == "census" or ncyear not in dataset.ncyears or key in set_by_la:
                continue
            rows[key] = rows.get(key, 0) + count
    return pl.DataFrame([{"la": la, "dataset": d, "year": y, "expected_pupils": n}
                         for (la, d, y), n in rows.items()], schema=_EXPECTED)


def indicators(*, la: LocalAuthority | None = None, year: int | None = None) -> list[dict]:
    """The indicator rows of one LA (or every LA) for a year (or the last five)."""
    years = indicator_years(year, la)
    codes = [d.code for d in datasets.DATASETS.values()
             if any(d.covers(y) for y in years)]
    las = [la.code] if la is not None else list(
        LocalAuthority.objects.order_by("code").values_list("code", flat=True))
    return indicator_rows(_loaded(years), _expected(years), national_cohorts(), las=las,
                          datasets=codes, years=years)


def national_indicators(*, year: int | None = None) -> list[dict]:
    """Deployment-wide aggregates only (for the national analyst): one row per dataset and year."""
    rows = indicators(year=year)
    seen, out = set(), []
    for r in rows:
        key = (r["dataset"], r["year"])
        if key in seen:
            continue
        seen.add(key)
        out.append({k: r[k] for k in ("dataset", "year", "las_loaded", "national_pupils",
                                      "national_coverage_pct", "reliable")})
    return out
