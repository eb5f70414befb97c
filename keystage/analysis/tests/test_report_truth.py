"""`keystage report` against figures worked out independently from the synthetic world's truth
(issue 12, "done when"): every statutory measure of the CTF collections, for each LA, each
school and the emerging national level, recomputed here in plain Python from methods.md 11.2."""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from keystage.cli import main
from keystage.schools.actions import do_import_establishments
from keystage.synth import render
from keystage.synth.ctf_writer import write_ctfs
from keystage.synth.world import WorldSpec, build_world

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections
TA_VALID = {"GDS", "EXS", "WTS", "PK1", "PK2", "PK3", "PK4", "PK5", "PK6", "EM", "A", "D", "Q"}
ELGS = [f"elg_E{n:02d}" for n in range(1, 18)]


def _text(value) -> str:
    return "" if value is None else str(value).strip().upper()


def truth_outcomes(pupil: dict) -> list[tuple[str, str, bool, float]]:
    """(dataset, measure, counted, value) of one true pupil, straight from methods.md 11.2."""
    out = []
    year = _text(pupil["ncyear"])
    if year == "R":
        elgs = [_text(pupil[e]) for e in ELGS]
        recorded = all(v in ("1", "2", "A") for v in elgs)
        gld = all(v == "2" for v in elgs[:12]) and "A" not in elgs
        out += [("eyfsp", "gld", recorded, float(gld)),
                ("eyfsp", "all_elgs", recorded, float(all(v == "2" for v in elgs))),
                ("eyfsp", "avg_elgs", recorded, float(sum(v == "2" for v in elgs)))]
    if year == "1":
        mark, code = pupil["phonics_mark"], _text(pupil["phonics_code"])
        valid = (mark is not None and mark <= 40) or code in ("A", "D", "Q")
        out.append(("phonics", "y1_met", valid, float(mark is not None and mark >= 32)))
    if year == "2":
        for measure, column in (("rea_exs", "ks1_RE"), ("wri_exs", "ks1_WR"),
                                ("mat_exs", "ks1_MAT"), ("sci_exs", "ks1_SCI")):
            value = _text(pupil[column])
            valid = value in TA_VALID | ({"HNM"} if column == "ks1_SCI" else set())
            out.append(("ks1", measure, valid, float(value in ("EXS", "GDS"))))
    if year == "6":
        writing, science = _text(pupil["ks2ta_WR"]), _text(pupil["ks2ta_SCI"])
        out += [("ks2ta", "wri_exs", writing in TA_VALID, float(writing in ("EXS", "GDS"))),
                ("ks2ta", "wri_gds", writing in TA_VALID, float(writing == "GDS")),
                ("ks2ta", "sci_exs", science in TA_VALID | {"HNM"},
                 float(science in ("EXS", "GDS")))]
    if year == "4":
        score, code = pupil["mtc_score"], _text(pupil["mtc_code"])
        has_score = score is not None and score <= 25
        out += [("mtc", "mtc_avg", has_score, float(score or 0)),
                ("mtc", "mtc_full", has_score or code in ("A", "B", "U", "NAA", "H", "Q"),
                 float(score == 25))]
    return out


def expected_cells(world) -> dict:
    """(dataset, measure, level, la, laestab) -> (pupils, total) from the truth."""
    cells: dict = defaultdict(lambda: [0, 0.0])
    schools = {s["urn"]: s for s in world.schools.iter_rows(named=True)}
    for pupil in world.pupils.iter_rows(named=True):
        school = schools[pupil["urn"]]
        if school["kind"] == "pvi":
            continue
        for dataset, measure, counted, value in truth_outcomes(pupil):
            if not counted:
                continue
            for key in ((dataset, measure, "la", pupil["la_code"], ""),
                        (dataset, measure, "school", pupil["la_code"],
                         school["laestab"] or school["urn"]),
                        (dataset, measure, "national", "", "")):
                cells[key][0] += 1
                cells[key][1] += value
    return cells


@pytest.fixture
def loaded(tmp_path):
    world = build_world(WorldSpec(seed=3, la_codes=("330", "331"), primary_schools=3,
                                  year=2026))
    render.write_gias_extract(world, tmp_path / "gias.csv")
    do_import_establishments((tmp_path / "gias.csv").read_bytes(), filename="gias.csv",
                             acting_user=None)
    written = write_ctfs(world, tmp_path, errors=0.0, seed=3)
    for code in ("330", "331"):
        # PVI settings are left out: the register here holds the schools only.
        paths = [str(f.path) for f in written.files if f.la_code == code
                 and len(f.laestab) == 7]
        assert main(["import", *paths, "--la", code, "--year", "2026", "--yes"]) == 0
    return world, written


def _report(tmp_path, dataset: str, la: str) -> list[dict]:
    out = tmp_path / f"{dataset}_{la}.csv"
    assert main(["report", dataset, "--la", la, "--year", "2026", "--by", "school",
                 "--national", "--out", str(out)]) == 0
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_report_gives_the_figures_worked_out_from_the_truth(loaded, tmp_path):
    world, written = loaded
    expected = expected_cells(world)
    checked = 0
    for dataset in ("eyfsp", "phonics", "ks1", "ks2ta", "mtc"):
        for la in ("330", "331"):
            for row in _report(tmp_path, dataset, la):
                if row["group"] != "all" or row["measure"] == "y2_met_by_end":
                    continue
                key = (dataset, row["measure"], row["level"], row["la"], row["laestab"])
                pupils, total = expected[key]
                assert int(row["pupils"]) == pupils, (key, row)
                if row["suppressed"] == "N":
                    assert float(row["numerator"]) == pytest.approx(total), (key, row)
                    share = 100 * total / pupils if row["measure"] not in (
                        "avg_elgs", "mtc_avg") else total / pupils
                    assert float(row["value"]) == pytest.approx(share, abs=0.051), (key, row)
                checked += 1
    assert checked > 100
