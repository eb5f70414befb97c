"""Import indicators: coverage, gaps, the national share and its reliability, case by case."""

from __future__ import annotations

import polars as pl
import pytest

from keystage.measures.indicators import INDICATOR_COLUMNS, indicator_rows, percent

LOADED = {"la": pl.String, "dataset": pl.String, "year": pl.Int64, "files": pl.Int64,
          "schools": pl.Int64, "pupils": pl.Int64}
EXPECTED = {"la": pl.String, "dataset": pl.String, "year": pl.Int64,
            "expected_pupils": pl.Int64}
COHORTS = {"dataset": pl.String, "year": pl.Int64, "pupils": pl.Int64}


def rows(loaded=(), expected=(), cohorts=(), *, las=("330", "331"), codes=("eyfsp", "ks2"),
         years=(2025, 2026)):
    return indicator_rows(pl.DataFrame(list(loaded), schema=LOADED, orient="row"),
                          pl.DataFrame(list(expected), schema=EXPECTED, orient="row"),
                          pl.DataFrame(list(cohorts), schema=COHORTS, orient="row"),
                          las=list(las), datasets=list(codes), years=list(years))


def test_every_la_dataset_and_year_has_a_row_even_with_nothing_loaded():
    out = rows()
    assert len(out) == 2 * 2 * 2
    assert list(out[0]) == list(INDICATOR_COLUMNS)
    assert out[0] == {"la": "330", "dataset": "eyfsp", "year": 2025, "files": 0, "schools": 0,
                      "pupils": 0, "expected_pupils": "", "coverage_pct": "", "las_loaded": 0,
                      "national_pupils": 0, "national_coverage_pct": "", "reliable": "N"}


def test_coverage_is_pupils_loaded_over_pupils_expected_to_one_place():
    out = rows([("330", "eyfsp", 2026, 3, 3, 200)], [("330", "eyfsp", 2026, 300)])
    row = next(r for r in out if (r["la"], r["dataset"], r["year"]) == ("330", "eyfsp", 2026))
    assert (row["files"], row["schools"], row["pupils"], row["expected_pupils"],
            row["coverage_pct"]) == (3, 3, 200, 300, "66.7")


@pytest.mark.parametrize(("national", "cohort", "share", "reliable"), [
    (600, 1000, "60.0", "Y"), (599, 1000, "59.9", "N"), (5995, 10000, "60.0", "N"),
    (1000, 1000, "100.0", "Y"),
])
def test_the_national_share_is_reliable_from_sixty_percent_unrounded(national, cohort, share,
                                                                   reliable):
    out = rows([("330", "ks2", 2026, 1, 1, national)], cohorts=[("ks2", 2026, cohort)])
    row = next(r for r in out if (r["la"], r["dataset"], r["year"]) == ("331", "ks2", 2026))
    assert (row["las_loaded"], row["national_pupils"], row["national_coverage_pct"],
            row["reliable"]) == (1, national, share, reliable)


def test_without_a_published_cohort_the_expected_pupils_stand_in():
    out = rows([("330", "ks2", 2026, 1, 1, 50), ("331", "ks2", 2026, 1, 1, 30)],
               [("330", "ks2", 2026, 100), ("331", "ks2", 2026, 60)])
    row = next(r for r in out if (r["la"], r["dataset"], r["year"]) == ("330", "ks2", 2026))
    assert (row["las_loaded"], row["national_pupils"], row["national_coverage_pct"]) == (
        2, 80, "50.0")


@pytest.mark.parametrize(("n", "d", "text"), [(1, 8, "12.5"), (1, 3, "33.3"), (2, 3, "66.7"),
                                              (0, 5, "0.0"), (1, 0, ""), (None, 5, "")])
def test_percentages_round_half_away_from_zero(n, d, text):
    assert percent(n, d) == text
