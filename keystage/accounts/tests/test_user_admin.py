"""The LA administrator's user pages: list, add, re-role, disable, and the audit trail."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keystage.accounts.actions import do_create_user
from keystage.accounts.models import Role, User
from keystage.audit.models import AuditEvent, EventType
from keystage.schools.actions import do_add_pvi_setting

NEW_PASSWORD = "a-brand-new-Passphrase-42"


@pytest.fixture
def admin(world) -> User:
    return world.a.users[Role.LA_ADMIN]


@pytest.fixture
def admin_client(login, admin):
    return login(admin)


def _add_users(la, count: int, prefix: str = "extra") -> None:
    for n in range(count):
        do_create_user(f"{prefix}_{n:03d}", role=Role.LA_ANALYST, la=la, acting_user=None)


def _rows(response) -> list:
    return list(response.context["grid"].rows)


def _edit(client, user: User, **fields):
    data = {"role": user.role, "school": user.school_id or "", "is_active": "on",
            "reason": "A reason", **fields}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"/accounts/users/{user.pk}/", data)


# -- Listing ------------------------------------------------------------------------------


def test_user_list_shows_only_the_las_users_when_the_admin_opens_it(world, admin_client):
    response = admin_client.get("/accounts/users/")

    assert response.status_code == 200
    names = {u.username for u in _rows(response)}
    assert names == {u.username for u in world.a.users.values()}


def test_user_list_pages_at_the_chosen_size_when_the_admin_changes_it_in_settings(
    world, admin, admin_client
):
    _add_users(world.a.la, 19)  # 26 users in LA 330
    first = admin_client.get("/accounts/users/")
    assert len(_rows(first)) == 25
    assert b"Showing 1 to 25 of 26" in first.content

    saved = admin_client.post("/accounts/settings/", {"page_size": "10"})

    assert saved.status_code == 302
    admin.refresh_from_db()
    assert admin.page_size == 10
    page_one = admin_client.get("/accounts/users/")
    assert len(_rows(page_one)) == 10
    assert b"Showing 1 to 10 of 26" in page_one.content
    assert b'aria-label="Page 3"' in page_one.content
    page_three = admin_client.get("/accounts/users/?page=3")
    assert len(_rows(page_three)) == 6
    event = AuditEvent.objects.get(event_type=EventType.USER_SETTINGS_CHANGED)
    assert (event.old, event.new) == ({"page_size": 25}, {"page_size": 10})


def test_settings_refuses_a_page_size_that_is_not_offered(admin, admin_client):
    response = admin_client.post("/accounts/settings/", {"page_size": "7"})

    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert b'href="#id_page_size"' in response.content
    admin.refresh_from_db()
    assert admin.page_size == 25


def test_user_list_filters_by_role_and_text_when_asked(world, admin_client):
    by_role = admin_client.get("/accounts/users/?role=school_user")
    by_text = admin_client.get("/accounts/users/?q=lost_pupils")

    assert [u.role for u in _rows(by_role)] == [Role.SCHOOL_USER]
    assert [u.username for u in _rows(by_text)] == ["lost_pupils_officer_330"]


def _queries(client, url: str) -> int:
    client.get(url)  # warm up: the first request of a session may do one-off work
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/accounts/users/", "/schools/?status=all", "/audit/"])
def test_list_pages_make_as_many_queries_when_the_la_has_many_more_rows(
    world, admin, admin_client, django_assert_max_num_queries, url
):
    admin_client.post("/accounts/settings/", {"page_size": "100"})
    baseline = _queries(admin_client, url)
    assert baseline <= 12, f"{url} makes {baseline} queries for a handful of rows"

    _add_users(world.a.la, 40)
    la_code = world.a.la.code
    for n in range(40):
        do_add_pvi_setting(world.a.la, urn=f"5{la_code}{n:02d}", name=f"Nursery {n}",
                           acting_user=admin)
    school_user = world.a.users[Role.SCHOOL_USER]
    for n in range(10):
        do_create_user(f"school_extra_{n}", role=Role.SCHOOL_USER, school=school_user.school,
                       acting_user=admin)

    with django_assert_max_num_queries(baseline):
        response = admin_client.get(url)
    assert len(_rows(response)) >= 40


# -- Adding -------------------------------------------------------------------------------


def test_add_user_creates_a_school_user_and_emails_a_set_password_link(
    world, admin, admin_client, client
):
    school = world.a.schools[1]

    response = admin_client.post("/accounts/users/add/", {
        "username": "jsmith", "first_name": "Jo", "last_name": "Smith",
        "email": "jo.smith@example.org", "role": Role.SCHOOL_USER, "school": school.pk,
    })

    assert response.status_code == 302
    assert response["Location"] == "/accounts/users/"
    user = User.objects.get(username="jsmith")
    assert (user.role, user.la, user.school) == (Role.SCHOOL_USER, world.a.la, school)
    assert not user.has_usable_password()
    event = AuditEvent.objects.get(event_type=EventType.USER_CREATED, object_id=str(user.pk))
    assert event.acting_user == admin
    assert event.la == world.a.la
    assert event.new == {"username": "jsmith", "role": Role.SCHOOL_USER,
                         "email": "jo.smith@example.org", "school": school.urn}
    # The new user follows the link to set a password, then logs in.
    assert [m.to for m in mail.outbox] == [["jo.smith@example.org"]]
    link = re.search(r"https?://testserver(/accounts/password-reset/\S+/)", mail.outbox[0].body)
    admin_client.post("/accounts/logout/")
    form_page = client.get(link.group(1), follow=True)
    client.post(form_page.redirect_chain[-1][0],
                {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    client.post("/accounts/login/", {"username": "jsmith", "password": NEW_PASSWORD})
    assert client.session.get("_auth_user_id") == str(user.pk)


def test_add_user_creates_an_la_user_in_the_admins_la(world, admin_client):
    response = admin_client.post("/accounts/users/add/", {
        "username": "newofficer", "email": "new.officer@example.org",
        "role": Role.LA_DATA_OFFICER,
    })

    assert response.status_code == 302
    user = User.objects.get(username="newofficer")
    assert (user.role, user.la, user.school) == (Role.LA_DATA_OFFICER, world.a.la, None)


def test_add_user_shows_an_error_linked_to_the_school_when_a_school_user_has_none(
    admin_client,
):
    response = admin_client.post("/accounts/users/add/", {
        "username": "noschool", "email": "no.school@example.org", "role": Role.SCHOOL_USER,
    })

    assert response.status_code == 200
    text = response.content.decode()
    assert "There is a problem" in text
    assert '<a href="#id_school">Select the school this school user works in.</a>' in text
    assert 'id="id_school-error"' in text
    assert not User.objects.filter(username="noschool").exists()
    assert mail.outbox == []


def test_add_user_shows_an_error_when_an_la_role_is_given_a_school(world, admin_client):
    response = admin_client.post("/accounts/users/add/", {
        "username": "withschool", "email": "with.school@example.org",
        "role": Role.LA_ANALYST, "school": world.a.schools[0].pk,
    })

    assert response.status_code == 200
    assert b"Only school users have a school" in response.content
    assert not User.objects.filter(username="withschool").exists()


def test_add_user_is_refused_with_a_form_error_when_the_school_belongs_to_another_la(
    world, admin_client
):
    page = admin_client.get("/accounts/users/add/")
    assert world.b.schools[0].name.encode() not in page.content
    assert world.a.schools[0].name.encode() in page.content

    response = admin_client.post("/accounts/users/add/", {
        "username": "intruder", "email": "intruder@example.org",
        "role": Role.SCHOOL_USER, "school": world.b.schools[0].pk,
    })

    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert b'href="#id_school"' in response.content
    assert b"Select a valid choice" in response.content
    assert not User.objects.filter(username="intruder").exists()


def test_add_user_shows_an_error_when_the_user_name_is_taken(world, admin_client):
    response = admin_client.post("/accounts/users/add/", {
        "username": "LA_ADMIN_331", "email": "copy@example.org", "role": Role.LA_ANALYST,
    })

    assert response.status_code == 200
    assert b'href="#id_username"' in response.content
    assert b"That user name is taken" in response.content


# -- Editing ------------------------------------------------------------------------------


def test_edit_user_changes_the_role_and_audits_old_new_and_reason(world, admin, admin_client):
    officer = world.a.users[Role.LA_DATA_OFFICER]

    response = _edit(admin_client, officer, role=Role.LA_ANALYST, reason="Moved to analysis")

    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.role == Role.LA_ANALYST
    event = AuditEvent.objects.get(event_type=EventType.USER_ROLE_CHANGED)
    assert event.acting_user == admin
    assert event.la == world.a.la
    assert event.object_id == str(officer.pk)
    assert event.reason == "Moved to analysis"
    assert event.old == {"role": Role.LA_DATA_OFFICER, "school": None}
    assert event.new == {"role": Role.LA_ANALYST, "school": None}


def test_edit_user_makes_an_la_user_a_school_user_when_given_a_school(world, admin_client):
    analyst = world.a.users[Role.LA_ANALYST]
    school = world.a.schools[2]

    _edit(admin_client, analyst, role=Role.SCHOOL_USER, school=school.pk, reason="Seconded")

    analyst.refresh_from_db()
    assert (analyst.role, analyst.school, analyst.la) == (Role.SCHOOL_USER, school, world.a.la)
    event = AuditEvent.objects.get(event_type=EventType.USER_ROLE_CHANGED)
    assert event.new == {"role": Role.SCHOOL_USER, "school": school.urn}
    assert event.school == school


def test_edit_user_is_refused_when_the_school_belongs_to_another_la(world, admin_client):
    analyst = world.a.users[Role.LA_ANALYST]

    response = _edit(admin_client, analyst, role=Role.SCHOOL_USER, school=world.b.schools[0].pk)

    assert response.status_code == 200
    assert b'href="#id_school"' in response.content
    analyst.refresh_from_db()
    assert analyst.role == Role.LA_ANALYST


def test_edit_user_needs_a_reason_when_saved(world, admin_client):
    officer = world.a.users[Role.LA_DATA_OFFICER]

    response = _edit(admin_client, officer, role=Role.LA_ANALYST, reason="")

    assert response.status_code == 200
    assert b'href="#id_reason"' in response.content
    officer.refresh_from_db()
    assert officer.role == Role.LA_DATA_OFFICER


def test_edit_user_disables_and_enables_a_user_with_audited_reasons(world, admin, admin_client):
    teacher = world.a.users[Role.SCHOOL_USER]

    response = _edit(admin_client, teacher, is_active=None, reason="Left the school")

    assert response.status_code == 302
    teacher.refresh_from_db()
    assert not teacher.is_active
    listing = admin_client.get("/accounts/users/?q=school_user_330")
    assert b"Disabled" in listing.content
    disabled = AuditEvent.objects.get(event_type=EventType.USER_DISABLED)
    assert (disabled.old, disabled.new) == ({"is_active": True}, {"is_active": False})
    assert disabled.reason == "Left the school"
    assert disabled.acting_user == admin
    assert disabled.school == teacher.school

    _edit(admin_client, teacher, reason="Came back")

    teacher.refresh_from_db()
    assert teacher.is_active
    enabled = AuditEvent.objects.get(event_type=EventType.USER_ENABLED)
    assert (enabled.old, enabled.new, enabled.reason) == (
        {"is_active": False}, {"is_active": True}, "Came back")


def test_edit_user_refuses_when_the_admin_disables_themselves(admin, admin_client):
    response = _edit(admin_client, admin, is_active=None, reason="Oops")

    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert b"You cannot disable your own account." in response.content
    admin.refresh_from_db()
    assert admin.is_active
    assert not AuditEvent.objects.filter(event_type=EventType.USER_DISABLED).exists()


def test_edit_user_changes_nothing_when_one_of_several_changes_is_refused(
    world, admin, admin_client
):
    # Re-role and disable oneself in one go: the disable is refused, so the re-role must not stay.
    _second_admin(world)  # so the re-role itself is allowed
    response = _edit(admin_client, admin, role=Role.LA_ANALYST, is_active=None, reason="Oops")

    assert response.status_code == 200
    assert b"You cannot disable your own account." in response.content
    admin.refresh_from_db()
    assert admin.role == Role.LA_ADMIN
    assert not AuditEvent.objects.filter(event_type=EventType.USER_ROLE_CHANGED).exists()


def test_edit_user_writes_nothing_when_nothing_changed(world, admin_client):
    officer = world.a.users[Role.LA_DATA_OFFICER]
    before = AuditEvent.objects.count()

    response = _edit(admin_client, officer)

    assert response.status_code == 302
    assert AuditEvent.objects.count() == before


def test_edit_user_page_shows_the_users_current_values(world, admin_client):
    teacher = world.a.users[Role.SCHOOL_USER]

    response = admin_client.get(f"/accounts/users/{teacher.pk}/")

    form = response.context["form"]
    assert form.initial["role"] == Role.SCHOOL_USER
    assert form.initial["school"] == teacher.school
    assert form.initial["is_active"] is True
    assert b'value="school_user" selected' in response.content


# -- Every LA keeps an administrator -----------------------------------------------------------


def _second_admin(world) -> User:
    return do_create_user("second_admin", role=Role.LA_ADMIN, la=world.a.la, acting_user=None)


def test_the_last_administrator_cannot_be_disabled_by_another_through_the_web(
    world, admin, login
):
    second = _second_admin(world)
    client = login(second)
    assert _edit(client, admin, is_active=None).status_code == 302  # two admins: allowed
    admin.refresh_from_db()
    assert not admin.is_active

    from keystage.accounts.actions import LastAdministratorError, do_set_user_active

    with pytest.raises(LastAdministratorError, match="only active administrator"):
        do_set_user_active(second, False, acting_user=None, reason="leaving")
    second.refresh_from_db()
    assert second.is_active


def test_the_last_administrator_cannot_be_demoted_and_the_page_says_why(world, admin, login):
    second = _second_admin(world)
    from keystage.accounts.actions import do_set_user_active

    do_set_user_active(second, False, acting_user=None, reason="left")
    # Another user of the LA cannot do it, so the admin tries it on themselves.
    response = _edit(login(admin), admin, role=Role.LA_ANALYST)

    assert response.status_code == 200
    assert "only active administrator" in response.content.decode()
    admin.refresh_from_db()
    assert admin.role == Role.LA_ADMIN


def test_keystage_user_disable_refuses_the_last_administrator(world, admin):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="only active administrator") as refused:
        call_command("user", "disable", admin.username, "--reason", "leaving")

    assert refused.value.returncode == 2
    admin.refresh_from_db()
    assert admin.is_active


# -- Adding a user: safe defaults, clear errors, an invitation --------------------------------


def test_add_user_form_starts_on_the_least_privileged_role(admin_client):
    form = admin_client.get("/accounts/users/add/").context["form"]

    assert form["role"].value() == Role.SCHOOL_USER
    assert [value for value, _ in form.fields["role"].choices][-1] == Role.LA_ADMIN


def test_add_user_error_summary_names_each_missing_field(admin_client):
    response = admin_client.post("/accounts/users/add/", {"username": "", "email": "", "role": ""})

    text = response.content.decode()
    summary = text.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    assert '<a href="#id_username">Enter a user name</a>' in summary
    assert '<a href="#id_email">Enter the user&#x27;s email address</a>' in summary
    assert '<a href="#id_role">Select a role</a>' in summary
    assert "This field is required" not in summary


def test_a_new_user_is_emailed_an_invitation_not_a_password_reset(world, admin_client):
    admin_client.post("/accounts/users/add/", {
        "username": "invited", "first_name": "Ivy", "email": "ivy@example.org",
        "role": Role.LA_ANALYST,
    })

    (message,) = mail.outbox
    assert message.subject == "You have been invited to Keystage"
    assert "You have been invited to Keystage" in message.body
    assert "User name: invited" in message.body or "Your user name is: invited" in message.body
    assert world.a.la.name in message.body
    assert "Someone asked to set the password" not in message.body
