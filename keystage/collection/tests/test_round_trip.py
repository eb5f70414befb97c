"""A season's synthetic files load, and the export equals the truth the files were made from."""

from __future__ import annotations

import csv

import polars as pl
import pytest

from keystage.cli import main
from keystage.collection.models import Submission
from keystage.schools.actions import do_add_pvi_setting, do_import_establishments
from keystage.schools.models import LocalAuthority
from keystage.synth import render
from keystage.synth.ctf_writer import write_ctf_batch_zip, write_ctfs
from keystage.synth.world import WorldSpec, build_world

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections


@pytest.fixture
def season(tmp_path):
    world = build_world(WorldSpec(seed=11, la_codes=("999",), primary_schools=6))
    render.write_gias_extract(world, tmp_path / "gias.csv")
    render.write_expected_cohorts(world, tmp_path / "cohorts.csv")
    do_import_establishments((tmp_path / "gias.csv").read_bytes(), filename="gias.csv",
                             acting_user=None)
    la = LocalAuthority.objects.get(code="999")
    from django.db import transaction

    with transaction.atomic():
        for row in world.schools.filter(pl.col("kind") == "pvi").iter_rows(named=True):
            do_add_pvi_setting(la, urn=row["urn"], name=row["name"], acting_user=None)
    report = write_ctfs(world, tmp_path, errors=0.0, seed=11)
    write_ctf_batch_zip(report, tmp_path / "batch.zip")
    return world, report, tmp_path


def test_a_season_of_files_loads_and_exports_what_the_files_said(season):
    world, report, folder = season
    assert main(["import", str(folder / "batch.zip"), str(folder / "cohorts.csv"),
                 "--la", "999", "--year", "2026"]) == 0
    out = folder / "eyfsp.csv"
    assert main(["export", "results", "--la", "999", "--year", "2026", "--collection", "eyfsp",
                 "--out", str(out)]) == 0
    exported = {row["upn"]: row for row in csv.DictReader(out.open(encoding="utf-8"))}
    truth = world.pupils.filter(pl.col("ncyear") == "R")
    assert len(exported) == truth.height
    for pupil in truth.iter_rows(named=True):
        row = exported[pupil["upn"]]
        assert row["surname"].lower() == pupil["surname"].lower()
        assert row["dob"] == pupil["dob"].isoformat()
        assert [row[f"E{n:02d}"] for n in range(1, 18)] == [
            pupil[f"elg_E{n:02d}"] for n in range(1, 18)
        ]
        assert row["gld"] == ("1" if pupil["gld"] else "0")
        assert int(row["elgs_expected"]) == pupil["elgs_expected"]
    mtc = folder / "mtc.csv"
    assert main(["export", "results", "--la", "999", "--year", "2026", "--collection", "mtc",
                 "--out", str(mtc)]) == 0
    mtc_rows = {row["upn"]: row for row in csv.DictReader(mtc.open(encoding="utf-8"))}
    for pupil in world.pupils.filter(pl.col("ncyear") == "4").iter_rows(named=True):
        expected = str(pupil["mtc_score"]) if pupil["mtc_score"] is not None else pupil["mtc_code"]
        assert mtc_rows[pupil["upn"]]["MTC"] == expected


def test_every_file_of_the_season_becomes_a_submission(season):
    _, report, folder = season
    assert main(["import", str(folder / "ctf"), "--la", "999", "--year", "2026"]) == 0
    expected = sum(len(f.collections) for f in report.files)
    assert Submission.objects.count() == expected


@pytest.mark.django_db
def test_the_results_export_is_one_query_whatever_the_number_of_pupils(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from keystage.collection.actions import import_ctf
    from keystage.collection.queries import iter_results
    from keystage.collection.tests.ctf_builder import eyfsp_file

    for school in world.a.schools[:2]:
        data, _ = eyfsp_file("330", school.estab, 7)
        assert import_ctf(f"{school.estab}.xml", data, la=world.a.la, year=2026,
                          acting_user=None).status == "committed"

    with CaptureQueriesContext(connection) as queries:
        rows = list(iter_results(world.a.la, "eyfsp", 2026, chunk=2))

    assert len(queries) == 1
    assert len(rows) == 14 and all(len(row) == 7 + 17 + 2 for row in rows)
    assert all(row[7] for row in rows)  # each pupil's results folded into its one row
