"""The `keystage` command line: usage errors exit 2, and the `user` sub-commands manage users."""

from __future__ import annotations

import io
import sys

import pytest
from django.contrib.auth import authenticate
from django.utils.connection import BaseConnectionHandler

from keystage.accounts.models import Role, User
from keystage.audit.models import AuditEvent, EventType
from keystage.cli import main
from keystage.core.testing import PASSWORD

NEW_PASSWORD = "cli-Set-passphrase-2026"


@pytest.fixture
def keep_connection(request, monkeypatch):
    """Keep the test's transaction open across a sub-command.

    Sub-commands run through Django's run_from_argv, which closes every database connection
    when it ends, as a process does on exit. On PostgreSQL that would lose the rolled-back test
    transaction, so these tests keep the connection; one committed test below runs the real
    path, connection closing included.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return
    monkeypatch.setattr(BaseConnectionHandler, "close_all", lambda self: None)


pytestmark = pytest.mark.usefixtures("keep_connection")


@pytest.fixture
def stdin(monkeypatch):
    """Feed standard input to the command, as a shell pipe would."""

    def _feed(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))

    return _feed


# -- Usage ----------------------------------------------------------------------------------


def test_keystage_exits_2_with_usage_when_given_no_arguments(capsys):
    status = main([])

    out, err = capsys.readouterr()
    assert status == 2
    assert err.startswith("usage: keystage COMMAND")
    assert out == ""


@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
def test_keystage_exits_0_with_usage_when_asked_for_help(capsys, flag):
    status = main([flag])

    out, _ = capsys.readouterr()
    assert status == 0
    assert "usage: keystage COMMAND" in out
    assert "user add USERNAME --role ROLE" in out


def test_keystage_exits_2_and_names_the_command_when_it_is_unknown(capsys):
    status = main(["frobnicate", "--now"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "unknown command 'frobnicate'" in err
    assert "usage: keystage COMMAND" in err


def test_user_exits_2_when_the_verb_is_missing(capsys):
    status = main(["user"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "required" in err


def test_user_exits_2_and_names_the_verb_when_it_is_unknown(capsys):
    status = main(["user", "promote", "someone"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "'promote'" in err


def test_user_add_exits_2_when_its_arguments_are_missing(capsys):
    status = main(["user", "add"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "the following arguments are required: username, --role" in err


def test_user_add_exits_2_when_the_role_is_unknown(capsys):
    status = main(["user", "add", "someone", "--role", "headteacher", "--la", "330"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "invalid choice: 'headteacher'" in err


def test_user_add_exits_2_when_both_la_and_school_are_given(capsys):
    status = main(["user", "add", "someone", "--role", "school_user", "--la", "330",
                   "--school", "3302001"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "not allowed with argument" in err


def test_user_help_exits_0_and_lists_the_options(capsys):
    status = main(["user", "add", "--help"])

    out, _ = capsys.readouterr()
    assert status == 0
    assert "--password-stdin" in out
    assert "--school" in out


# -- user add -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_user_add_creates_an_la_user_who_can_log_in_when_the_password_is_piped(
    world, capsys, stdin, client
):
    stdin(NEW_PASSWORD + "\n")

    status = main(["user", "add", "newofficer", "--role", "la_data_officer", "--la", "330",
                   "--email", "new.officer@example.org", "--password-stdin"])

    out, err = capsys.readouterr()
    assert status == 0, err
    assert "Added newofficer (LA data officer, Birmingham (330))." in out
    user = User.objects.get(username="newofficer")
    assert (user.role, user.la, user.school) == (Role.LA_DATA_OFFICER, world.a.la, None)
    assert user.email == "new.officer@example.org"
    assert authenticate(username="newofficer", password=NEW_PASSWORD) == user
    response = client.post("/accounts/login/",
                           {"username": "newofficer", "password": NEW_PASSWORD})
    assert response.status_code == 302
    event = AuditEvent.objects.get(event_type=EventType.USER_CREATED, object_id=str(user.pk))
    assert event.acting_user is None
    assert event.actor.startswith("command line")
    assert event.la == world.a.la


@pytest.mark.django_db
def test_user_add_creates_a_school_user_when_given_the_schools_laestab(world, capsys, stdin):
    stdin(NEW_PASSWORD + "\n")
    school = world.a.schools[1]

    status = main(["user", "add", "headteacher", "--role", "school_user",
                   "--school", school.laestab, "--password-stdin"])

    out, err = capsys.readouterr()
    assert status == 0, err
    user = User.objects.get(username="headteacher")
    assert (user.role, user.la, user.school) == (Role.SCHOOL_USER, world.a.la, school)
    assert school.name in out


@pytest.mark.django_db
def test_user_add_creates_a_pvi_user_when_given_the_settings_ey_urn(world, capsys):
    status = main(["user", "add", "nursery", "--role", "school_user",
                   "--school", world.b.pvi.urn])

    out, _ = capsys.readouterr()
    assert status == 0
    assert User.objects.get(username="nursery").school == world.b.pvi
    assert "No password set" in out
    assert not User.objects.get(username="nursery").has_usable_password()


@pytest.mark.django_db
def test_user_add_creates_a_national_analyst_when_given_no_scope(world, capsys):
    status = main(["user", "add", "dfe", "--role", "national_analyst"])

    assert status == 0
    user = User.objects.get(username="dfe")
    assert (user.la, user.school) == (None, None)


@pytest.mark.django_db
def test_user_add_exits_2_with_a_clear_message_when_a_school_user_is_given_an_la(
    world, capsys
):
    status = main(["user", "add", "wrongscope", "--role", "school_user", "--la", "330"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "A school user needs a school (--school LAESTAB)." in err
    assert not User.objects.filter(username="wrongscope").exists()


@pytest.mark.django_db
def test_user_add_exits_2_with_a_clear_message_when_an_la_role_is_given_a_school(
    world, capsys
):
    status = main(["user", "add", "wrongscope", "--role", "la_analyst",
                   "--school", world.a.schools[0].laestab])

    _, err = capsys.readouterr()
    assert status == 2
    assert "The role la_analyst needs a local authority (--la LLL)." in err
    assert not User.objects.filter(username="wrongscope").exists()


@pytest.mark.django_db
def test_user_add_exits_2_when_a_national_analyst_is_given_an_la(world, capsys):
    status = main(["user", "add", "wrongscope", "--role", "national_analyst", "--la", "330"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "A national analyst belongs to no LA or school." in err


@pytest.mark.django_db
def test_user_add_exits_2_and_says_what_to_do_when_the_la_is_unknown(world, capsys):
    status = main(["user", "add", "nobody", "--role", "la_admin", "--la", "999"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "No local authority 999 in the register" in err
    assert "keystage import-gias" in err
    assert not User.objects.filter(username="nobody").exists()


@pytest.mark.django_db
def test_user_add_exits_2_when_the_school_is_unknown(world, capsys):
    status = main(["user", "add", "nobody", "--role", "school_user", "--school", "3309999"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "No school with LAESTAB or URN 3309999" in err


@pytest.mark.django_db
def test_user_add_exits_2_when_the_user_name_is_taken(world, capsys):
    status = main(["user", "add", "LA_ADMIN_330", "--role", "la_admin", "--la", "330"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "already taken" in err
    assert User.objects.filter(username__iexact="la_admin_330").count() == 1


@pytest.mark.django_db
def test_user_add_exits_2_when_standard_input_is_empty(world, capsys, stdin):
    stdin("")

    status = main(["user", "add", "nopass", "--role", "la_admin", "--la", "330",
                   "--password-stdin"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "No password on standard input." in err
    assert not User.objects.filter(username="nopass").exists()


# -- user list, disable, enable, unlock -------------------------------------------------------


@pytest.mark.django_db
def test_user_list_prints_each_user_with_role_scope_and_state(world, capsys):
    status = main(["user", "list"])

    out, _ = capsys.readouterr()
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == User.objects.count()
    assert "la_admin_330\tla_admin\t330\tactive" in lines
    assert f"school_user_331\tschool_user\t{world.b.schools[0].laestab}\tactive" in lines
    assert "national\tnational_analyst\t-\tactive" in lines


@pytest.mark.django_db
def test_user_list_prints_only_the_las_users_when_given_an_la(world, capsys):
    status = main(["user", "list", "--la", "331"])

    out, _ = capsys.readouterr()
    assert status == 0
    names = [line.split("\t")[0] for line in out.splitlines()]
    assert sorted(names) == sorted(u.username for u in world.b.users.values())


@pytest.mark.django_db
def test_user_disable_and_enable_switch_the_account_off_and_on(world, capsys):
    officer = world.a.users[Role.LA_DATA_OFFICER]

    assert main(["user", "disable", officer.username, "--reason", "Left the LA"]) == 0
    officer.refresh_from_db()
    assert not officer.is_active
    assert authenticate(username=officer.username, password=PASSWORD) is None
    assert "la_data_officer_330\tla_data_officer\t330\tdisabled" in _listing(capsys)

    assert main(["user", "enable", officer.username]) == 0
    officer.refresh_from_db()
    assert officer.is_active
    assert authenticate(username=officer.username, password=PASSWORD) == officer
    disabled = AuditEvent.objects.get(event_type=EventType.USER_DISABLED)
    assert disabled.reason == "Left the LA"
    assert disabled.actor.startswith("command line")
    assert AuditEvent.objects.filter(event_type=EventType.USER_ENABLED).count() == 1


@pytest.mark.django_db
def test_user_unlock_lets_a_locked_user_log_in_again(world, capsys, client, settings):
    officer = world.a.users[Role.LA_DATA_OFFICER]
    for _ in range(settings.LOGIN_LOCKOUT_ATTEMPTS):
        client.post("/accounts/login/", {"username": officer.username, "password": "wrong"})
    assert "la_data_officer_330\tla_data_officer\t330\tlocked" in _listing(capsys)

    status = main(["user", "unlock", officer.username, "--reason", "Phoned in"])

    out, _ = capsys.readouterr()
    assert status == 0
    assert out.strip() == f"Unlocked {officer.username}."
    officer.refresh_from_db()
    assert not officer.is_locked
    assert officer.failed_login_count == 0
    client.post("/accounts/login/", {"username": officer.username, "password": PASSWORD})
    assert client.session.get("_auth_user_id") == str(officer.pk)
    assert AuditEvent.objects.get(event_type=EventType.USER_UNLOCKED).reason == "Phoned in"


@pytest.mark.django_db
@pytest.mark.parametrize("verb", ["disable", "enable", "unlock"])
def test_user_verbs_exit_2_when_the_user_is_unknown(world, capsys, verb):
    status = main(["user", verb, "nobody"])

    _, err = capsys.readouterr()
    assert status == 2
    assert "No user called nobody." in err


def _listing(capsys) -> list[str]:
    capsys.readouterr()
    assert main(["user", "list"]) == 0
    return capsys.readouterr().out.splitlines()
