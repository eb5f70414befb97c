"""`keystage indicators`, the indicators page, the home widget and the national page."""

from __future__ import annotations

import csv

import pytest
from django.urls import reverse

from keystage.cli import main
from keystage.collection.actions import do_import_batch
from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.formats.tests.census_builder import census_pupil, census_xml
from keystage.measures.indicators import INDICATOR_COLUMNS

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections


def _load(world):
    school = world.a.schools[0]
    data, _ = eyfsp_file("330", school.estab, 3)
    census = census_xml("330", school.estab, [
        census_pupil(f"A33020012100{i}", ncyear="R") for i in range(1, 5)])
    do_import_batch([("eyfsp.xml", data), ("census.xml", census)], la=world.a.la, year=2026,
                    acting_user=None)


def test_indicators_write_one_row_per_la_dataset_and_year_in_the_contract_layout(world,
                                                                               tmp_path):
    _load(world)
    out = tmp_path / "ind.csv"
    assert main(["indicators", "--la", "330", "--year", "2026", "--out", str(out)]) == 0
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(INDICATOR_COLUMNS)
    by_dataset = {r["dataset"]: r for r in rows}
    assert set(by_dataset) >= {"eyfsp", "phonics", "census", "pp", "ks2", "ks4"}
    eyfsp = by_dataset["eyfsp"]
    # No expected cohort set: the spring census count of Reception stands in.
    assert (eyfsp["files"], eyfsp["schools"], eyfsp["pupils"], eyfsp["expected_pupils"],
            eyfsp["coverage_pct"], eyfsp["las_loaded"]) == ("1", "1", "3", "4", "75.0", "1")
    assert by_dataset["phonics"]["pupils"] == "0"
    assert by_dataset["census"]["pupils"] == "4"


def test_an_unknown_la_is_bad_usage(world, tmp_path):
    assert main(["indicators", "--la", "999", "--out", str(tmp_path / "x.csv")]) == 2


def test_the_page_the_home_widget_and_the_national_page_show_indicators(world, login):
    _load(world)
    client = login(world.a.users["la_data_officer"])
    page = client.get(reverse("collection:indicators")).content.decode()
    assert "Nothing loaded" in page and "EYFSP" in page
    response = client.get(reverse("collection:indicators"), {"format": "csv"})
    csv_text = b"".join(response.streaming_content).decode()
    assert csv_text.splitlines()[0].lstrip("\ufeff") == ",".join(INDICATOR_COLUMNS)
    home = client.get(reverse("core:home")).content.decode()
    assert 'data-testid="home-indicators"' in home
    national = login(world.national).get(reverse("core:national")).content.decode()
    assert 'data-testid="national-indicators"' in national and "EYFSP" in national
    assert "A330200121001" not in national
    # Another LA sees its own (empty) indicators, never LA 330's.
    other = login(world.b.users["la_data_officer"]).get(reverse("collection:indicators"))
    assert "3 pupils" not in other.content.decode()
