"""Rendering the synthetic world as files: GIAS extract, PVI settings, cohorts and truth."""

from __future__ import annotations

import csv
import datetime as dt
from functools import cache
from pathlib import Path

import polars as pl

from keystage.synth.render import (
    GIAS_COLUMNS,
    write_expected_cohorts,
    write_gias_extract,
    write_pvi_settings,
    write_truth,
)
from keystage.synth.world import PUPIL_COLUMNS, World, WorldSpec, build_world


@cache
def world() -> World:
    """A two-LA world, so LA names and codes vary within a file."""
    return build_world(WorldSpec(seed=4, la_codes=("999", "340"), primary_schools=30))


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV file, read with the standard library as a user's tool would."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_gias_extract_has_the_gias_columns(tmp_path: Path) -> None:
    path = write_gias_extract(world(), tmp_path / "gias.csv")
    header, rows = read_rows(path)
    assert header == list(GIAS_COLUMNS)
    assert len(rows) == world().schools.filter(pl.col("kind") != "pvi").height


def test_gias_extract_leaves_out_pvi_settings_which_have_their_own_file(tmp_path: Path) -> None:
    _, schools = read_rows(write_gias_extract(world(), tmp_path / "gias.csv"))
    header, settings = read_rows(write_pvi_settings(world(), tmp_path / "pvi.csv"))
    assert header == list(GIAS_COLUMNS)
    assert all(row["URN"][0] == "1" and len(row["EstablishmentNumber"]) == 4 for row in schools)
    assert settings and all(row["URN"][0] in "567" for row in settings)
    assert all(row["EstablishmentNumber"] == "" for row in settings)
    assert all(row["PhaseOfEducation (name)"] == "Nursery" for row in settings)
    assert len(schools) + len(settings) == world().schools.height


def test_gias_extract_writes_dates_day_first_and_blank_when_unknown(tmp_path: Path) -> None:
    _, rows = read_rows(write_gias_extract(world(), tmp_path / "gias.csv"))
    for row in rows:
        for column in ("OpenDate", "CloseDate"):
            if row[column]:
                dt.datetime.strptime(row[column], "%d-%m-%Y")
    closed = [row for row in rows if row["EstablishmentStatus (name)"] == "Closed"]
    assert closed and all(row["CloseDate"] for row in closed)
    assert any(row["OpenDate"] == "" for row in rows)
    assert all(
        row["CloseDate"] == "" for row in rows if row["EstablishmentStatus (name)"] == "Open"
    )


def test_gias_extract_keeps_names_and_codes_exactly(tmp_path: Path) -> None:
    _, rows = read_rows(write_gias_extract(world(), tmp_path / "gias.csv"))
    schools = world().schools.filter(pl.col("kind") != "pvi")
    expected = dict(zip(schools["urn"], schools["name"], strict=True))
    assert {row["URN"]: row["EstablishmentName"] for row in rows} == expected
    assert any("'" in name for name in expected.values())  # apostrophes survive
    names = {row["LA (code)"]: row["LA (name)"] for row in rows}
    assert names == {"999": "Keystage Demo LA (synthetic)", "340": world().las["la_name"][1]}
    assert {row["StatutoryLowAge"] for row in rows} <= {"2", "3", "4", "7", "11"}


def test_expected_cohorts_file_has_its_columns(tmp_path: Path) -> None:
    header, rows = read_rows(write_expected_cohorts(world(), tmp_path / "cohorts.csv"))
    assert header == ["LAESTAB", "Collection", "AcademicYear", "ExpectedCount"]
    assert len(rows) == world().expected_cohorts.height
    assert {row["AcademicYear"] for row in rows} == {"2025/26"}
    assert all(row["ExpectedCount"].isdigit() for row in rows)


def test_truth_has_every_pupil_with_iso_dates(tmp_path: Path) -> None:
    written = write_truth(world(), tmp_path)
    pupils_csv = tmp_path / "truth" / "pupils.csv"
    assert pupils_csv in written
    header, rows = read_rows(pupils_csv)
    assert header == list(PUPIL_COLUMNS)
    assert len(rows) == world().pupils.height
    for row in rows[:500]:
        dt.date.fromisoformat(row["dob"])
    upns = {row["upn"] for row in rows}
    assert upns == set(world().pupils["upn"])
    reread = pl.read_csv(pupils_csv, infer_schema=False)
    assert reread["elg_E01"].drop_nulls().unique().sort().to_list() == ["1", "2", "A"]
