"""Logging in and out, throttling of failed logins, idle sessions and password reset by email."""

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
    assert officer.failed_login_count == 1
    assert AuditEvent.objects.filter(event_type=EventType.USER_LOGIN_FAILED).count() == 1


def test_login_goes_to_the_next_page_when_one_was_asked_for(client, officer):
    response = client.post(
        "/accounts/login/?next=/schools/",
        {"username": officer.username, "password": PASSWORD, "next": "/schools/"},
    )

    assert response["Location"] == "/schools/"


# -- Throttling (django-axes: per user name and source address) -----------------------------

ATTACKER = "203.0.113.66"
REAL_USER = "198.51.100.7"


def _log_in_from(client, address: str, username: str, password: str = PASSWORD):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def _fail_from(client, address: str, username: str, times: int):
    response = None
    for _ in range(times):
        response = _log_in_from(client, address, username, "not-the-password")
    return response


def _error_summary(response) -> str:
    text = response.content.decode()
    start = text.index("There is a problem")
    return text[start:text.index("</div>", start)]


def test_login_is_refused_even_with_the_right_password_once_an_address_has_failed_5_times(
    client, officer
):
    assert settings.LOGIN_LOCKOUT_ATTEMPTS == 5
    _fail_from(client, ATTACKER, officer.username, 5)

    response = _log_in_from(client, ATTACKER, officer.username)

    assert response.status_code == 200
    assert _logged_in_as(client) is None
    assert b"Enter a correct user name and password" in response.content
    event = AuditEvent.objects.get(event_type=EventType.USER_LOCKED)
    assert event.la == officer.la
    assert event.new == {"ip_address": ATTACKER, "cool_off_minutes": 15}
    assert not AuditEvent.objects.filter(event_type=EventType.USER_LOGGED_IN).exists()


def test_login_keeps_the_count_when_a_right_guess_comes_among_wrong_ones(client, officer):
    _fail_from(client, ATTACKER, officer.username, 4)
    _log_in_from(client, ATTACKER, officer.username)
    assert _logged_in_as(client) == officer.pk
    client.post("/accounts/logout/")

    _fail_from(client, ATTACKER, officer.username, 1)
    response = _log_in_from(client, ATTACKER, officer.username)

    assert _logged_in_as(client) is None
    assert b"Enter a correct user name and password" in response.content
    assert officer.is_locked


def test_login_from_another_address_works_when_a_guesser_has_locked_their_own(
    client, officer
):
    _fail_from(client, ATTACKER, officer.username, 8)

    _log_in_from(client, REAL_USER, officer.username)

    assert _logged_in_as(client) == officer.pk


def test_open_session_keeps_working_when_a_guesser_locks_the_account(client, officer):
    from django.test import Client

    _log_in_from(client, REAL_USER, officer.username)
    assert _logged_in_as(client) == officer.pk

    _fail_from(Client(), ATTACKER, officer.username, 8)

    assert officer.is_locked
    assert client.get("/", REMOTE_ADDR=REAL_USER).status_code == 200
    assert _logged_in_as(client) == officer.pk


def test_login_answers_a_locked_account_as_it_answers_an_unknown_user(client, officer):
    _fail_from(client, ATTACKER, officer.username, 5)

    locked = _log_in_from(client, ATTACKER, officer.username)
    unknown = _log_in_from(client, ATTACKER, "nobody-by-this-name")
    wrong = _log_in_from(client, REAL_USER, officer.username, "not-the-password")

    assert locked.status_code == unknown.status_code == wrong.status_code == 200
    assert _error_summary(locked) == _error_summary(unknown) == _error_summary(wrong)
    assert b"locked" not in locked.content.lower()
    assert _page(locked, officer.username) == _page(unknown, "nobody-by-this-name")


def _page(response, username: str = "") -> str:
    """The page with the typed user name and the per-response CSRF and CSP values blanked."""
    text = response.content.decode()
    if username:
        text = text.replace(username, "USERNAME")
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)
    return re.sub(r'nonce="[^"]+"', "NONCE", text)


def test_login_waits_twice_as_long_after_a_second_lockout_of_the_same_address(
    client, officer
):
    from axes.models import AccessAttempt

    _fail_from(client, ATTACKER, officer.username, 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    _log_in_from(client, ATTACKER, officer.username)
    assert _logged_in_as(client) == officer.pk  # the first 15 minutes have passed
    client.post("/accounts/logout/")

    _fail_from(client, ATTACKER, officer.username, 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    _log_in_from(client, ATTACKER, officer.username)

    assert _logged_in_as(client) is None  # the second lockout lasts 30 minutes
    waits = AuditEvent.objects.filter(event_type=EventType.USER_LOCKED).order_by("pk")
    assert [e.new["cool_off_minutes"] for e in waits] == [15, 30]


def test_login_works_again_when_the_la_admin_unlocks_the_account_with_a_reason(
    client, world, officer
):
    _fail_from(client, ATTACKER, officer.username, 5)
    admin = world.a.users[Role.LA_ADMIN]
    client.force_login(admin)

    page = client.get(f"/accounts/users/{officer.pk}/")
    assert b"locked" in page.content
    assert b">Locked</strong>" in client.get("/accounts/users/").content
    response = client.post(f"/accounts/users/{officer.pk}/", {
        "role": Role.LA_DATA_OFFICER, "is_active": "on", "unlock": "on",
        "reason": "Rang the helpdesk to confirm who they are",
    })
    assert response.status_code == 302
    client.post("/accounts/logout/")

    _log_in_from(client, ATTACKER, officer.username)

    assert _logged_in_as(client) == officer.pk
    event = AuditEvent.objects.get(event_type=EventType.USER_UNLOCKED)
    assert event.acting_user == admin
    assert event.reason == "Rang the helpdesk to confirm who they are"
    assert event.old == {"failed_login_count": 5}
    assert event.new == {"failed_login_count": 0}


def test_login_is_allowed_again_when_the_lock_has_run_out(client, officer):
    from axes.models import AccessAttempt

    _fail_from(client, ATTACKER, officer.username, 5)
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES + 1)
    )

    _log_in_from(client, ATTACKER, officer.username)

    assert _logged_in_as(client) == officer.pk


def test_login_is_refused_when_the_user_is_disabled(client, world, officer):
    do_set_user_active(officer, False, acting_user=world.a.users[Role.LA_ADMIN],
                       reason="Left the LA")

    response = _log_in(client, officer.username)

    assert response.status_code == 200
    assert _logged_in_as(client) is None
    assert b"There is a problem" in response.content
    assert b"This account has been disabled" in response.content


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


def test_a_request_soon_after_the_last_save_reads_the_session_without_writing_it(
    client, officer
):
    """The expiry moves on at most once a minute (keystage.core.sessions): a busy page costs
    a read, and the session still lasts the idle time from about the last request."""
    _log_in(client, officer.username)
    saved = Session.objects.get().expire_date

    client.get("/")
    assert Session.objects.get().expire_date == saved

    Session.objects.update(expire_date=saved - dt.timedelta(minutes=2))
    client.get("/")
    assert Session.objects.get().expire_date > saved - dt.timedelta(seconds=5)


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
    assert _page(unknown) == _page(known)
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


def test_password_reset_sends_at_most_3_emails_an_hour_to_one_account_and_answers_the_same(
    client, officer
):
    answers = [
        client.post("/accounts/password-reset/", {"email": officer.email},
                    REMOTE_ADDR=f"198.51.100.{n}", follow=True)
        for n in range(5)
    ]

    assert len(mail.outbox) == settings.PASSWORD_RESET_EMAILS_PER_HOUR == 3
    assert {_page(answer) for answer in answers} == {_page(answers[0])}
    assert all(answer.redirect_chain == answers[0].redirect_chain for answer in answers)


def test_password_reset_sends_again_when_the_hour_has_passed(client, officer):
    from keystage.accounts.models import PasswordResetRequest

    for _ in range(4):
        client.post("/accounts/password-reset/", {"email": officer.email})
    PasswordResetRequest.objects.update(requested_at=timezone.now() - dt.timedelta(minutes=61))

    client.post("/accounts/password-reset/", {"email": officer.email})

    assert len(mail.outbox) == 4


def test_password_reset_stops_emailing_anyone_when_one_address_asks_too_often(
    client, world, settings
):
    settings.PASSWORD_RESET_REQUESTS_PER_HOUR = 2
    users = [world.a.users[role] for role in (Role.LA_ADMIN, Role.LA_ANALYST, Role.LA_DATA_OFFICER)]

    for user in users:
        response = client.post("/accounts/password-reset/", {"email": user.email},
                               REMOTE_ADDR=ATTACKER, follow=True)
        assert b"Check your email" in response.content

    assert [m.to for m in mail.outbox] == [[users[0].email], [users[1].email]]
    client.post("/accounts/password-reset/", {"email": users[2].email}, REMOTE_ADDR=REAL_USER)
    assert mail.outbox[-1].to == [users[2].email]


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_are_all_counted_and_a_right_one_among_them_is_refused_after_the_limit(
    world,
):
    """Twelve wrong guesses, six at a time: none is lost; the right password then fails."""
    from concurrent.futures import ThreadPoolExecutor

    from axes.models import AccessFailureLog
    from django.db import connection, connections
    from django.test import Client

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite's test database is in memory)")
    officer = world.a.users[Role.LA_DATA_OFFICER]

    def guess(password: str) -> bool:
        try:
            client = Client()
            _log_in_from(client, ATTACKER, officer.username, password)
            return _logged_in_as(client) is not None
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(guess, ["not-the-password"] * 12))

    # Every guess that reached a password check is counted (no lost update), and at most the
    # ones already in flight when the limit was reached got that far.
    checked = AccessFailureLog.objects.count()
    assert officer.failed_login_count == checked
    assert settings.LOGIN_LOCKOUT_ATTEMPTS <= checked < settings.LOGIN_LOCKOUT_ATTEMPTS + 6
    assert not guess(PASSWORD)
    assert guess(PASSWORD) is False  # still paused, whatever the order of arrival
