"""Logging in and out, lockout after failed logins, idle sessions and password reset by email."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.utils import timezone

from keystage.accounts.actions import do_set_user_active
from keystage.accounts.models import Role, User
from keystage.audit.models import AuditEvent, EventType
from keystage.core.testing import PASSWORD

NEW_PASSWORD = "a-brand-new-Passphrase-42"


@pytest.fixture
def officer(world) -> User:
    return world.a.users[Role.LA_DATA_OFFICER]


def _log_in(client, username: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def _logged_in_as(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


def _fail(client, user: User, times: int):
    response = None
    for _ in range(times):
        response = _log_in(client, user.username, "not-the-password")
    return response


# -- Logging in ---------------------------------------------------------------------------


def test_login_redirects_home_and_writes_an_audit_event_when_the_password_is_right(
    client, officer
):
    response = _log_in(client, officer.username)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _logged_in_as(client) == officer.pk
    event = AuditEvent.objects.get(event_type=EventType.USER_LOGGED_IN)
    assert event.acting_user == officer
    assert event.la == officer.la
    assert client.get("/").status_code == 200


def test_login_shows_an_error_summary_when_the_password_is_wrong(client, officer):
    response = _log_in(client, officer.username, "not-the-password")

    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert b"Enter a correct user name and password" in response.content
    assert _logged_in_as(client) is None
    officer.refresh_from_db()
    assert officer.failed_login_count == 1
    assert AuditEvent.objects.filter(event_type=EventType.USER_LOGIN_FAILED).count() == 1


def test_login_goes_to_the_next_page_when_one_was_asked_for(client, officer):
    response = client.post(
        "/accounts/login/?next=/schools/",
        {"username": officer.username, "password": PASSWORD, "next": "/schools/"},
    )

    assert response["Location"] == "/schools/"


def test_login_clears_the_failed_count_when_it_succeeds_before_the_limit(client, officer):
    _fail(client, officer, settings.LOGIN_LOCKOUT_ATTEMPTS - 1)

    _log_in(client, officer.username)

    officer.refresh_from_db()
    assert _logged_in_as(client) == officer.pk
    assert officer.failed_login_count == 0
    assert not officer.is_locked


# -- Lockout ------------------------------------------------------------------------------


def test_login_locks_the_account_and_says_what_to_do_when_the_password_is_wrong_5_times(
    client, officer
):
    assert settings.LOGIN_LOCKOUT_ATTEMPTS == 5

    before = _fail(client, officer, settings.LOGIN_LOCKOUT_ATTEMPTS - 1)
    officer.refresh_from_db()
    assert not officer.is_locked
    assert b"locked" not in before.content

    response = _fail(client, officer, 1)

    officer.refresh_from_db()
    assert officer.is_locked
    text = response.content.decode()
    assert "This account is now locked" in text
    assert f"Try again in {settings.LOGIN_LOCKOUT_MINUTES} minutes" in text
    assert "ask your LA administrator to unlock it" in text
    event = AuditEvent.objects.get(event_type=EventType.USER_LOCKED)
    assert event.la == officer.la
    assert "locked_until" in event.new


def test_login_is_refused_when_the_account_is_locked_even_with_the_right_password(
    client, officer
):
    _fail(client, officer, settings.LOGIN_LOCKOUT_ATTEMPTS)

    response = _log_in(client, officer.username)

    assert response.status_code == 200
    assert _logged_in_as(client) is None
    text = response.content.decode()
    assert "This account is locked after 5 failed logins" in text
    assert "ask your LA administrator to unlock it" in text
    assert not AuditEvent.objects.filter(event_type=EventType.USER_LOGGED_IN).exists()


def test_login_works_again_when_the_la_admin_unlocks_the_account_with_a_reason(
    client, world, officer
):
    _fail(client, officer, settings.LOGIN_LOCKOUT_ATTEMPTS)
    admin = world.a.users[Role.LA_ADMIN]
    client.force_login(admin)

    page = client.get(f"/accounts/users/{officer.pk}/")
    assert b"locked until" in page.content
    response = client.post(f"/accounts/users/{officer.pk}/", {
        "role": Role.LA_DATA_OFFICER, "is_active": "on", "unlock": "on",
        "reason": "Rang the helpdesk to confirm who they are",
    })
    assert response.status_code == 302
    client.post("/accounts/logout/")

    _log_in(client, officer.username)

    assert _logged_in_as(client) == officer.pk
    event = AuditEvent.objects.get(event_type=EventType.USER_UNLOCKED)
    assert event.acting_user == admin
    assert event.reason == "Rang the helpdesk to confirm who they are"
    assert event.old["failed_login_count"] == settings.LOGIN_LOCKOUT_ATTEMPTS
    assert event.old["locked_until"] is not None
    assert event.new == {"failed_login_count": 0, "locked_until": None}


def test_login_is_allowed_again_when_the_lock_has_run_out(client, officer):
    _fail(client, officer, settings.LOGIN_LOCKOUT_ATTEMPTS)
    User.objects.filter(pk=officer.pk).update(
        locked_until=timezone.now() - dt.timedelta(seconds=1)
    )

    _log_in(client, officer.username)

    assert _logged_in_as(client) == officer.pk


def test_login_is_refused_when_the_user_is_disabled(client, world, officer):
    do_set_user_active(officer, False, acting_user=world.a.users[Role.LA_ADMIN],
                       reason="Left the LA")

    response = _log_in(client, officer.username)

    assert response.status_code == 200
    assert _logged_in_as(client) is None
    assert b"There is a problem" in response.content
    assert b"This account has been disabled" in response.content
    officer.refresh_from_db()
    assert officer.failed_login_count == 0


def test_login_does_not_say_disabled_when_a_disabled_users_password_is_wrong(
    client, world, officer
):
    do_set_user_active(officer, False, acting_user=None)

    response = _log_in(client, officer.username, "not-the-password")

    assert b"This account has been disabled" not in response.content
    assert b"Enter a correct user name and password" in response.content


# -- Sessions -----------------------------------------------------------------------------


def test_next_request_redirects_to_login_when_the_session_has_been_idle_too_long(
    client, officer
):
    _log_in(client, officer.username)
    assert client.get("/").status_code == 200

    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/schools/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/schools/"


def test_session_lasts_the_idle_time_from_the_last_request_when_the_user_is_active(
    client, officer
):
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60
    _log_in(client, officer.username)
    Session.objects.update(expire_date=timezone.now() + dt.timedelta(seconds=30))

    client.get("/")

    session = Session.objects.get()
    idle = dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES)
    assert session.expire_date > timezone.now() + idle - dt.timedelta(minutes=1)


def test_next_request_redirects_to_login_when_the_idle_time_is_set_to_nothing(
    client, officer, settings
):
    settings.SESSION_COOKIE_AGE = -1  # every session has already expired when it is saved
    _log_in(client, officer.username)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_logout_ends_the_session_when_posted(client, officer):
    _log_in(client, officer.username)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert _logged_in_as(client) is None
    assert client.get("/").status_code == 302


def test_logout_is_refused_when_asked_by_get(client, officer):
    _log_in(client, officer.username)

    response = client.get("/accounts/logout/")

    assert response.status_code == 405
    assert _logged_in_as(client) == officer.pk


def test_open_session_ends_when_the_user_is_disabled(client, world, officer):
    _log_in(client, officer.username)

    do_set_user_active(officer, False, acting_user=world.a.users[Role.LA_ADMIN])

    assert client.get("/").status_code == 302


# -- Password reset by email ----------------------------------------------------------------


def _reset_link() -> str:
    assert len(mail.outbox) == 1
    match = re.search(r"https?://testserver(/accounts/password-reset/[^/\s]+/[^/\s]+/)",
                      mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match.group(1)


def _set_password_by_link(client, link: str, password: str = NEW_PASSWORD):
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert b"Set a new password" in form_page.content
    return client.post(form_page.redirect_chain[-1][0],
                       {"new_password1": password, "new_password2": password})


def test_password_reset_sets_a_new_password_when_the_emailed_link_is_followed(client, officer):
    response = client.post("/accounts/password-reset/", {"email": officer.email})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox[0].to == [officer.email]

    done = _set_password_by_link(client, _reset_link())

    assert done.status_code == 302
    assert done["Location"] == "/accounts/password-reset/complete/"
    assert client.get(done["Location"]).status_code == 200
    _log_in(client, officer.username, PASSWORD)
    assert _logged_in_as(client) is None
    _log_in(client, officer.username, NEW_PASSWORD)
    assert _logged_in_as(client) == officer.pk
    event = AuditEvent.objects.get(event_type=EventType.USER_PASSWORD_RESET)
    assert event.acting_user == officer
    assert event.la == officer.la


def test_password_reset_unlocks_the_account_when_a_locked_user_sets_a_new_password(
    client, officer
):
    _fail(client, officer, settings.LOGIN_LOCKOUT_ATTEMPTS)
    client.post("/accounts/password-reset/", {"email": officer.email})

    _set_password_by_link(client, _reset_link())

    _log_in(client, officer.username, NEW_PASSWORD)
    assert _logged_in_as(client) == officer.pk


def test_password_reset_link_says_it_has_expired_when_it_is_used_twice(client, officer):
    client.post("/accounts/password-reset/", {"email": officer.email})
    link = _reset_link()
    _set_password_by_link(client, link)

    response = client.get(link, follow=True)

    assert b"This link has expired" in response.content


def test_password_reset_shows_the_same_check_your_email_page_when_the_email_is_unknown(
    client, officer
):
    known = client.post("/accounts/password-reset/", {"email": officer.email}, follow=True)
    mail.outbox.clear()

    unknown = client.post(
        "/accounts/password-reset/", {"email": "nobody@example.org"}, follow=True
    )

    assert unknown.redirect_chain == known.redirect_chain
    assert b"Check your email" in unknown.content
    assert unknown.content == known.content
    assert mail.outbox == []


def test_password_reset_sends_nothing_when_the_user_is_disabled(client, officer):
    do_set_user_active(officer, False, acting_user=None)

    response = client.post("/accounts/password-reset/", {"email": officer.email}, follow=True)

    assert b"Check your email" in response.content
    assert mail.outbox == []


def test_password_reset_refuses_a_weak_password_with_an_error_summary(client, officer):
    client.post("/accounts/password-reset/", {"email": officer.email})

    response = _set_password_by_link(client, _reset_link(), password="short")

    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert b'href="#id_new_password2"' in response.content
    assert not AuditEvent.objects.filter(event_type=EventType.USER_PASSWORD_RESET).exists()
