"""KS5 A level measures and value added against the DfE 16-18 ready reckoner (methods.md 5)."""

from __future__ import annotations

import math

import polars as pl
import pytest

from keystage.measures import ks5
from keystage.measures.primary import MEASURES


def _results(*rows) -> pl.DataFrame:
    """Rows of (pupil, qualification, subject, grade, prior) at one school of LA 330."""
    return pl.DataFrame(
        [(p, "330", "3304000", q, s, g, prior) for p, q, s, g, prior in rows],
        schema={"pupil_id": pl.Int64, "la": pl.String, "laestab": pl.String,
                "qualification": pl.String, "subject": pl.String, "grade": pl.String,
                "prior": pl.Float64}, orient="row")


def test_the_worked_example_biology_2025_estimate_and_value_added():
    # methods.md 5.2: KS4 APS 7.0 lies between (6.8457, 34.330) and (7.0014, 35.040) on the 2025
    # biology curve: estimate 35.03 points; grade A (50) is +14.97 points, +1.50 grades.
    entries = ks5.entries(_results((1, "111", "11010", "A", 7.0)), 2025)

    [entry] = entries.to_dicts()
    assert round(entry["estimate"], 2) == 35.03
    assert round(entry["va"], 2) == 14.97
    assert round(entry["va_grades"], 2) == 1.50


def test_the_worked_example_subject_interval_with_twenty_students():
    # sd_suqu 1.0679 over 20 students: SE 0.239, interval +/- 0.468 grades.
    rows = [(n, "111", "11010", "A", 7.0) for n in range(20)]

    [subject] = ks5.subject_va(ks5.entries(_results(*rows), 2025), 2025).to_dicts()

    assert subject["students"] == 20
    assert round(subject["se"], 3) == 0.239
    assert round(subject["va"] - subject["ci_low"], 3) == 0.468
    assert subject["band"] == "well above"


def test_a_prior_at_a_curve_point_takes_that_points_estimate_and_the_ends_are_reachable():
    curve = ks5.curves(2025).filter(pl.col("qual_id") == "1111110101").to_dicts()[0]
    rows = [(1, "111", "11010", "B", curve["x_11"]), (2, "111", "11010", "B", curve["x_0"]),
            (3, "111", "11010", "B", curve["x_21"]), (4, "111", "11010", "B", 10.9)]

    estimates = dict(ks5.entries(_results(*rows), 2025).select("pupil_id", "estimate")
                     .iter_rows())

    assert estimates[1] == pytest.approx(curve["y_11"])
    assert estimates[2] == pytest.approx(curve["y_0"])
    assert estimates[3] == pytest.approx(curve["y_21"])
    assert estimates[4] is None  # above the national curve: the reckoner refuses it


def test_as_levels_count_half_an_entry_and_a_subject_twice_counts_once_at_the_better_grade():
    rows = [(1, "111", "11010", "A", 6.0), (1, "111", "11010", "C", 6.0),
            (1, "111", "12210", "B", 6.0), (1, "121", "14410", "A", 6.0),
            (1, "999", "00001", "PASS", 6.0)]

    [student] = ks5.students(ks5.entries(_results(*rows), 2025)).to_dicts()

    assert student["a_levels"] == 2
    assert student["entries"] == 2.5
    assert student["points"] == 50 + 40 + 25
    assert student["aps"] == pytest.approx(115 / 2.5)


@pytest.mark.parametrize(("grades", "aaa", "aab", "aab2f"), [
    ((("11010", "A"), ("11110", "A"), ("14850", "B")), False, True, True),
    ((("11010", "A*"), ("11110", "A"), ("14850", "A")), True, True, True),
    ((("11010", "A"), ("14850", "A"), ("14890", "B")), False, True, False),
    ((("11010", "A"), ("11110", "B"), ("14850", "A")), False, True, True),
    ((("11010", "B"), ("11110", "B"), ("14850", "A")), False, False, False),
    ((("11010", "A"), ("11110", "A")), False, False, False),
])
def test_the_aab_measures_need_three_a_levels_and_two_facilitating(grades, aaa, aab, aab2f):
    rows = [(1, "111", subject, grade, 6.0) for subject, grade in grades]

    [student] = ks5.students(ks5.entries(_results(*rows), 2025)).to_dicts()

    assert (student["aaa"], student["aab"], student["aab2f"]) == (aaa, aab, aab2f)


@pytest.mark.parametrize(("aps", "grade"), [
    (33.8, "C+"), (30.0, "C"), (60.0, "A*"), (56.7, "A*-"), (36.7, "B-"), (10.0, "E"),
    (5.0, "U"), (None, ""),
])
def test_the_average_grade_is_the_nearest_third_of_a_grade(aps, grade):
    assert ks5.average_grade(aps) == grade


# One case per KS5 measure of the registry: rows in, each long row's (counted, value) out.
CASES = {
    "ks5_aps": ([(1, "111", "11010", "A", 7.0), (1, "111", "12210", "C", 7.0),
                 (1, "121", "14410", "A", 7.0)], [(True, 50.0), (True, 30.0)]),
    "ks5_best3": ([(1, "111", "11010", "A", 7.0), (1, "111", "12210", "C", 7.0),
                   (1, "111", "13910", "B", 7.0), (1, "111", "14010", "E", 7.0),
                   (2, "111", "11010", "A", 7.0)], [(True, 40.0), (False, None)]),
    "ks5_astar_a": ([(1, "111", "11010", "A", 7.0), (1, "111", "12210", "B", 7.0)],
                    [(True, 1.0), (True, 0.0)]),
    "ks5_astar_b": ([(1, "111", "11010", "B", 7.0), (1, "111", "12210", "C", 7.0)],
                    [(True, 1.0), (True, 0.0)]),
    "ks5_astar_c": ([(1, "111", "11010", "C", 7.0), (1, "111", "12210", "D", 7.0)],
                    [(True, 1.0), (True, 0.0)]),
    "ks5_astar_e": ([(1, "111", "11010", "E", 7.0), (1, "111", "12210", "U", 7.0)],
                    [(True, 1.0), (True, 0.0)]),
    "ks5_aaa": ([(1, "111", "11010", "A", 7.0), (1, "111", "12210", "A", 7.0),
                 (1, "111", "13910", "A*", 7.0)], [(True, 1.0)]),
    "ks5_aab": ([(1, "111", "11010", "A", 7.0), (1, "111", "12210", "B", 7.0),
                 (1, "111", "13910", "B", 7.0)], [(True, 0.0)]),
    "ks5_aab2f": ([(1, "111", "11010", "A", 7.0), (1, "111", "14850", "A", 7.0),
                   (1, "111", "14890", "B", 7.0)], [(True, 0.0)]),
    "ks5_va": ([(1, "111", "11010", "A", 7.0), (2, "111", "11010", "A", None)],
               [(True, pytest.approx(1.4966, abs=1e-4)), (False, None)]),
}


@pytest.mark.parametrize("measure", sorted(CASES))
def test_each_ks5_measure_counts_and_scores_each_row_as_defined(measure):
    rows, expected = CASES[measure]

    out = ks5.ks5(_results(*rows), 2025).filter(pl.col("measure") == measure).sort("pupil_id")

    got = [(c, v) for c, v in out.select("counted", "value").iter_rows()]
    assert got == expected


def test_every_ks5_measure_of_the_registry_has_a_case():
    assert {m.code for m in MEASURES if m.dataset == "ks5"} == set(CASES)


def test_a_year_without_national_curves_has_no_value_added_rows():
    out = ks5.ks5(_results((1, "111", "11010", "A", 7.0)), 2026)

    assert "ks5_va" not in set(out["measure"])
    assert "ks5_aps" in set(out["measure"])


def test_the_cohort_value_added_weights_as_levels_by_weighting_over_size():
    rows = [(1, "111", "11010", "A", 7.0), (1, "121", "14410", "A", 7.0),
            (2, "111", "12210", "B", 6.2)]
    entries = ks5.entries(_results(*rows), 2025)

    cohort = ks5.cohort_va(entries, 2025)

    va = entries.to_dicts()
    expected = sum(e["va"] * e["weighting"] / e["size"] for e in va) / sum(
        e["weighting"] for e in va) / 10
    assert cohort["va"] == pytest.approx(expected)
    assert cohort["entries"] == 3 and cohort["students"] == 2
    assert cohort["ci_high"] - cohort["va"] == pytest.approx(1.96 * cohort["se"])
    assert math.isfinite(cohort["se"]) and cohort["se"] > 0


def test_every_curve_is_monotone_with_22_points_for_every_year_held():
    for year in (2019, 2024, 2025):
        curves = ks5.curves(year)
        assert curves.height > 90
        for row in curves.iter_rows(named=True):
            xs = [row[f"x_{i}"] for i in range(22)]
            ys = [row[f"y_{i}"] for i in range(22)]
            assert xs == sorted(xs) and ys == sorted(ys), (year, row["qual_id"])


def test_subject_points_give_entries_points_per_entry_grade_and_shares():
    rows = [(1, "111", "11010", "A", 7.0), (2, "111", "11010", "C", 5.0),
            (3, "111", "11010", "B", None), (1, "121", "14410", "A", 7.0)]

    table = {r["subject"]: r for r in ks5.subject_points(ks5.entries(_results(*rows), 2025),
                                                         2025).to_dicts()}

    biology = table["11010"]
    assert (biology["name"], biology["entries"], biology["aps"], biology["grade"]) == (
        "Biology", 3, 40.0, "B")
    assert biology["astar_a"] == pytest.approx(100 / 3) and biology["astar_e"] == 100.0
    economics = table["14410"]
    assert (economics["aps"], economics["grade"], economics["astar_a"]) == (25.0, "A", 100.0)
