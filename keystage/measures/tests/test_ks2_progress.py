"""KS1 to KS2 progress with emerging estimates (methods.md 3.2)."""

from __future__ import annotations

import polars as pl
import pytest

from keystage.measures import ks2_progress
from keystage.measures.primary import MEASURES


def _ks1(*rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["pupil_id", "RE", "WR", "MAT"], orient="row")


def _ks2(*rows) -> pl.DataFrame:
    """(pupil, laestab, READSCORE, READOUTCOME, MATSCORE, MATOUTCOME, WRITTAOUTCOME)."""
    frame = pl.DataFrame(rows, schema=["pupil_id", "laestab", "READSCORE", "READOUTCOME",
                                       "MATSCORE", "MATOUTCOME", "WRITTAOUTCOME"], orient="row")
    return frame.with_columns(la=pl.lit("330"))


@pytest.mark.parametrize(("reading", "writing", "maths", "aps"), [
    ("EXS", "EXS", "EXS", 8.0), ("GDS", "WTS", "EXS", 8.0), ("EXS", "EXS", "GDS", 9.0),
    ("WTS", "PK4", "WTS", 5.5), ("EXS", "A", "EXS", None), ("EXS", "EXS", "EM", None),
])
def test_the_ks1_prior_double_weights_maths_and_needs_all_three(reading, writing, maths, aps):
    prior = ks2_progress.ks1_prior(_ks1((1, reading, writing, maths)))

    assert (prior["ks1_aps"].to_list() or [None]) == [aps]


def test_progress_is_the_outcome_against_the_mean_of_the_pupils_prior_group():
    ks1 = _ks1((1, "EXS", "EXS", "EXS"), (2, "EXS", "EXS", "EXS"), (3, "WTS", "WTS", "WTS"),
               (4, "WTS", "WTS", "WTS"), (5, "A", "A", "A"))
    ks2 = _ks2((1, "3302001", "100", "AS", "101", "AS", "EXS"),
               (2, "3302002", "108", "AS", "105", "AS", "GDS"),
               (3, "3302001", "95", "NS", None, "N", "WTS"),
               (4, "3302002", "99", "NS", "93", "NS", "EXS"),
               (5, "3302002", "110", "AS", "110", "AS", "GDS"))

    scored = ks2_progress.pupil_progress(ks1, ks2, 2026).sort("pupil_id")

    assert scored["rea_prog"].to_list() == [-4.0, 4.0, -2.0, 2.0, None]
    # Pupil 3's maths is N: the nominal 79 (methods.md 1.3); the group's estimate is 86.
    assert scored["mat_prog"].to_list()[2:4] == [-7.0, 7.0]
    assert scored["wri_prog"].to_list()[:2] == [-5.0, 5.0]


def test_the_rows_count_every_pupil_with_a_prior_and_the_sds_come_from_them():
    ks1 = _ks1((1, "EXS", "EXS", "EXS"), (2, "EXS", "EXS", "EXS"))
    ks2 = _ks2((1, "3302001", "100", "AS", "100", "AS", "EXS"),
               (2, "3302001", "104", "AS", "102", "AS", "EXS"),
               (3, "3302001", "104", "AS", "102", "AS", "EXS"))

    rows = ks2_progress.progress_rows(ks1, ks2, 2026)
    sds = ks2_progress.national_sds(rows)

    counted = rows.filter(pl.col("counted"))
    assert counted.group_by("measure").len().sort("measure").rows() == [
        ("mat_prog", 2), ("rea_prog", 2), ("wri_prog", 2)]
    assert sds["rea_prog"] == pytest.approx(2.8284, abs=1e-4)
    assert "wri_prog" not in sds  # no spread: no interval rather than a zero-width one


def test_no_ks1_means_no_progress_rows_never_zeros():
    rows = ks2_progress.progress_rows(_ks1(), _ks2((1, "3302001", "100", "AS", "100", "AS",
                                                   "EXS")), 2025)

    assert rows.is_empty()


def test_the_progress_measures_are_registered_for_ks2_as_progress():
    codes = {m.code: m.kind for m in MEASURES if m.dataset == "ks2"}

    assert {c: codes[c] for c in ks2_progress.SUBJECTS} == dict.fromkeys(
        ks2_progress.SUBJECTS, "progress")


def _random_la(code: str, seed: int, pupils: int = 300) -> tuple[pl.DataFrame, pl.DataFrame]:
    import random

    draw = random.Random(seed)
    tas = ["EXS", "WTS", "GDS", "PK2", "A"]
    base = int(code) * 10_000
    ks1 = pl.DataFrame([(base + i, draw.choice(tas), draw.choice(tas), draw.choice(tas))
                        for i in range(pupils)], schema=["pupil_id", "RE", "WR", "MAT"],
                       orient="row")
    ks2 = pl.DataFrame([(base + i, f"{code}200{i % 3}", str(draw.randint(80, 120)), "AS",
                         draw.choice([str(draw.randint(80, 120)), None]), draw.choice(["AS", "N"]),
                         draw.choice(["WTS", "EXS", "GDS", "A"])) for i in range(pupils)],
                       schema=["pupil_id", "laestab", "READSCORE", "READOUTCOME", "MATSCORE",
                               "MATOUTCOME", "WRITTAOUTCOME"], orient="row")
    return ks1, ks2.with_columns(la=pl.lit(code))


def test_summing_each_las_prior_groups_gives_the_nations_estimates_progress_and_sds():
    from keystage.measures import primary

    las = [_random_la("330", 1), _random_la("331", 2, 150), _random_la("332", 3, 40)]
    groups = {code: pl.DataFrame({"pupil_id": ks1["pupil_id"],
                                  "sex": ["F" if p % 2 else "M" for p in ks1["pupil_id"]]})
              for code, (ks1, _) in zip(("330", "331", "332"), las, strict=True)}
    total: dict = {}
    for code, (ks1, ks2) in zip(("330", "331", "332"), las, strict=True):
        rows = ks2_progress.prior_rows(ks1, ks2, 2026)
        part = primary._sums(rows, groups[code], ("sex",), las=True)
        part.update(ks2_progress.prior_squares(rows))
        for key, (n, t) in part.items():
            before = total.get(key, (0, 0.0))
            total[key] = (before[0] + n, before[1] + t)

    sums, estimates, sds = ks2_progress.from_prior_sums(total)

    every_ks1 = pl.concat([ks1 for ks1, _ in las])
    every_ks2 = pl.concat([ks2 for _, ks2 in las])
    expected = ks2_progress.emerging_estimates(every_ks1, every_ks2, 2026).sort("ks1_aps")
    assert estimates.columns == expected.columns
    assert estimates["ks1_aps"].to_list() == expected["ks1_aps"].to_list()
    for column in expected.columns[1:]:
        assert estimates[column].to_list() == pytest.approx(expected[column].to_list())
    rows = ks2_progress.progress_rows(every_ks1, every_ks2, 2026)
    assert sds == pytest.approx(ks2_progress.national_sds(rows))
    direct = primary._sums(rows, pl.concat(groups.values()), ("sex",), las=True)
    assert set(sums) == set(direct)
    for key, (n, t) in direct.items():
        assert sums[key][0] == n
        assert sums[key][1] == pytest.approx(t, abs=1e-6)
