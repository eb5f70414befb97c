"""The world's census, pupil premium, KS2 and KS4 files read back through Keystage's readers."""

from __future__ import annotations

import polars as pl

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
