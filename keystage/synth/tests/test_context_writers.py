"""The world's census, pupil premium, KS2 and KS4 files read back through Keystage's readers."""

from __future__ import annotations

import polars as pl
import pytest

from keystage.formats.census import read_census
from keystage.formats.kinds import kind_of
from keystage.formats.tabular import read_ks2, read_ks4, read_pp
from keystage.synth.context_writers import write_context_files
from keystage.synth.world import WorldSpec, build_world


def test_every_context_file_reads_back_and_holds_the_world(tmp_path):
    world = build_world(WorldSpec(seed=5, primary_schools=20))
    files = write_context_files(world, tmp_path, seed=5)
    on_roll = sum(read_census(p, filename=p.name, year=2026).frames["pupils"].height
                  for p in files.census)
    assert on_roll > 0 and files.census_zip.exists()
    for path in (*files.census[:1], files.pupil_premium, files.ks2, files.ks4):
        assert kind_of(path.read_bytes()[:65536]) is not None, path
    assert read_pp(files.pupil_premium, filename="pp.csv").frames["pupils"].height > 0
    ks2 = read_ks2(files.ks2, filename="ks2.csv").frames["results"]
    year6 = world.pupils.filter(pl.col("ncyear").cast(pl.String) == "6").height
    assert ks2.height >= year6 * 0.95
    assert read_ks4(files.ks4, filename="ks4.csv", year=2026).frames["results"].height > 0
    planted = pl.read_csv(tmp_path / "truth" / "context_planted.csv", infer_schema=False)
    assert {"ks2", "ks4"} <= set(planted["dataset"]) and planted.height > 0
    # Every planted dual registration is in two schools' census files.
    census = planted.filter(pl.col("dataset") == "census")
    for row in census.filter(pl.col("variant") == "dual_registration").iter_rows(named=True):
        holders = [p for p in files.census if row["true_upn"].encode() in p.read_bytes()]
        assert len(holders) == 2


def test_the_same_seed_writes_the_same_bytes(tmp_path):
    world = build_world(WorldSpec(seed=5, primary_schools=4))
    a = write_context_files(world, tmp_path / "a", seed=5)
    b = write_context_files(world, tmp_path / "b", seed=5)
    for left, right in ((a.ks2, b.ks2), (a.ks4, b.ks4), (a.census[0], b.census[0])):
        assert left.read_bytes() == right.read_bytes()


def test_the_ks5_file_grades_around_the_national_estimates_at_national_rates(tmp_path):
    """Sixth formers' A level points per entry near the national 34-35 (methods.md 8), value
    added centred on 0 against the DfE curves, and prior attainment driving attainment."""
    from keystage.formats.tabular import read_ks5
    from keystage.measures import ks5

    world = build_world(WorldSpec(seed=5, primary_schools=30, year=2025))
    path = write_context_files(world, tmp_path, seed=5).ks5
    assert kind_of(path.read_bytes()[:65536]).code == "ks5_csv"
    rows = read_ks5(path, filename="ks5.csv", year=2025).frames["results"]
    results = rows.select(pupil_id=pl.col("upn").rank("dense").cast(pl.Int64), la=pl.lit("330"),
                          laestab="laestab", qualification="qualcode", subject="subjectcode",
                          grade="grade", prior="prioraps")
    entries = ks5.entries(results, 2025)
    a_levels = entries.filter(pl.col("qualification") == ks5.A_LEVEL)

    assert rows["upn"].n_unique() > 100
    assert 31 <= a_levels["points"].mean() <= 38
    assert abs(ks5.cohort_va(entries, 2025)["va"]) < 0.15
    high = a_levels.filter(pl.col("prior") >= 7)["points"].mean()
    low = a_levels.filter(pl.col("prior") < 5.5)["points"].mean()
    assert high > low + 10


def test_the_ks4_file_gives_the_national_figures_it_is_calibrated_to(tmp_path):
    """Issue 14: the synthetic KS4 results come out near the national figures of 2023
    (methods.md 8: A8 46.2, grade 4+ and 5+ in English and maths 64.8% and 45.0%, EBacc entry
    39.3%, EBacc APS 4.05) when Keystage's own measures read them."""
    from keystage.measures import ks4

    world = build_world(WorldSpec(seed=3, primary_schools=60, year=2024))
    path = write_context_files(world, tmp_path, seed=3).ks4
    rows = read_ks4(path, filename="ks4.csv", year=2024).frames["results"]
    results = rows.select(pupil_id=pl.col("upn").rank("dense").cast(pl.Int64), la=pl.lit("330"),
                          laestab="laestab", subject="subject", grade="grade")

    scores = ks4.pupil_scores(results, None, 2024)

    assert scores.height > 1000
    assert scores["a8"].mean() == pytest.approx(46.2, abs=1.5)
    assert scores["em_4plus"].mean() == pytest.approx(0.648, abs=0.04)
    assert scores["em_5plus"].mean() == pytest.approx(0.450, abs=0.04)
    assert scores["ebacc_entry"].mean() == pytest.approx(0.393, abs=0.04)
    assert scores["ebacc_aps"].mean() == pytest.approx(4.05, abs=0.3)
