"""Stored report figures: computed by the worker after a load, used while their files are
unchanged, and never shown stale."""

from __future__ import annotations

import pytest

from keystage.accounts.models import Role
from keystage.analysis.models import StoredReport
from keystage.analysis.stored import FIGURE_EVENTS, report_inputs, store_reports, stored_report
from keystage.collection.actions import do_import_batch
from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.jobs.models import Job


def _load(world, expected=17, serial=1):
    school = world.a.schools[0]
    data, _ = eyfsp_file("330", school.estab, 6, expected=expected, first_serial=serial)
    outcomes = do_import_batch([("eyfsp.xml", data)], la=world.a.la, year=2026,
                               acting_user=None, confirm_replacements=True).outcomes
    assert outcomes[0].status == "committed", outcomes[0].message


def _load_both(world):
    """Four children at a school of each LA: every ELG expected in LA 330, five in LA 331."""
    from keystage.collection.actions import import_ctf

    for part, expected in ((world.a, 17), (world.b, 5)):
        data, _ = eyfsp_file(part.la.code, part.schools[0].estab, 4, expected=expected)
        assert import_ctf("e.xml", data, la=part.la, year=2026, acting_user=None,
                          confirm_replacements=True).status == "committed"


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


def test_the_page_crosses_each_group_with_disadvantage_and_adds_extra_fields(world, login):
    from keystage.analysis.queries import report_rows

    _load(world)

    rows, _ = report_rows(world.a.la, "eyfsp", 2026, by="group", cross="disadvantaged",
                          extra_fields=True)

    groups = {(r[6], r[7]) for r in rows if r[2] == "gld"}
    # No census here: sex comes from the files, disadvantage is unknown.
    assert {v for g, v in groups if g == "sex+disadvantaged"} == {"F+unknown", "M+unknown"}
    assert not [g for g, _ in groups if g == "disadvantaged+disadvantaged"]
    page = login(world.a.users["la_analyst"]).get(
        "/reports/", {"dataset": "eyfsp", "year": 2026, "by": "group",
                      "cross": "disadvantaged"})
    assert "sex+disadvantaged" in page.content.decode()


def test_the_las_extra_pupil_fields_are_groups_on_the_page(world):
    from keystage.analysis.queries import report_rows
    from keystage.collection.models import PupilRecord

    _load(world)
    upns = list(PupilRecord.objects.values_list("upn", flat=True))
    laestab = world.a.schools[0].laestab
    extra = "UPN,LAESTAB,Young carer\n" + "".join(
        f"{u},{laestab},{'Y' if i % 2 else 'N'}\n" for i, u in enumerate(upns))
    outcome = do_import_batch([("carers.csv", extra.encode())], la=world.a.la, year=2026,
                              acting_user=None, extra_fields={"Young carer": "young_carer"})
    assert outcome.outcomes[0].status == "committed", outcome.outcomes[0].message

    rows, _ = report_rows(world.a.la, "eyfsp", 2026, by="group", extra_fields=True)

    carers = {r[7]: r[8] for r in rows if r[2] == "gld" and r[6] == "extra:young_carer"}
    assert carers == {"N": 3, "Y": 3}


def test_schools_are_ranked_among_the_deployments_schools(world):
    from keystage.analysis.queries import school_ranks

    _load_both(world)

    ranks = school_ranks("eyfsp", 2026)

    assert ranks[("avg_elgs", world.a.schools[0].laestab)] == (50, 2)
    assert ranks[("avg_elgs", world.b.schools[0].laestab)] == (100, 2)


def test_ranks_from_every_las_stored_rows_equal_the_ranks_worked_out_now(world):
    from keystage.analysis.queries import school_ranks
    from keystage.analysis.stored import current_school_rows

    _load_both(world)
    live = school_ranks("eyfsp", 2026)
    store_reports(world.a.la, 2026, datasets=["eyfsp"])
    assert current_school_rows("eyfsp", 2026) is None  # LA 331's are not stored yet

    store_reports(world.b.la, 2026, datasets=["eyfsp"])

    assert current_school_rows("eyfsp", 2026) is not None
    assert school_ranks("eyfsp", 2026) == live


def test_schools_are_plotted_against_their_share_of_disadvantaged_pupils(world, login):
    _load(world)

    page = login(world.a.users["la_analyst"]).get(
        "/reports/", {"dataset": "eyfsp", "year": 2026, "by": "school", "measure": "gld",
                      "scatter": "disadvantage"}).content.decode()

    assert 'data-chart="disadvantage-chart"' in page and 'data-testid="disadvantage"' in page
    # No census here, so nobody is known to be disadvantaged: every child has a GLD.
    assert '"x": 0.0, "y": 100.0' in page


def test_gaps_between_groups_are_the_difference_of_their_figures():
    from keystage.analysis.queries import report_gaps

    def row(level, group, value, figure):
        return ["eyfsp", 2026, "gld", level, "330", "", group, value, 10, 5, figure, "N", "",
                "", ""]

    gaps = report_gaps([row("la", "sex", "F", "70.0"), row("la", "sex", "M", "62.5"),
                        row("national", "sex", "F", "71.0"), row("national", "sex", "M", "64.0"),
                        row("la", "disadvantaged", "Y", "50.0")])

    assert gaps == [{"measure": "gld", "group": "sex", "one": "F", "other": "M", "la": 7.5,
                     "national": 7.0}]


def test_the_chart_ranks_schools_highest_first_below_the_la():
    from keystage.analysis.charts import report_bars

    def row(level, laestab, figure):
        return ["eyfsp", 2026, "gld", level, "330", laestab, "all", "all", 10, 5, figure, "N",
                "", "", ""]

    chart = report_bars([row("la", "", "60.0"), row("school", "3302001", "40.0"),
                         row("school", "3302002", "80.0")], "gld")

    assert chart["labels"] == ["LA", "3302002", "3302001"]


def test_a_schools_page_shows_it_by_group_beside_the_la_with_its_pupils(world, login, client):
    _load(world)
    school = world.a.schools[0]
    url = f"/reports/school/{school.urn}/"

    page = login(world.a.users["la_analyst"]).get(url, {"dataset": "eyfsp", "year": 2026})
    text = page.content.decode()

    assert 'data-testid="school-figures"' in text and 'data-testid="school-pupils"' in text
    assert "Pupils (6)" in text and "/pupils/" in text
    client.logout()
    own = login(world.a.users["school_user"]).get(url, {"dataset": "eyfsp", "year": 2026})
    assert own.status_code == 200 and "/pupils/" not in own.content.decode()
    assert "has not shared" in own.content.decode()


def test_a_group_page_shows_the_group_at_each_school_beside_the_la(world, login):
    _load(world)

    page = login(world.a.users["la_analyst"]).get("/reports/group/", {
        "dataset": "eyfsp", "year": 2026, "group": "sex", "value": "F"})
    text = page.content.decode()

    assert page.status_code == 200 and 'data-testid="group-report"' in text
    assert world.a.schools[0].laestab in text and 'data-chart="group-chart"' in text
    assert login(world.a.users["school_user"]).get("/reports/group/", {
        "dataset": "eyfsp", "year": 2026, "group": "sex", "value": "F"}).status_code == 403


def test_an_las_edit_of_a_pupils_result_means_its_kept_figures_are_not_shown(world):
    from keystage.cleaning.actions import current_values, do_edit_pupil
    from keystage.collection.models import PupilRecord

    _load(world)  # six children, every ELG expected: all six with a good level of development
    store_reports(world.a.la, 2026, datasets=["eyfsp"])
    record = PupilRecord.objects.filter(la=world.a.la, collection="eyfsp").order_by("pk")[0]
    elg = next(name for name, value in current_values(record).items() if value == "2")

    do_edit_pupil(record, {elg: "1"}, reason="Moderated down",
                  acting_user=world.a.users[Role.LA_DATA_OFFICER])

    rows, _, provenance = stored_report(world.a.la, "eyfsp", 2026, by=None, national=False)
    assert not provenance["stored"]
    gld = next(r for r in rows if r[2] == "gld" and r[3] == "la")
    assert gld[9] == 5  # five of the six now with a good level of development


@pytest.mark.parametrize("event_type", FIGURE_EVENTS)
def test_every_figure_changing_write_changes_the_fingerprints(world, event_type):
    from keystage.analysis.national import la_fingerprints
    from keystage.audit.log import record_event

    _load_both(world)
    national, parts = report_inputs("eyfsp", 2026).fingerprint, la_fingerprints("eyfsp", 2026)

    record_event(event_type, acting_user=None, la=world.a.la, summary="a write")

    assert report_inputs("eyfsp", 2026).fingerprint != national
    after = la_fingerprints("eyfsp", 2026)
    # Only the LA whose data changed has its part of the national picture summed again.
    assert after[world.a.la.pk] != parts[world.a.la.pk]
    assert after[world.b.la.pk] == parts[world.b.la.pk]


def test_a_register_change_of_no_one_la_changes_every_las_part(world):
    from keystage.analysis.national import la_fingerprints
    from keystage.audit.log import record_event
    from keystage.audit.models import EventType

    _load_both(world)
    parts = la_fingerprints("eyfsp", 2026)

    record_event(EventType.REGISTER_IMPORTED, acting_user=None, summary="GIAS extract")

    after = la_fingerprints("eyfsp", 2026)
    assert all(after[la] != parts[la] for la in parts)


def test_a_change_to_the_code_that_computes_figures_makes_every_kept_figure_stale(
        world, monkeypatch):
    """An upgrade that changes a measure's definition (or the characteristics, or the published
    figures) changes every fingerprint: kept reports and national parts are computed again."""
    from keystage.analysis import stored
    from keystage.analysis.national import la_fingerprints

    _load_both(world)
    national, parts = report_inputs("eyfsp", 2026).fingerprint, la_fingerprints("eyfsp", 2026)
    assert stored.figures_code_digest() == stored.figures_code_digest()

    monkeypatch.setattr(stored, "figures_code_digest", lambda: "a later version")

    assert report_inputs("eyfsp", 2026).fingerprint != national
    after = la_fingerprints("eyfsp", 2026)
    assert all(after[la] != parts[la] for la in parts)
