"""The cleaning pages: overview, issue grid, school reports, pupils, LA edits, tenancy."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from keystage.accounts.models import Role
from keystage.audit.models import AuditEvent, EventType
from keystage.cleaning.actions import do_edit_pupil, do_run_cleaning
from keystage.cleaning.models import Issue, LaEdit
from keystage.collection.actions import import_ctf
from keystage.collection.models import PupilRecord, RetiredPupilRecord
from keystage.collection.tests.ctf_builder import ctf, eyfsp_file, eyfsp_rows, pupil_xml
from keystage.formats.upn import check_letter

pytestmark = pytest.mark.django_db


def _load(part, school_index=0, count=3, *, bad_upn=True, name="school.xml"):
    """An EYFSP file for one school of an LA: clean pupils, plus one with a wrong check letter."""
    school = part.schools[school_index]
    data, upns = eyfsp_file(part.la.code, school.estab, count)
    if bad_upn:
        wrong = ("B" if upns[0][0] != "B" else "C") + upns[0][1:]
        data = data.replace(upns[0].encode(), wrong.encode())
    outcome = import_ctf(name, data, la=part.la, year=2026, acting_user=None,
                         confirm_replacements=True)
    assert outcome.status == "committed", outcome.message
    do_run_cleaning(part.la, "eyfsp", 2026, acting_user=None, trigger="import")
    return school


@pytest.fixture
def loaded(world):
    """Both LAs with an EYFSP file from their first school, each with one bad UPN."""
    _load(world.a)
    _load(world.b)
    return world


def _pupil(part) -> PupilRecord:
    return PupilRecord.objects.filter(la=part.la).order_by("id").first()


# -- The LA overview and the issue grid ---------------------------------------------------


def test_the_overview_counts_errors_by_rule_and_school_for_an_la_data_officer(loaded, login):
    client = login(loaded.a.users[Role.LA_DATA_OFFICER])

    response = client.get("/cleaning/?collection=eyfsp&year=2026")

    assert response.status_code == 200
    rules = {r["rule_code"]: r["issues"] for r in response.context["rules"]}
    assert rules == {"GEN003": 1}
    schools = response.context["grid"].rows
    assert [(s["laestab"], s["errors"]) for s in schools] == [
        (loaded.a.schools[0].laestab, 1)
    ]
    assert "Check again now" in response.content.decode()


def test_the_overview_says_what_changed_since_the_previous_check(loaded, login):
    school = loaded.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 3)
    import_ctf("fixed.xml", data, la=loaded.a.la, year=2026, acting_user=None,
               confirm_replacements=True)
    do_run_cleaning(loaded.a.la, "eyfsp", 2026, acting_user=None, trigger="import")
    client = login(loaded.a.users[Role.LA_ANALYST])

    response = client.get("/cleaning/?collection=eyfsp&year=2026")

    run = response.context["run"]
    assert (run.errors, run.new_issues, run.resolved_issues) == (0, 0, 1)
    assert run.changes["resolved"] == {"GEN003": 1}
    assert "Check again now" not in response.content.decode()  # analysts read only


def test_the_issue_grid_filters_sorts_and_downloads_in_the_report_layout(loaded, login):
    _load(loaded.a, 1, name="second.xml")
    client = login(loaded.a.users[Role.LA_DATA_OFFICER])
    second = loaded.a.schools[1].laestab

    filtered = client.get(f"/cleaning/issues/?collection=eyfsp&year=2026&school={second}")
    ordered = client.get("/cleaning/issues/?collection=eyfsp&year=2026&sort=-school")
    download = client.get("/cleaning/issues/?collection=eyfsp&year=2026&format=csv")

    assert [i.laestab for i in filtered.context["grid"].rows] == [second]
    laestabs = [i.laestab for i in ordered.context["grid"].rows]
    assert laestabs == sorted(laestabs, reverse=True) and len(laestabs) == 2
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert lines[0] == "rule_code,severity,laestab,upn,field,value,message"
    assert len(lines) == 3 and all(line.startswith("GEN003,error,") for line in lines[1:])


def test_the_issue_grid_pages_at_the_users_page_size_in_a_fixed_number_of_queries(
    world, login
):
    school = world.a.schools[0]
    pupils = [pupil_xml(f"X{n:012d}", "Smith", "Ann", "2020-11-02", "F", "R",
                        eyfsp_rows(["2"] * 17)) for n in range(30)]
    import_ctf("many.xml", ctf("330", school.estab, pupils), la=world.a.la, year=2026,
               acting_user=None)
    do_run_cleaning(world.a.la, "eyfsp", 2026, acting_user=None)
    user = world.a.users[Role.LA_DATA_OFFICER]
    user.page_size = 10
    user.save()
    client = login(user)
    client.get("/cleaning/issues/?collection=eyfsp&year=2026")  # warm the session

    with CaptureQueriesContext(connection) as first:
        page_one = client.get("/cleaning/issues/?collection=eyfsp&year=2026")
    with CaptureQueriesContext(connection) as later:
        client.get("/cleaning/issues/?collection=eyfsp&year=2026&page=3")

    assert len(page_one.context["grid"].rows) == 10
    assert page_one.context["grid"].page.paginator.count >= 30
    assert len(first) == len(later) <= 8


# -- School reports -----------------------------------------------------------------------


def test_a_school_report_downloads_as_csv_and_xlsx_with_pupil_names(loaded, login):
    school = loaded.a.schools[0]
    client = login(loaded.a.users[Role.LA_DATA_OFFICER])
    base = f"/cleaning/schools/{school.urn}/?collection=eyfsp&year=2026"

    page = client.get(base)
    as_csv = b"".join(client.get(base + "&format=csv").streaming_content).decode()
    as_xlsx = client.get(base + "&format=xlsx")

    assert page.status_code == 200 and "1</strong> error" in page.content.decode()
    header, row = as_csv.splitlines()
    assert header == "rule_code,severity,laestab,upn,surname,forename,field,value,message"
    assert row.startswith(f"GEN003,error,{school.laestab},") and ",Smith,Childa,UPN," in row
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert [c.value for c in sheet[2]][:2] == ["GEN003", "error"]


def test_a_school_user_sees_its_own_report_and_is_sent_there_from_the_overview(loaded, login):
    client = login(loaded.a.users[Role.SCHOOL_USER])  # works at schools[0]
    own = loaded.a.schools[0]

    overview = client.get("/cleaning/?collection=eyfsp&year=2026")
    report = client.get(f"/cleaning/schools/{own.urn}/?collection=eyfsp&year=2026")

    assert overview.status_code == 302 and f"/cleaning/schools/{own.urn}/" in overview.url
    assert report.status_code == 200
    assert "send it to the LA" in report.content.decode()


@pytest.mark.parametrize("which", ["own-la-other-school", "other-la-school"])
def test_a_school_user_gets_404_for_any_other_schools_report(loaded, login, which):
    _load(loaded.a, 1, name="second.xml")
    other = loaded.a.schools[1] if which == "own-la-other-school" else loaded.b.schools[0]
    client = login(loaded.a.users[Role.SCHOOL_USER])

    response = client.get(f"/cleaning/schools/{other.urn}/?collection=eyfsp&year=2026&format=csv")

    assert response.status_code == 404


# -- Tenancy: every role of LA 330 gets 404 for LA 331's cleaning objects ------------------

LA_ROLES = [r.value for r in Role if r not in (Role.NATIONAL_ANALYST, Role.AGENCY_USER)]


@pytest.mark.parametrize("page", ["school", "school-csv", "pupil", "pupil-at", "pupil-edit",
                                  "pupil-edit-post"])
@pytest.mark.parametrize("role", [*LA_ROLES, Role.NATIONAL_ANALYST.value])
def test_every_cleaning_page_answers_404_for_another_las_objects(loaded, login, role, page):
    user = loaded.national if role == Role.NATIONAL_ANALYST else loaded.a.users[role]
    client = login(user)
    school = loaded.b.schools[0]
    pupil = _pupil(loaded.b)
    urls = {
        "school": f"/cleaning/schools/{school.urn}/?collection=eyfsp&year=2026",
        "school-csv": f"/cleaning/schools/{school.urn}/?collection=eyfsp&year=2026&format=csv",
        "pupil": f"/cleaning/pupils/{pupil.pk}/",
        "pupil-at": f"/cleaning/pupils/eyfsp/2026/{school.urn}/{pupil.upn}/",
        "pupil-edit": f"/cleaning/pupils/{pupil.pk}/edit/",
        "pupil-edit-post": f"/cleaning/pupils/{pupil.pk}/edit/",
    }

    if page == "pupil-edit-post":
        response = client.post(urls[page], {"f_Surname": "Changed", "reason": "probe"})
    else:
        response = client.get(urls[page])

    assert response.status_code == 404
    pupil.refresh_from_db()
    assert pupil.surname == "Smith"


@pytest.mark.parametrize("role", LA_ROLES)
def test_la_wide_cleaning_lists_show_nothing_of_another_la(loaded, login, role):
    client = login(loaded.a.users[role])

    response = client.get("/cleaning/issues/?collection=eyfsp&year=2026&format=csv")

    if role in (Role.LA_DATA_OFFICER, Role.LA_ANALYST, Role.LA_ADMIN, Role.SCHOOL_USER):
        text = b"".join(response.streaming_content).decode()
        assert loaded.b.schools[0].laestab not in text
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(("role", "status"), [
    (Role.LA_DATA_OFFICER, 200), (Role.LA_ANALYST, 403), (Role.LA_ADMIN, 403),
    (Role.SCHOOL_USER, 403), (Role.TRANSFER_OFFICER, 403), (Role.LOST_PUPILS_OFFICER, 403),
])
def test_only_la_data_officers_may_open_the_edit_page_of_their_own_pupils(
    loaded, login, role, status
):
    client = login(loaded.a.users[role])
    pupil = _pupil(loaded.a)

    assert client.get(f"/cleaning/pupils/{pupil.pk}/edit/").status_code == status


def test_the_national_analyst_gets_403_from_the_la_cleaning_pages(loaded, login):
    client = login(loaded.national)

    assert client.get("/cleaning/").status_code == 403
    assert client.get("/cleaning/issues/").status_code == 403
    assert client.get("/cleaning/rules/").status_code == 200  # the catalogue is public


# -- LA edits -----------------------------------------------------------------------------


def test_an_la_edit_corrects_a_upn_records_the_reason_and_clears_the_error(loaded, login):
    pupil = Issue.objects.get(la=loaded.a.la, rule_code="GEN003").pupil
    wrong = pupil.upn
    fixed = check_letter(wrong[1:]) + wrong[1:]
    client = login(loaded.a.users[Role.LA_DATA_OFFICER])

    page = client.get(f"/cleaning/pupils/{pupil.pk}/", follow=True)
    response = client.post(f"/cleaning/pupils/{pupil.pk}/edit/", {
        "f_UPN": fixed, "reason": "School phoned: typo in the check letter",
        "school_confirmed": "yes",
    })

    assert "overwritten" in page.content.decode()
    assert response.status_code == 302
    pupil.refresh_from_db()
    assert pupil.upn == fixed
    edit = LaEdit.objects.get()
    assert (edit.field, edit.old_value, edit.new_value, edit.school_confirmed) == (
        "UPN", wrong, fixed, True)
    event = AuditEvent.objects.filter(event_type=EventType.PUPIL_EDITED).get()
    assert event.reason == "School phoned: typo in the check letter"
    assert event.extra_data["old"] == {"UPN": wrong}
    assert event.extra_data["new"] == {"UPN": fixed}
    assert event.acting_user == loaded.a.users[Role.LA_DATA_OFFICER]
    assert not Issue.objects.filter(la=loaded.a.la, rule_code="GEN003").exists()


def test_an_la_edit_without_a_reason_is_refused_and_changes_nothing(loaded, login):
    pupil = _pupil(loaded.a)
    client = login(loaded.a.users[Role.LA_DATA_OFFICER])

    response = client.post(f"/cleaning/pupils/{pupil.pk}/edit/",
                           {"f_Surname": "Jones", "reason": " "})

    assert response.status_code == 400
    assert "Enter the reason" in response.content.decode()
    pupil.refresh_from_db()
    assert pupil.surname == "Smith" and not LaEdit.objects.exists()


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("f_E05", "3", "EYF"), ("f_Sex", "X", "GEN"), ("f_UPN", "A12345", "GEN"),
])
def test_an_la_edit_that_would_make_a_value_invalid_is_refused_with_the_rules_message(
    loaded, login, field, value, rule
):
    pupil = PupilRecord.objects.filter(la=loaded.a.la).order_by("-id").first()  # a clean one
    client = login(loaded.a.users[Role.LA_DATA_OFFICER])
    before = PupilRecord.objects.values().get(pk=pupil.pk)
    events = AuditEvent.objects.count()

    response = client.post(f"/cleaning/pupils/{pupil.pk}/edit/",
                           {field: value, "reason": "testing a bad value"})

    assert response.status_code == 400
    assert f"{rule}" in response.content.decode()
    assert PupilRecord.objects.values().get(pk=pupil.pk) == before
    assert not LaEdit.objects.exists() and AuditEvent.objects.count() == events


def test_an_la_edit_of_a_result_recomputes_the_derived_measures(loaded, login):
    pupil = PupilRecord.objects.filter(la=loaded.a.la).order_by("-id").first()
    assert pupil.gld is True
    client = login(loaded.a.users[Role.LA_DATA_OFFICER])

    client.post(f"/cleaning/pupils/{pupil.pk}/edit/",
                {"f_E03": "1", "reason": "moderation outcome"})

    pupil.refresh_from_db()
    assert pupil.gld is False and pupil.elgs_expected == 16


def test_a_resubmission_lists_the_la_edits_it_overwrites_before_it_is_confirmed(loaded):
    pupil = PupilRecord.objects.filter(la=loaded.a.la).order_by("-id").first()
    do_edit_pupil(pupil, {"Surname": "Smyth"}, reason="parent letter",
                  acting_user=loaded.a.users[Role.LA_DATA_OFFICER])
    school = loaded.a.schools[0]
    data, _ = eyfsp_file("330", school.estab, 4)

    waiting = import_ctf("again.xml", data, la=loaded.a.la, year=2026, acting_user=None)
    assert waiting.status == "needs-confirmation"
    [change] = waiting.changes
    assert [(e["upn"], e["field"], e["old_value"], e["new_value"]) for e in change.la_edits] == [
        (pupil.upn, "Surname", "Smith", "Smyth")
    ]
    done = import_ctf("again.xml", data, la=loaded.a.la, year=2026, acting_user=None,
                      confirm_replacements=True)
    assert done.status == "committed"
    edit = LaEdit.objects.get()
    assert edit.overwritten_by == done.changes[0].submission and edit.pupil is None


def test_the_rules_catalogue_lists_every_rule_of_the_year_with_its_message(world, login):
    client = login(world.a.users[Role.LA_ANALYST])

    response = client.get("/cleaning/rules/?year=2026")

    codes = [r["code"] for r in response.context["rules"]]
    assert len(codes) >= 40 and "GEN003" in codes
    assert 'id="EYF' in response.content.decode()


def test_the_overview_takes_the_same_number_of_queries_however_many_schools_have_issues(
    loaded, login
):
    client = login(loaded.a.users[Role.LA_DATA_OFFICER])
    url = "/cleaning/?collection=eyfsp&year=2026"
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as one_school:
        client.get(url)
    _load(loaded.a, 1, name="second.xml")
    _load(loaded.a, 2, name="third.xml")

    with CaptureQueriesContext(connection) as three_schools:
        response = client.get(url)

    assert len(response.context["grid"].rows) == 3
    assert len(three_schools) == len(one_school)


def test_a_pupils_page_keeps_its_address_when_the_school_resends_its_file(loaded, login):
    client = login(loaded.a.users[Role.LA_DATA_OFFICER])
    pupil = PupilRecord.objects.filter(la=loaded.a.la).exclude(upn="").order_by("id").first()
    address = client.get(f"/cleaning/pupils/{pupil.pk}/").url
    assert address == f"/cleaning/pupils/eyfsp/2026/{pupil.school.urn}/{pupil.upn}/"

    _load(loaded.a, count=4)  # the same pupils and one more: every record gets a new id
    assert not PupilRecord.objects.filter(pk=pupil.pk).exists()

    page = client.get(address)
    assert page.status_code == 200
    assert page.context["pupil"].upn == pupil.upn
    assert page.context["pupil"].pk != pupil.pk


def _replaced_pupil(part, school_index=0) -> PupilRecord:
    """A pupil record of one school whose file has then been sent again (the record deleted)."""
    _load(part, school_index, bad_upn=False, name="first.xml")
    pupil = (PupilRecord.objects.filter(school=part.schools[school_index]).exclude(upn="")
             .order_by("id").first())
    school = part.schools[school_index]
    data, _ = eyfsp_file(part.la.code, school.estab, 3, surname="Smyth")
    outcome = import_ctf("again.xml", data, la=part.la, year=2026, acting_user=None,
                         confirm_replacements=True)
    assert outcome.status == "committed", outcome.message
    assert not PupilRecord.objects.filter(pk=pupil.pk).exists()
    return pupil


def test_a_pupil_record_id_from_before_a_replacement_leads_to_the_pupils_current_page(
    world, login
):
    old = _replaced_pupil(world.a)
    client = login(world.a.users[Role.LA_DATA_OFFICER])

    response = client.get(f"/cleaning/pupils/{old.pk}/")

    assert response.status_code == 302
    assert response.url == f"/cleaning/pupils/eyfsp/2026/{old.school.urn}/{old.upn}/"
    page = client.get(response.url)
    assert page.status_code == 200
    assert page.context["pupil"].upn == old.upn and page.context["pupil"].surname == "Smyth"


def test_a_school_user_follows_their_own_schools_old_pupil_record_id(world, login):
    old = _replaced_pupil(world.a)  # the school user's school is the LA's first
    client = login(world.a.users[Role.SCHOOL_USER])

    response = client.get(f"/cleaning/pupils/{old.pk}/", follow=True)

    assert response.status_code == 200
    assert response.context["pupil"].upn == old.upn


def test_an_old_pupil_record_id_leads_to_not_found_once_the_pupil_has_left_the_data(
    world, login
):
    old = _replaced_pupil(world.a)
    school = world.a.schools[0]
    data, _ = eyfsp_file(world.a.la.code, school.estab, 1, first_serial=50)  # a new cohort
    import_ctf("other.xml", data, la=world.a.la, year=2026, acting_user=None,
               confirm_replacements=True)
    client = login(world.a.users[Role.LA_DATA_OFFICER])

    response = client.get(f"/cleaning/pupils/{old.pk}/", follow=True)

    assert response.status_code == 404


@pytest.mark.parametrize("role", [*LA_ROLES, Role.NATIONAL_ANALYST.value])
def test_another_las_old_pupil_record_id_is_not_found(world, login, role):
    old = _replaced_pupil(world.b)
    user = world.national if role == Role.NATIONAL_ANALYST else world.a.users[role]
    client = login(user)

    response = client.get(f"/cleaning/pupils/{old.pk}/")

    assert response.status_code == 404


def test_an_old_pupil_record_id_of_another_school_is_not_found_for_a_school_user(world, login):
    old = _replaced_pupil(world.a, school_index=1)
    client = login(world.a.users[Role.SCHOOL_USER])

    response = client.get(f"/cleaning/pupils/{old.pk}/")

    assert response.status_code == 404
    assert login(world.a.users[Role.LA_ANALYST]).get(f"/cleaning/pupils/{old.pk}/").status_code \
        == 302


def test_the_edit_page_of_an_old_pupil_record_id_leads_to_the_pupils_current_page(
    world, login
):
    old = _replaced_pupil(world.a)
    client = login(world.a.users[Role.LA_DATA_OFFICER])

    response = client.get(f"/cleaning/pupils/{old.pk}/edit/")

    assert response.status_code == 302
    assert response.url == f"/cleaning/pupils/eyfsp/2026/{old.school.urn}/{old.upn}/"
    page = client.get(response.url)
    assert page.status_code == 200
    assert "Edit this pupil" in page.content.decode()
    current = page.context["pupil"]
    assert client.get(f"/cleaning/pupils/{current.pk}/edit/").status_code == 200


def test_an_edit_sent_to_an_old_pupil_record_id_is_not_found_and_changes_nothing(world, login):
    old = _replaced_pupil(world.a)
    current = PupilRecord.objects.get(school=old.school, upn=old.upn)
    client = login(world.a.users[Role.LA_DATA_OFFICER])

    response = client.post(f"/cleaning/pupils/{old.pk}/edit/", {
        "f_Surname": "Jones", "reason": "Parent letter", "school_confirmed": "yes",
    })

    assert response.status_code == 404
    current.refresh_from_db()
    assert current.surname == "Smyth"
    assert not LaEdit.objects.exists()
    assert not AuditEvent.objects.filter(event_type=EventType.PUPIL_EDITED).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_edit_page_of_another_las_old_pupil_record_id_is_not_found(world, login, method):
    old = _replaced_pupil(world.b)
    client = login(world.a.users[Role.LA_DATA_OFFICER])

    response = getattr(client, method)(f"/cleaning/pupils/{old.pk}/edit/")

    assert response.status_code == 404


def test_only_la_data_officers_are_sent_on_from_an_old_pupil_record_ids_edit_page(world, login):
    old = _replaced_pupil(world.a)

    assert login(world.a.users[Role.LA_ANALYST]).get(
        f"/cleaning/pupils/{old.pk}/edit/").status_code == 403


def test_a_replacement_keeps_the_old_pupil_keys_in_the_same_queries_whatever_its_size(world):
    def replacement_queries(count: int, school_index: int) -> int:
        school = world.a.schools[school_index]
        for name in ("first.xml", "again.xml"):
            data, _ = eyfsp_file(world.a.la.code, school.estab, count,
                                 surname="Smith" if name == "first.xml" else "Smyth")
            with CaptureQueriesContext(connection) as queries:
                import_ctf(name, data, la=world.a.la, year=2026, acting_user=None,
                           confirm_replacements=True)
        return len(queries)

    assert replacement_queries(2, 0) == replacement_queries(40, 1)
    assert RetiredPupilRecord.objects.filter(la=world.a.la).count() == 42
