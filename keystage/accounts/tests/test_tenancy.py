"""Tenancy, role by endpoint: another LA's objects are "not found", missing permissions are 403.

Every user of LA 330 (every role) asks for every object of LA 331 and gets 404, so nobody can
learn that another LA's school, user, import or job exists. A school user sees only its own
school. The national analyst sees no school, user, import or job at all. On its own LA's objects
each role gets 200 where its role allows and 403 where it does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from keystage.accounts.models import Role, User
from keystage.jobs.actions import do_queue_job
from keystage.jobs.models import Job
from keystage.schools.models import Establishment, EstablishmentImport

LA_USER_ROLES = [r.value for r in Role if r not in (Role.NATIONAL_ANALYST, Role.AGENCY_USER)]


@dataclass
class Objects:
    """The guarded objects of one LA, by the endpoint that shows them."""

    school: Establishment
    pvi: Establishment
    user: User
    register_import: EstablishmentImport
    job: Job


def _queue_job(la, acting_user, kind: str = "import-gias") -> Job:
    code = la.code if la else ""
    return do_queue_job(
        kind, f"Import for {code or 'nobody'}", la=la, acting_user=acting_user,
        params={"path": "jobs/none.csv", "filename": "none.csv", "la_code": code},
    )


def _objects(part) -> Objects:
    return Objects(
        school=part.schools[0],
        pvi=part.pvi,
        user=part.users[Role.LA_DATA_OFFICER],
        register_import=EstablishmentImport.objects.get(la=part.la),
        job=_queue_job(part.la, part.users[Role.LA_ADMIN]),
    )


@pytest.fixture
def tenancy(world):
    """The world with a queued job per LA; returns (world, LA 330's objects, LA 331's)."""
    return world, _objects(world.a), _objects(world.b)


# Each endpoint: (method, url builder over an LA's objects).
OBJECT_ENDPOINTS = {
    "school-detail": ("get", lambda o: f"/schools/{o.school.urn}/"),
    "school-edit": ("get", lambda o: f"/schools/{o.school.urn}/edit/"),
    "school-edit-post": ("post", lambda o: f"/schools/{o.school.urn}/edit/"),
    "pvi-detail": ("get", lambda o: f"/schools/{o.pvi.urn}/"),
    "pvi-edit": ("get", lambda o: f"/schools/{o.pvi.urn}/edit/"),
    "user-edit": ("get", lambda o: f"/accounts/users/{o.user.pk}/"),
    "user-edit-post": ("post", lambda o: f"/accounts/users/{o.user.pk}/"),
    "import-report": ("get", lambda o: f"/schools/import/{o.register_import.pk}/"),
    "job-detail": ("get", lambda o: f"/jobs/{o.job.pk}/"),
    "job-status": ("get", lambda o: f"/jobs/{o.job.pk}/status/"),
}

LIST_PAGES = {
    "home": "/",
    "settings": "/accounts/settings/",
    "password-change": "/accounts/settings/password/",
    "school-list": "/schools/",
    "pvi-add": "/schools/add-pvi/",
    "gias-import": "/schools/import/",
    "academic-year": "/schools/academic-year/",
    "user-list": "/accounts/users/",
    "user-add": "/accounts/users/add/",
    "audit-log": "/audit/",
    "national": "/national/",
}

# A POST that would change something if it were let through.
POST_DATA = {
    "school-edit-post": {"name": "Renamed by another LA", "status": "Open", "reason": "probe"},
    "user-edit-post": {"role": Role.LA_ANALYST, "is_active": "on", "reason": "probe"},
}


def _request(client, endpoint: str, url: str):
    method, _ = OBJECT_ENDPOINTS[endpoint]
    if method == "post":
        return client.post(url, POST_DATA[endpoint])
    return client.get(url)


# -- Another LA's objects ------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS)
@pytest.mark.parametrize("role", LA_USER_ROLES)
def test_every_endpoint_answers_404_when_a_user_of_la_330_asks_for_an_object_of_la_331(
    tenancy, login, role, endpoint
):
    world, _, theirs = tenancy
    client = login(world.a.users[role])
    url = OBJECT_ENDPOINTS[endpoint][1](theirs)

    response = _request(client, endpoint, url)

    assert response.status_code == 404
    # The answer is the GOV.UK "not found" page, never a hint that the object exists.
    assert b"Page not found" in response.content
    assert theirs.school.name.encode() not in response.content


@pytest.mark.parametrize("role", LA_USER_ROLES)
def test_posts_change_nothing_when_a_user_of_la_330_edits_objects_of_la_331(
    tenancy, login, role
):
    world, _, theirs = tenancy
    client = login(world.a.users[role])

    client.post(f"/schools/{theirs.school.urn}/edit/", POST_DATA["school-edit-post"])
    client.post(f"/accounts/users/{theirs.user.pk}/", POST_DATA["user-edit-post"])

    theirs.school.refresh_from_db()
    theirs.user.refresh_from_db()
    assert theirs.school.name == "Coventry Primary School"
    assert theirs.user.role == Role.LA_DATA_OFFICER


@pytest.mark.parametrize("page", ["/schools/", "/schools/?status=all", "/schools/?q=Coventry",
                                  "/schools/?q=110001", "/accounts/users/?q=331",
                                  "/audit/?q=Coventry", "/schools/import/"])
def test_list_pages_show_no_row_of_la_331_when_the_la_330_admin_searches_for_it(
    tenancy, login, page
):
    world, _, theirs = tenancy
    client = login(world.a.users[Role.LA_ADMIN])

    response = client.get(page)

    assert response.status_code == 200
    assert {row.la_id for row in response.context["grid"].rows} <= {world.a.la.pk}
    text = response.content.decode()
    assert "Coventry Primary School" not in text
    assert "Coventry Academy" not in text
    assert "_331" not in text


# -- A school user and other schools ------------------------------------------------------

OTHER_SCHOOLS = {
    "own-la-other-school": lambda w: w.a.schools[1],
    "own-la-academy": lambda w: w.a.schools[2],
    "own-la-pvi": lambda w: w.a.pvi,
    "other-la-school": lambda w: w.b.schools[0],
    "other-la-pvi": lambda w: w.b.pvi,
}


@pytest.mark.parametrize("suffix", ["", "edit/"])
@pytest.mark.parametrize("which", OTHER_SCHOOLS)
def test_school_pages_answer_404_when_a_school_user_asks_for_any_other_school(
    world, login, which, suffix
):
    client = login(world.a.users[Role.SCHOOL_USER])
    school = OTHER_SCHOOLS[which](world)

    response = client.get(f"/schools/{school.urn}/{suffix}")

    assert response.status_code == 404


def test_school_list_shows_only_its_own_school_when_a_school_user_opens_it(world, login):
    client = login(world.a.users[Role.SCHOOL_USER])

    response = client.get("/schools/?status=all")

    assert response.status_code == 200
    assert [s.urn for s in response.context["grid"].rows] == [world.a.schools[0].urn]


@pytest.mark.parametrize("endpoint", ["user-edit", "import-report", "job-detail", "job-status"])
def test_la_objects_answer_404_when_a_school_user_asks_for_its_own_las_objects(
    tenancy, login, endpoint
):
    world, ours, _ = tenancy
    client = login(world.a.users[Role.SCHOOL_USER])

    response = client.get(OBJECT_ENDPOINTS[endpoint][1](ours))

    assert response.status_code == 404


# -- The national analyst -----------------------------------------------------------------


@pytest.mark.parametrize("la", ["330", "331"])
@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS)
@pytest.mark.parametrize("who", ["national", "agency"])
def test_every_object_endpoint_answers_404_when_the_national_analyst_or_an_agency_asks(
    tenancy, login, endpoint, la, who
):
    world, ours, theirs = tenancy
    objects = ours if la == "330" else theirs
    client = login(world.national if who == "national" else world.a.agency_user)

    response = _request(client, endpoint, OBJECT_ENDPOINTS[endpoint][1](objects))

    assert response.status_code == 404


@pytest.mark.parametrize("page", ["school-list", "user-list", "user-add", "audit-log",
                                  "gias-import", "pvi-add", "academic-year"])
def test_la_list_pages_answer_403_when_the_national_analyst_opens_them(world, login, page):
    client = login(world.national)

    response = client.get(LIST_PAGES[page])

    assert response.status_code == 403


# -- Each role on its own LA: 200 where allowed, 403 where not -----------------------------

# A GIAS import job's pages need the register permission, as the import itself does.
ADMIN_ONLY = {"school-edit", "pvi-edit", "user-edit", "import-report", "pvi-add", "gias-import",
              "academic-year", "user-list", "user-add", "audit-log", "job-detail", "job-status"}
EVERY_LA_ROLE = {"home", "settings", "password-change", "school-list", "school-detail",
                 "pvi-detail"}


def _expected(role: str) -> dict[str, int]:
    """The status each GET page answers for a role, on its own LA's objects."""
    pages = [*LIST_PAGES, *(e for e, (m, _) in OBJECT_ENDPOINTS.items() if m == "get")]
    if role == Role.NATIONAL_ANALYST:
        # Jobs: only the ones it started itself, and only of a kind its role may run.
        allowed = {"home", "settings", "password-change", "national"}
        forbidden = {*LIST_PAGES, "job-detail", "job-status"}
        return {p: 200 if p in allowed else (403 if p in forbidden else 404) for p in pages}
    if role == Role.AGENCY_USER:
        # An agency sees only its extracts: no LA's pages, and no LA's objects exist for it.
        allowed = {"home", "settings", "password-change"}
        return {p: 200 if p in allowed else (403 if p in LIST_PAGES else 404) for p in pages}
    if role == Role.SCHOOL_USER:
        allowed = {"home", "settings", "password-change", "school-list", "school-detail",
                   "job-detail", "job-status"}
        # Its own school's edit page is forbidden; LA-wide objects are not its to know of.
        hidden = {"pvi-detail", "pvi-edit", "user-edit", "import-report"}
        return {p: 200 if p in allowed else (404 if p in hidden else 403) for p in pages}
    allowed = EVERY_LA_ROLE | (ADMIN_ONLY if role == Role.LA_ADMIN else set())
    return {p: 200 if p in allowed else 403 for p in pages}


CASES = [(role.value, page, status)
         for role in Role for page, status in _expected(role).items()]


@pytest.mark.parametrize(("role", "page", "status"), CASES)
def test_own_la_pages_answer_as_the_role_allows_when_each_role_opens_them(
    tenancy, login, role, page, status
):
    world, ours, _ = tenancy
    user = (world.national if role == Role.NATIONAL_ANALYST else world.a.agency_user
            if role == Role.AGENCY_USER else world.a.users[role])
    if role == Role.SCHOOL_USER:
        # Users with no LA-wide view follow the jobs they started themselves.
        ours.job = _queue_job(user.la, user, "import-files")
    if role == Role.NATIONAL_ANALYST:
        ours.job = _queue_job(user.la, user)
    client = login(user)
    url = LIST_PAGES[page] if page in LIST_PAGES else OBJECT_ENDPOINTS[page][1](ours)

    response = client.get(url)

    assert response.status_code == status, url


def test_job_pages_answer_404_when_a_school_user_asks_for_another_users_job_of_its_la(
    tenancy, login
):
    world, ours, _ = tenancy
    client = login(world.a.users[Role.SCHOOL_USER])

    assert client.get(f"/jobs/{ours.job.pk}/").status_code == 404
    assert client.get(f"/jobs/{ours.job.pk}/status/").status_code == 404


def test_forbidden_pages_say_why_when_la_analyst_opens_the_users_page(world, login):
    client = login(world.a.users[Role.LA_ANALYST])

    response = client.get("/accounts/users/")

    assert response.status_code == 403
    assert b"You do not have access to this page" in response.content


# -- Anonymous users ----------------------------------------------------------------------

ANONYMOUS_PAGES = [*LIST_PAGES, *OBJECT_ENDPOINTS]


@pytest.mark.parametrize("page", ANONYMOUS_PAGES)
def test_every_page_redirects_to_login_when_the_user_is_anonymous(tenancy, client, page):
    _, ours, _ = tenancy
    if page in LIST_PAGES:
        url = LIST_PAGES[page]
        response = client.get(url)
    else:
        url = OBJECT_ENDPOINTS[page][1](ours)
        response = _request(client, page, url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
