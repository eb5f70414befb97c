"""The synthetic world's social care returns load, link to the right pupils and give the
characteristics the truth says."""

from __future__ import annotations

import csv

import polars as pl
import pytest

from keystage.cli import main
from keystage.schools.actions import do_import_establishments
from keystage.socialcare.models import CareChild
from keystage.synth import render
from keystage.synth.context_writers import write_census
from keystage.synth.socialcare_writers import write_socialcare
from keystage.synth.world import WorldSpec, build_world

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections


@pytest.fixture
def loaded(tmp_path):
    world = build_world(WorldSpec(seed=5, la_codes=("999",), primary_schools=8))
    render.write_gias_extract(world, tmp_path / "gias.csv")
    do_import_establishments((tmp_path / "gias.csv").read_bytes(), filename="gias.csv",
                             acting_user=None)
    census, _ = write_census(world, tmp_path, seed=5)
    care = write_socialcare(world, tmp_path, seed=5)
    assert main(["import", str(tmp_path / "census"), "--la", "999", "--year", "2026"]) == 0
    assert main(["import", str(care.ssda903["999"]), str(care.cin["999"]), "--la", "999",
                 "--year", "2026"]) == 0
    return care.truth, tmp_path


def test_children_link_to_their_own_pupils_and_only_those_with_a_usable_upn_fail(loaded):
    truth, _ = loaded
    links = pl.DataFrame(
        list(CareChild.objects.values_list("care_return__dataset", "child_id", "pupil__upn")),
        schema={"dataset": pl.String, "child_id": pl.String, "linked_upn": pl.String},
        orient="row")
    joined = truth.join(links, on=["dataset", "child_id"], how="inner")
    assert joined.height == truth.height

    linked = joined.filter(pl.col("linked_upn").is_not_null())
    wrong = linked.filter(pl.col("linked_upn") != pl.col("true_upn"))
    assert wrong.height == 0, wrong.to_dicts()[:3]  # precision 100%
    findable = joined.filter(pl.col("variant") == "same")
    recall = findable.filter(pl.col("linked_upn") == pl.col("true_upn")).height / findable.height
    # Pupils at schools that are closed have no census row to link to.
    assert recall >= 0.95
    assert joined.filter(pl.col("variant") == "not_at_school")["linked_upn"].null_count() \
        == joined.filter(pl.col("variant") == "not_at_school").height


def test_export_pupils_gives_the_cla_cin_and_cpp_the_truth_says(loaded):
    truth, folder = loaded
    out = folder / "pupils.csv"
    assert main(["export", "pupils", "--la", "999", "--year", "2026", "--out", str(out)]) == 0
    with out.open(newline="", encoding="utf-8") as handle:
        exported = {row["upn"]: row for row in csv.DictReader(handle)}

    checked = 0
    for row in truth.filter(pl.col("variant") == "same").iter_rows(named=True):
        pupil = exported.get(row["true_upn"])
        if pupil is None:
            continue
        checked += 1
        if row["dataset"] == "ssda903":
            # A pupil in care on the reference date is Y even if another 903 row says N.
            assert pupil["cla"] in ("Y", "N")
            if row["cla"] == "Y":
                assert pupil["cla"] == "Y", row
        else:
            assert pupil["cin"] == row["cin"] or pupil["cin"] == "Y", row
            if row["cpp"] == "Y":
                assert pupil["cpp"] == "Y", row
    assert checked > 50
    assert {p["cla"] for p in exported.values()} <= {"Y", "N"}
