"""The synth and demo commands, through the keystage command line."""

from __future__ import annotations

import csv

import pytest

from keystage.accounts.models import Role, User
from keystage.audit.models import AuditEvent, EventType
from keystage.cli import main
from keystage.schools.models import Establishment, LocalAuthority


def _rows(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_synth_writes_the_gias_extract_cohorts_and_truth(tmp_path, capsys):
    assert main(["synth", str(tmp_path), "--seed", "5", "--schools", "8"]) == 0
    gias = _rows(tmp_path / "gias_establishments.csv")
    cohorts = _rows(tmp_path / "expected_cohorts.csv")
    truth = _rows(tmp_path / "truth" / "pupils.csv")
    assert {row["LA (code)"] for row in gias} == {"999"}
    assert {row["Collection"] for row in cohorts} >= {"EYFSP", "PHONICS_Y1", "MTC", "KS2TA"}
    assert {row["AcademicYear"] for row in cohorts} == {"2025/26"}
    assert truth and {"upn", "dob", "sex", "fsm", "sen", "gld"} <= set(truth[0])
    assert "Wrote a world of 1 LA(s)" in capsys.readouterr().out


def test_synth_gives_the_same_files_for_the_same_seed(tmp_path):
    for name in ("a", "b"):
        assert main(["synth", str(tmp_path / name), "--seed", "9", "--schools", "5"]) == 0
    for file in ("gias_establishments.csv", "expected_cohorts.csv", "truth/pupils.csv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--la", "123"], "not a known LA code"),
        (["--la", "660"], "not an English or demo LA code"),
        (["--errors", "2"], "--errors is a share between 0 and 1"),
        (["--schools", "0"], "--schools must be at least 1"),
    ],
)
def test_synth_exits_2_with_a_message_when_asked_for_the_impossible(tmp_path, capsys, args,
                                                                     message):
    assert main(["synth", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err


def test_synth_without_outdir_exits_2_with_usage(capsys):
    assert main(["synth"]) == 2
    assert "usage" in capsys.readouterr().err.lower()


@pytest.mark.django_db(transaction=True)  # the command line closes connections
def test_demo_loads_the_demo_la_with_its_schools_pvi_settings_and_users(capsys):
    assert main(["demo", "--schools", "6"]) == 0
    la = LocalAuthority.objects.get(code="999")
    assert la.current_year.label == "2025/26"
    schools = Establishment.objects.filter(la=la)
    assert schools.filter(is_pvi=True).exists()
    assert schools.filter(phase="Secondary").exists()
    assert {u.role for u in User.objects.all()} == set(Role.values)
    assert User.objects.get(username="school").school.la == la
    assert AuditEvent.objects.filter(event_type=EventType.DEMO_LOADED, la=la).count() == 1
    out = capsys.readouterr().out
    assert "Demo logins (password: keystage-demo)" in out


@pytest.mark.django_db(transaction=True)  # the command line closes connections
def test_demo_if_empty_does_nothing_when_the_database_has_data(capsys):
    assert main(["demo", "--schools", "5"]) == 0
    count = Establishment.objects.count()
    events = AuditEvent.objects.count()
    assert main(["demo", "--if-empty"]) == 0
    assert Establishment.objects.count() == count
    assert AuditEvent.objects.count() == events
    assert "demo not loaded" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)  # the command line closes connections
def test_demo_users_can_log_in_with_the_demo_password(client):
    assert main(["demo", "--schools", "5"]) == 0
    response = client.post(
        "/accounts/login/", {"username": "officer", "password": "keystage-demo"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
