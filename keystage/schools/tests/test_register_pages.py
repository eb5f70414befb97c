"""The schools register pages: list, filters, sorting, paging, edit, PVI settings, academic year."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keystage.accounts.actions import do_change_user_settings
from keystage.audit.models import AuditEvent, EventType
from keystage.core.testing import gias_csv
from keystage.schools.actions import (
    do_add_pvi_setting,
    do_import_establishments,
    do_set_current_year,
    do_update_establishment,
)
from keystage.schools.models import (
    AcademicYear,
    Establishment,
    EstablishmentSource,
    LocalAuthority,
)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The world's dozen users are made with a cheap hasher (autouse fixtures run first)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(world, login):
    return login(world.a.users["la_admin"])


def listed(response) -> list[str]:
    """The URNs in the schools table, in the order shown."""
    assert response.status_code == 200
    html = response.content.decode()
    body = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    urns = re.findall(r'href="/schools/(\d{6})/"', body)
    assert urns == [s.urn for s in response.context["grid"].rows]
    return urns


def snapshot() -> dict:
    return {
        "register": list(
            Establishment.objects.order_by("urn").values_list(
                "urn", "la__code", *Establishment.REGISTER_FIELDS, "is_pvi", "source",
                "updated_at",
            )
        ),
        "years": list(AcademicYear.objects.values_list("start_year", flat=True)),
        "current": list(LocalAuthority.objects.order_by("code").values_list(
            "code", "current_year__start_year")),
        "audit": AuditEvent.objects.count(),
    }


# --- the list: scope, search, filters, sorting ------------------------------------------------

WORLD_330 = ["100003", "100002", "100001", "512345"]  # by name: Academy, Infant, Primary, Acorns


def test_the_list_shows_the_las_open_schools_by_name_and_no_other_las(admin):
    response = admin.get("/schools/")
    assert listed(response) == WORLD_330
    html = response.content.decode()
    assert "Birmingham Academy" in html and "Little Acorns 330" in html
    assert "Coventry" not in html and "110001" not in html and "612345" not in html
    assert response.context["phases"] == ["Nursery", "Primary", "Secondary"]
    assert "Showing 1 to 4 of 4" in html


def test_a_school_user_sees_only_their_own_school(world, login):
    client = login(world.a.users["school_user"])
    assert listed(client.get("/schools/?status=all")) == ["100001"]
    assert client.get("/schools/100001/").status_code == 200
    assert client.get("/schools/100002/").status_code == 404
    assert client.get("/schools/110001/").status_code == 404


def test_another_las_school_is_not_found(admin):
    assert admin.get("/schools/110001/").status_code == 404
    assert admin.get("/schools/110001/edit/").status_code == 404
    assert admin.get("/schools/100001/").status_code == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Infant", ["100002"]),
        ("academy", ["100003"]),
        ("birmingham", ["100003", "100002", "100001"]),
        ("100003", ["100003"]),
        ("3302001", ["100001"]),
        ("512345", ["512345"]),
        ("ab1 2cd", ["100003", "100002", "100001"]),
        ("Coventry", []),
        ("110001", []),
    ],
)
def test_search_by_name_urn_laestab_or_postcode(admin, query, expected):
    response = admin.get("/schools/", {"q": query})
    assert listed(response) == expected
    if not expected:
        assert "Nothing to show" in response.content.decode()


def test_phase_filter(admin):
    assert listed(admin.get("/schools/", {"phase": "Secondary"})) == ["100003"]
    assert listed(admin.get("/schools/", {"phase": "Primary"})) == ["100002", "100001"]
    assert listed(admin.get("/schools/", {"phase": "Nursery"})) == ["512345"]
    html = admin.get("/schools/", {"phase": "Secondary"}).content.decode()
    assert '<option value="Secondary" selected>' in html


def test_status_filter_open_closed_all(world, admin):
    infant = Establishment.objects.get(urn="100002")
    do_update_establishment(
        infant, {"status": "Closed", "close_date": date(2026, 8, 31)}, acting_user=None,
        reason="closed",
    )
    assert listed(admin.get("/schools/")) == ["100003", "100001", "512345"]
    assert listed(admin.get("/schools/", {"status": "open"})) == ["100003", "100001", "512345"]
    closed = admin.get("/schools/", {"status": "closed"})
    assert listed(closed) == ["100002"]
    assert '<strong class="govuk-tag govuk-tag--grey">Closed</strong>' in closed.content.decode()
    assert listed(admin.get("/schools/", {"status": "all"})) == WORLD_330
    # Filters combine.
    assert listed(admin.get("/schools/", {"status": "all", "q": "Infant"})) == ["100002"]
    assert listed(admin.get("/schools/", {"status": "closed", "phase": "Secondary"})) == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", WORLD_330),
        ("-name", WORLD_330[::-1]),
        ("urn", ["100001", "100002", "100003", "512345"]),
        ("-urn", ["512345", "100003", "100002", "100001"]),
        # Ties are broken by URN.
        ("phase", ["512345", "100001", "100002", "100003"]),
        ("-phase", ["100003", "100001", "100002", "512345"]),
        ("not-a-column", WORLD_330),
    ],
)
def test_sorting(admin, sort, expected):
    assert listed(admin.get("/schools/", {"sort": sort})) == expected


def test_sort_links_keep_the_filters_and_toggle_the_direction(admin):
    response = admin.get("/schools/", {"q": "Birm", "phase": "Primary", "sort": "name"})
    html = response.content.decode()
    assert 'href="?q=Birm&phase=Primary&status=open&sort=-name"' in html
    assert 'href="?q=Birm&phase=Primary&status=open&sort=urn"' in html
    assert 'aria-sort="ascending"' in html


# --- paging and query counts ------------------------------------------------------------------


def _more_schools(count: int) -> None:
    rows = [
        {"URN": str(100100 + i), "LA (code)": "330", "LA (name)": "Birmingham",
         "EstablishmentNumber": f"{3000 + i}", "EstablishmentName": f"Extra School {i:02d}"}
        for i in range(1, count + 1)
    ]
    do_import_establishments(gias_csv(rows), filename="more.csv", acting_user=None)


def test_pages_at_the_users_page_size(world, admin):
    _more_schools(30)
    do_change_user_settings(world.a.users["la_admin"], page_size=10, acting_user=None)

    first = admin.get("/schools/", {"sort": "urn"})
    assert listed(first) == ["100001", "100002", "100003"] + [str(100100 + i) for i in range(1, 8)]
    html = first.content.decode()
    assert "Showing 1 to 10 of 34" in html
    assert 'aria-label="Page 4"' in html and 'aria-label="Page 5"' not in html
    assert 'href="?page=2&amp;sort=urn" rel="next"' in html or 'href="?page=2&sort=urn"' in html

    last = admin.get("/schools/", {"sort": "urn", "page": "4"})
    assert listed(last) == ["100128", "100129", "100130", "512345"]
    assert "Showing 31 to 34 of 34" in last.content.decode()
    # Out-of-range and nonsense page numbers land on a real page.
    assert listed(admin.get("/schools/", {"sort": "urn", "page": "99"})) == listed(last)
    assert listed(admin.get("/schools/", {"sort": "urn", "page": "x"})) == listed(first)

    do_change_user_settings(world.a.users["la_admin"], page_size=25, acting_user=None)
    assert len(listed(admin.get("/schools/"))) == 25


def test_the_page_size_setting_is_saved_from_the_settings_page(world, admin):
    response = admin.post("/accounts/settings/", {"page_size": "10"})
    assert response.status_code == 302
    world.a.users["la_admin"].refresh_from_db()
    assert world.a.users["la_admin"].page_size == 10
    event = AuditEvent.objects.get(event_type=EventType.USER_SETTINGS_CHANGED)
    assert (event.old, event.new) == ({"page_size": 25}, {"page_size": 10})


def _queries(client, *args) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(*args).status_code == 200
    return len(context.captured_queries)


def test_the_list_makes_a_bounded_number_of_queries_whatever_the_rows(
    world, admin, django_assert_max_num_queries
):
    few = _queries(admin, "/schools/")
    _more_schools(60)
    do_change_user_settings(world.a.users["la_admin"], page_size=50, acting_user=None)
    with django_assert_max_num_queries(10):
        response = admin.get("/schools/")
    assert len(listed(response)) == 50
    many = _queries(admin, "/schools/", {"status": "all", "sort": "-urn", "page": "2"})
    assert few == many


def test_detail_and_edit_pages_make_a_bounded_number_of_queries(
    admin, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10):
        assert admin.get("/schools/100001/").status_code == 200
    with django_assert_max_num_queries(10):
        assert admin.get("/schools/100001/edit/").status_code == 200


# --- editing a school -------------------------------------------------------------------------


def _edit_data(school: Establishment, **changes) -> dict:
    def text(value):
        if value is None:
            return ""
        return value.isoformat() if isinstance(value, date) else str(value)

    data = {name: text(getattr(school, name)) for name in (
        "name", "type_name", "phase", "status", "low_age", "high_age", "open_date",
        "close_date", "postcode")}
    data["reason"] = "Checked with the school"
    data.update(changes)
    return data


def test_an_edit_with_a_reason_is_saved_and_audited_with_old_and_new_values(world, admin):
    school = Establishment.objects.get(urn="100001")
    assert admin.get("/schools/100001/edit/").status_code == 200

    response = admin.post("/schools/100001/edit/", _edit_data(
        school, name="Birmingham Primary Academy", postcode="B3 3CC",
        reason="Renamed by the governors in June",
    ))

    assert response.status_code == 302
    assert response["Location"] == "/schools/100001/"
    school.refresh_from_db()
    assert (school.name, school.postcode) == ("Birmingham Primary Academy", "B3 3CC")
    event = AuditEvent.objects.get(event_type=EventType.ESTABLISHMENT_CHANGED)
    assert event.reason == "Renamed by the governors in June"
    assert event.old == {"name": "Birmingham Primary School", "postcode": "AB1 2CD"}
    assert event.new == {"name": "Birmingham Primary Academy", "postcode": "B3 3CC"}
    assert (event.acting_user, event.la, event.school) == (
        world.a.users["la_admin"], world.a.la, school)
    detail = admin.get("/schools/100001/").content.decode()
    assert "Birmingham Primary Academy updated." in detail
    assert "B3 3CC" in detail


def test_closing_a_school_by_hand_records_the_close_date(admin):
    school = Establishment.objects.get(urn="100002")
    response = admin.post("/schools/100002/edit/", _edit_data(
        school, status="Closed", close_date="2026-08-31", reason="Closed in the summer"))
    assert response.status_code == 302
    school.refresh_from_db()
    assert (school.status, school.close_date) == ("Closed", date(2026, 8, 31))
    event = AuditEvent.objects.get(event_type=EventType.ESTABLISHMENT_CHANGED)
    assert event.old == {"status": "Open", "close_date": None}
    assert event.new == {"status": "Closed", "close_date": "2026-08-31"}


def test_an_edit_that_changes_nothing_writes_no_event(admin):
    school = Establishment.objects.get(urn="100001")
    before = snapshot()
    response = admin.post("/schools/100001/edit/", _edit_data(school), follow=True)
    assert "Nothing was changed." in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"low_age": "11", "high_age": "4"}, "high_age",
         "The highest age must be at least the lowest age."),
        ({"status": "Closed", "close_date": ""}, "close_date", "Enter the date the school closed."),
        ({"reason": ""}, "reason", "This field is required."),
        ({"name": ""}, "name", "This field is required."),
        ({"status": "Shut"}, "status", "Select a valid choice."),
        ({"open_date": "31/02/2020"}, "open_date", "Enter a valid date."),
        ({"low_age": "-1"}, "low_age", "greater than or equal to 0"),
    ],
)
def test_invalid_edits_show_the_error_summary_and_change_nothing(admin, changes, field, message):
    school = Establishment.objects.get(urn="100001")
    before = snapshot()

    response = admin.post("/schools/100001/edit/", _edit_data(
        school, name=changes.pop("name", "A New Name"), **changes))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Error: " in html
    summary = html.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    assert "There is a problem" in summary
    assert f'href="#id_{field}"' in summary
    assert message in summary
    assert f'id="id_{field}-error"' in html
    assert snapshot() == before
    # The page still names the school as it is in the register, not as typed.
    assert "<h1 class=\"govuk-heading-l\">Edit Birmingham Primary School</h1>" in html


@pytest.mark.parametrize("role", ["la_data_officer", "la_analyst", "school_user"])
def test_only_an_la_administrator_may_edit(world, login, role):
    client = login(world.a.users[role])
    school = Establishment.objects.get(urn="100001")
    before = snapshot()
    assert client.get("/schools/100001/edit/").status_code == 403
    response = client.post("/schools/100001/edit/", _edit_data(school, name="Hacked"))
    assert response.status_code == 403
    assert "You do not have access to this page" in response.content.decode()
    assert snapshot() == before
    assert "Edit details" not in client.get("/schools/100001/").content.decode()


def test_the_edit_action_refuses_fields_that_are_not_editable(world):
    school = Establishment.objects.get(urn="100001")
    with pytest.raises(ValueError, match="urn"):
        do_update_establishment(school, {"urn": "999999"}, acting_user=None, reason="x")


# --- PVI settings -----------------------------------------------------------------------------


def test_adding_a_pvi_setting_by_hand(world, admin):
    response = admin.post("/schools/add-pvi/", {
        "urn": "712345", "name": "Busy Bees Nursery", "postcode": "B2 2BB",
        "reason": "Sends EYFSP files; not in GIAS",
    })

    assert response.status_code == 302
    assert response["Location"] == "/schools/712345/"
    pvi = Establishment.objects.get(urn="712345")
    assert (pvi.la, pvi.is_pvi, pvi.source, pvi.laestab, pvi.identifier) == (
        world.a.la, True, EstablishmentSource.MANUAL, None, "712345")
    assert (pvi.name, pvi.postcode, pvi.status) == ("Busy Bees Nursery", "B2 2BB", "Open")
    event = AuditEvent.objects.get(event_type=EventType.ESTABLISHMENT_ADDED, school=pvi)
    assert event.reason == "Sends EYFSP files; not in GIAS"
    assert event.new["urn"] == "712345" and event.new["name"] == "Busy Bees Nursery"
    assert event.acting_user == world.a.users["la_admin"]
    detail = admin.get("/schools/712345/").content.decode()
    assert "PVI setting" in detail and "Busy Bees Nursery has been added" in detail
    assert "712345" in listed(admin.get("/schools/", {"phase": "Nursery"}))


@pytest.mark.parametrize("urn", ["412345", "812345", "51234", "5123456", "51234a", "", " 512345"])
def test_an_ey_urn_must_be_six_digits_starting_5_6_or_7(admin, urn):
    before = snapshot()
    response = admin.post("/schools/add-pvi/", {"urn": urn, "name": "Tiny Tots"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html and 'href="#id_urn"' in html
    assert snapshot() == before


def test_a_urn_of_the_las_own_setting_is_refused_naming_the_setting(admin):
    before = snapshot()
    response = admin.post("/schools/add-pvi/", {"urn": "512345", "name": "Tiny Tots"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html and 'href="#id_urn"' in html
    assert "URN 512345 is already in your register, as Little Acorns 330." in html
    assert snapshot() == before


def test_a_urn_of_another_las_setting_is_refused_without_saying_another_la_holds_it(admin):
    before = snapshot()
    response = admin.post("/schools/add-pvi/", {"urn": "612345", "name": "Tiny Tots"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html and 'href="#id_urn"' in html
    assert ("URN 612345 cannot be added here. If this setting is in your LA, check the URN; if "
            "it has moved to your LA, ask for a national register update.") in html
    assert "already" not in html and "another" not in html.lower()
    assert "Coventry" not in html and "331" not in html
    assert snapshot() == before


def test_a_school_urn_is_not_an_ey_urn(admin):
    before = snapshot()
    response = admin.post("/schools/add-pvi/", {"urn": "100001", "name": "Tiny Tots"})
    assert "Enter an EY URN: 6 digits starting with 5, 6 or 7." in response.content.decode()
    assert snapshot() == before


def test_the_pvi_action_checks_the_urn_too(world):
    with pytest.raises(ValueError, match="starts with 5, 6 or 7"):
        do_add_pvi_setting(world.a.la, urn="312345", name="X", acting_user=None)
    with pytest.raises(ValueError, match="already in your register"):
        do_add_pvi_setting(world.a.la, urn="512345", name="X", acting_user=None)
    with pytest.raises(ValueError, match="cannot be added here"):
        do_add_pvi_setting(world.a.la, urn="612345", name="X", acting_user=None)


@pytest.mark.parametrize("role", ["la_data_officer", "school_user"])
def test_only_an_la_administrator_may_add_a_pvi_setting(world, login, role):
    client = login(world.a.users[role])
    assert client.get("/schools/add-pvi/").status_code == 403
    assert client.post("/schools/add-pvi/", {"urn": "712345", "name": "X"}).status_code == 403
    assert not Establishment.objects.filter(urn="712345").exists()


# --- the current academic year ----------------------------------------------------------------


def test_academic_year_labels():
    assert AcademicYear(start_year=2025).label == "2025/26"
    assert AcademicYear(start_year=2099).label == "2099/00"
    assert AcademicYear(start_year=2025).assessment_year == 2026


def test_setting_the_current_academic_year(world, admin, login):
    page = admin.get("/schools/academic-year/")
    assert page.status_code == 200
    assert '<option value="2025">2025/26</option>' in page.content.decode()

    response = admin.post("/schools/academic-year/", {"start_year": "2025"})

    assert response.status_code == 302 and response["Location"] == "/schools/"
    world.a.la.refresh_from_db()
    assert world.a.la.current_year.start_year == 2025
    home = admin.get("/").content.decode()
    assert "Current academic year: <strong>2025/26</strong>" in home
    added = AuditEvent.objects.get(event_type=EventType.ACADEMIC_YEAR_ADDED)
    assert added.new == {"start_year": 2025}
    set_ = AuditEvent.objects.get(event_type=EventType.LA_CURRENT_YEAR_SET)
    assert (set_.old, set_.new) == ({"current_year": None}, {"current_year": "2025/26"})
    assert (set_.la, set_.acting_user) == (world.a.la, world.a.users["la_admin"])
    assert '<option value="2025" selected>' in admin.get(
        "/schools/academic-year/").content.decode()

    # LA 331 is unaffected until its own administrator sets a year.
    other = login(world.b.users["la_admin"])
    assert "Current academic year" not in other.get("/").content.decode()
    login(world.a.users["la_admin"])

    admin.post("/schools/academic-year/", {"start_year": "2026"})
    assert "Current academic year: <strong>2026/27</strong>" in admin.get("/").content.decode()
    latest = AuditEvent.objects.filter(event_type=EventType.LA_CURRENT_YEAR_SET).first()
    assert (latest.old, latest.new) == ({"current_year": "2025/26"}, {"current_year": "2026/27"})
    assert AuditEvent.objects.filter(event_type=EventType.ACADEMIC_YEAR_ADDED).count() == 2

    # Setting the same year again writes nothing.
    before = snapshot()
    admin.post("/schools/academic-year/", {"start_year": "2026"})
    assert snapshot() == before


def test_an_existing_year_is_shared_between_las(world):
    do_set_current_year(world.a.la, 2025, acting_user=None)
    do_set_current_year(world.b.la, 2025, acting_user=None)
    assert AcademicYear.objects.count() == 1
    assert AuditEvent.objects.filter(event_type=EventType.ACADEMIC_YEAR_ADDED).count() == 1
    assert AuditEvent.objects.filter(event_type=EventType.LA_CURRENT_YEAR_SET).count() == 2


@pytest.mark.parametrize("value", ["1990", "abc", ""])
def test_an_invalid_academic_year_is_refused(admin, value):
    before = snapshot()
    response = admin.post("/schools/academic-year/", {"start_year": value})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("role", ["la_data_officer", "la_analyst", "school_user"])
def test_only_an_la_administrator_may_set_the_academic_year(world, login, role):
    client = login(world.a.users[role])
    assert client.get("/schools/academic-year/").status_code == 403
    assert client.post("/schools/academic-year/", {"start_year": "2025"}).status_code == 403
    assert not AcademicYear.objects.exists()
