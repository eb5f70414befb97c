"""Stored report figures: computed by the worker after a load, used while their files are
unchanged, and never shown stale."""

from __future__ import annotations

from keystage.analysis.models import StoredReport
from keystage.analysis.stored import report_inputs, store_reports, stored_report
from keystage.collection.actions import do_import_batch
from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.jobs.models import Job


def _load(world, expected=17, serial=1):
    school = world.a.schools[0]
    data, _ = eyfsp_file("330", school.estab, 6, expected=expected, first_serial=serial)
    outcomes = do_import_batch([("eyfsp.xml", data)], la=world.a.la, year=2026,
                               acting_user=None, confirm_replacements=True).outcomes
    assert outcomes[0].status == "committed", outcomes[0].message


def test_a_load_queues_the_reports_and_the_worker_stores_them(world):
    _load(world)

    assert Job.objects.filter(kind="compute-reports", la=world.a.la).count() == 1
    kept = store_reports(world.a.la, 2026, datasets=["eyfsp"])
    assert kept == 3 and StoredReport.objects.count() == 3

    rows, counted, provenance = stored_report(world.a.la, "eyfsp", 2026, by="school",
                                              national=True)
    assert counted and provenance["stored"] and provenance["files"] == 1
    assert any(r[2] == "gld" and r[3] == "school" for r in rows)


def test_stored_figures_are_not_used_once_a_file_changes(world):
    _load(world, expected=17)
    store_reports(world.a.la, 2026, datasets=["eyfsp"])
    before = report_inputs("eyfsp", 2026).fingerprint

    _load(world, expected=10)  # the school sends its file again, with other results

    assert report_inputs("eyfsp", 2026).fingerprint != before
    rows, _, provenance = stored_report(world.a.la, "eyfsp", 2026, by=None, national=True)
    assert not provenance["stored"]
    gld = next(r for r in rows if r[2] == "gld" and r[3] == "la")
    assert gld[9] == 0  # expected in only 10 ELGs: nobody has a good level of development


def test_the_report_page_says_when_and_from_what_its_figures_were_computed(world, login):
    _load(world)
    store_reports(world.a.la, 2026, datasets=["eyfsp"])

    page = login(world.a.users["la_analyst"]).get(
        "/reports/", {"dataset": "eyfsp", "year": 2026, "by": "school", "national": "on"})

    text = page.content.decode()
    assert 'data-testid="provenance"' in text and "by the background worker" in text
    assert "from 1 current file" in text
