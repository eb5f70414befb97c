"""DfE returns from the command line and the app: the gate, the file, its history, moderation."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from openpyxl import load_workbook

from keystage.accounts.models import Role
from keystage.audit.models import AuditEvent, EventType
from keystage.cleaning.actions import do_run_cleaning
from keystage.cli import main
from keystage.collection.actions import import_ctf
from keystage.collection.tests.ctf_builder import ctf, eyfsp_file, eyfsp_rows, pupil_xml
from keystage.formats.upn import check_letter, make_upn
from keystage.jobs.actions import run_pending_jobs
from keystage.returns import actions
from keystage.returns.layout import layout_for
from keystage.returns.models import ReturnFile
from keystage.returns.reader import read_return, validate_return

GOLDEN = Path(__file__).with_name("golden")
FIXED = dt.datetime(2026, 7, 1, 10, 0, 0)


@pytest.fixture
def fixed_time(monkeypatch):
    """Return files made at a fixed time, so they can be compared with golden files."""
    monkeypatch.setattr(actions.timezone, "localtime", lambda *a: FIXED)


def _send(part, school_index=0, count=3, *, sex_of_first="M", temporary=False, expected=17):
    school = part.schools[school_index]
    data, upns = eyfsp_file(part.la.code, school.estab, count, expected=expected)
    if sex_of_first != "M":
        data = data.replace(b"<Sex>M</Sex>", f"<Sex>{sex_of_first}</Sex>".encode(), 1)
    if temporary:
        body = upns[-1][1:12] + "A"
        data = data.replace(upns[-1].encode(), (check_letter(body) + body).encode())
    outcome = import_ctf(
        f"{school.estab}.xml",
        data,
        la=part.la,
        year=2026,
        acting_user=None,
        confirm_replacements=True,
    )
    assert outcome.status == "committed", outcome.message
    return upns


# -- The command line ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the command line closes connections
def test_an_error_blocks_the_return_with_exit_1_and_no_file(world, tmp_path, capsys):
    _send(world.a, sex_of_first="X")

    status = main(["return", "eyfsp", "--la", "330", "--year", "2026", "--out", str(tmp_path)])

    assert status == 1
    assert list(tmp_path.iterdir()) == [] and not ReturnFile.objects.exists()
    out = capsys.readouterr()
    assert "error GEN015" in out.out and "1 error blocks" in out.err  # not "1 errors block"


@pytest.mark.django_db(transaction=True)
def test_queries_must_be_accepted_before_the_return_is_written(world, tmp_path, capsys):
    _send(world.a, temporary=True)

    refused = main(["return", "eyfsp", "--la", "330", "--year", "2026", "--out", str(tmp_path)])
    made = main(
        [
            "return",
            "eyfsp",
            "--la",
            "330",
            "--year",
            "2026",
            "--out",
            str(tmp_path),
            "--allow-queries",
        ]
    )

    assert (refused, made) == (1, 0)
    assert "query GEN005: 1" in capsys.readouterr().out
    record = ReturnFile.objects.get()
    assert record.accepted_queries == {"GEN005": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["330_EYFSP_2026_001.xml"]
    event = AuditEvent.objects.get(event_type=EventType.RETURN_GENERATED)
    assert event.reason == "1 query accepted"  # not "1 queries"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "args",
    [
        ["eyfsp", "--la", "330", "--year", "2026"],  # nothing loaded
        ["eyfsp", "--la", "330", "--year", "2010"],  # before the layout
        ["mtc", "--la", "330", "--year", "2026"],  # no MTC return
        ["eyfsp", "--la", "999", "--year", "2026"],  # no such LA
    ],
)
def test_a_return_with_nothing_to_send_says_so_exits_2_and_writes_nothing(world, tmp_path, args):
    assert main(["return", *args, "--out", str(tmp_path)]) == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_a_written_return_validates_and_reads_back_as_the_committed_results(world, tmp_path):
    upns = _send(world.a, count=4, expected=12)
    _send(world.a, 1, count=2)

    assert main(["return", "eyfsp", "--la", "330", "--year", "2026", "--out", str(tmp_path)]) == 0

    path = tmp_path / "330_EYFSP_2026_001.xml"
    assert validate_return(path, layout_for("eyfsp", 2026)) == []
    _, pupils = read_return(path)
    pupils = list(pupils)
    assert len(pupils) == 6
    first = next(p for p in pupils if p["upn"] == upns[0])
    assert first["estab"] == world.a.schools[0].estab
    assert first["results"] == {f"E{n:02d}": ("2" if n <= 12 else "1") for n in range(1, 18)}
    assert (first["surname"], first["dob"], first["sex"], first["ncyear"]) == (
        "Smith",
        "2020-11-02",
        "M",
        "R",
    )


# -- The file itself, against a golden copy -----------------------------------------------


@pytest.mark.django_db
def test_the_return_file_matches_its_golden_copy(world, fixed_time):
    school = world.a.schools[0]
    pupils = [
        pupil_xml(
            make_upn("330", school.estab, 2021, 1),
            "O'Brien",
            "Siobhán",
            "2020-09-01",
            "F",
            "R",
            eyfsp_rows(["2"] * 17),
        ),
        pupil_xml(
            make_upn("330", school.estab, 2021, 2),
            "Smith & Jones",
            "Ali",
            "2021-08-31",
            "M",
            "R",
            eyfsp_rows(["1"] * 5 + ["2"] * 12),
        ),
    ]
    import_ctf(
        "golden.xml", ctf("330", school.estab, pupils), la=world.a.la, year=2026, acting_user=None
    )
    pvi = world.a.pvi
    import_ctf(
        "pvi.xml",
        ctf(
            "330",
            None,
            [
                pupil_xml(
                    make_upn("330", "2999", 2021, 3),
                    "Ng",
                    "Mei",
                    "2021-05-01",
                    "F",
                    "R",
                    eyfsp_rows(["A"] * 17),
                )
            ],
            urn=pvi.urn,
        ),
        la=world.a.la,
        year=2026,
        acting_user=None,
    )

    # "&" in a name is a query (GEN010); the file must still escape it.
    made = actions.do_make_return(world.a.la, "eyfsp", 2026, acting_user=None,
                                  accept_queries=True)

    text = (Path(settings.MEDIA_ROOT) / made.stored_path).read_text(encoding="utf-8")
    golden = GOLDEN / "app_330_EYFSP_2026_001.xml"
    if os.environ.get("KEYSTAGE_REGENERATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


# -- History ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_later_return_says_what_changed_since_the_previous_one(world):
    upns = _send(world.a, count=3)
    first = actions.do_make_return(world.a.la, "eyfsp", 2026, acting_user=None)
    _send(world.a, count=4, expected=10)  # one pupil more, everyone's results changed
    _send(world.a, 1, count=2)

    second = actions.do_make_return(world.a.la, "eyfsp", 2026, acting_user=None)

    assert (first.serial, second.serial) == (1, 2)
    assert first.changes == {"first": True}
    changes = second.changes
    assert (changes["pupils_added"], changes["pupils_removed"], changes["pupils_changed"]) == (
        3,
        0,
        3,
    )
    assert changes["schools_added"] == [world.a.schools[1].estab]
    assert set(changes["upns_changed"]) == set(upns)
    # E11: four emerging now where three were expected, and two expected from the new school.
    assert changes["counts_moved"]["E11"] == {"1": 4, "2": -1}


@pytest.mark.django_db
def test_a_disk_error_while_writing_leaves_no_file_and_no_history(world, monkeypatch):
    _send(world.a)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(actions, "write_return", broken)
    with pytest.raises(OSError):
        actions.do_make_return(world.a.la, "eyfsp", 2026, acting_user=None)

    folder = Path(settings.MEDIA_ROOT) / "returns" / "330"
    assert not any(p.is_file() for p in folder.rglob("*")) if folder.exists() else True
    assert not ReturnFile.objects.exists()


# -- The app ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker closes connections
def test_the_returns_page_lists_blocking_errors_and_offers_no_button(world, login):
    _send(world.a, sex_of_first="X")
    do_run_cleaning(world.a.la, "eyfsp", 2026, acting_user=None)
    client = login(world.a.users[Role.LA_DATA_OFFICER])

    page = client.get("/returns/?collection=eyfsp&year=2026").content.decode()

    assert "1 error blocks the return" in page and "GEN015" in page
    assert "Make the return" not in page


@pytest.mark.django_db(transaction=True)
def test_a_return_made_in_the_app_records_who_accepted_the_queries(world, login):
    _send(world.a, temporary=True)
    do_run_cleaning(world.a.la, "eyfsp", 2026, acting_user=None)
    officer = world.a.users[Role.LA_DATA_OFFICER]
    client = login(officer)
    page = client.get("/returns/?collection=eyfsp&year=2026").content.decode()
    assert "I have checked the 1 query" in page

    client.post("/returns/make/", {"collection": "eyfsp", "year": "2026"})
    run_pending_jobs()
    assert not ReturnFile.objects.exists()  # queries not accepted: no file
    response = client.post(
        "/returns/make/", {"collection": "eyfsp", "year": "2026", "accept_queries": "yes"}
    )
    run_pending_jobs()

    made = ReturnFile.objects.get()
    assert made.created_by == officer and made.accepted_queries == {"GEN005": 1}
    status = client.get(response.url + "status/").json()
    assert status["result_url"] == f"/returns/{made.pk}/"
    detail = client.get(f"/returns/{made.pk}/").content.decode()
    assert "GEN005 (1)" in detail and officer.username in detail
    download = client.get(f"/returns/{made.pk}/download/")
    assert b"".join(download.streaming_content).startswith(b"<?xml")


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r.value for r in Role
                                  if r not in (Role.NATIONAL_ANALYST, Role.AGENCY_USER)])
def test_another_las_return_file_is_not_found_for_every_role(world, login, role):
    _send(world.b)
    made = actions.do_make_return(world.b.la, "eyfsp", 2026, acting_user=None)
    client = login(world.a.users[role])

    assert client.get(f"/returns/{made.pk}/").status_code == 404
    assert client.get(f"/returns/{made.pk}/download/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.LA_DATA_OFFICER, 200),
        (Role.LA_ANALYST, 200),
        (Role.LA_ADMIN, 200),
        (Role.SCHOOL_USER, 403),
        (Role.TRANSFER_OFFICER, 403),
        (Role.NATIONAL_ANALYST, 403),
    ],
)
def test_the_returns_page_answers_as_the_role_allows(world, login, role, status):
    user = world.national if role == Role.NATIONAL_ANALYST else world.a.users[role]
    client = login(user)

    assert client.get("/returns/?collection=eyfsp&year=2026").status_code == status


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.LA_ANALYST, Role.SCHOOL_USER])
def test_only_la_data_officers_may_make_a_return(world, login, role):
    _send(world.a)
    client = login(world.a.users[role])

    response = client.post("/returns/make/", {"collection": "eyfsp", "year": "2026"})

    assert response.status_code == 403


# -- Moderation exports -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_schools_moderation_export_has_its_summary_and_pupil_results(world, login):
    _send(world.a, count=4, expected=12)  # every pupil at expected in E01-E12: GLD
    client = login(world.a.users[Role.LA_ANALYST])
    school = world.a.schools[0]
    base = f"/returns/moderation/{school.urn}/?year=2026"

    page = client.get(base)
    summary = b"".join(client.get(base + "&format=csv").streaming_content).decode()
    workbook = load_workbook(io.BytesIO(client.get(base + "&format=xlsx").content))

    assert page.status_code == 200
    assert "eyfsp,Good level of development,4,100.0%" in summary.splitlines()
    assert workbook.sheetnames == ["Summary", "EYFSP"]
    assert workbook["EYFSP"].max_row == 5


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["own", "other-school", "other-la"])
def test_a_school_user_may_download_only_its_own_moderation_export(world, login, which):
    school = {
        "own": world.a.schools[0],
        "other-school": world.a.schools[1],
        "other-la": world.b.schools[0],
    }[which]
    client = login(world.a.users[Role.SCHOOL_USER])

    response = client.get(f"/returns/moderation/{school.urn}/?year=2026&format=csv")

    assert response.status_code == (200 if which == "own" else 404)


def test_a_returns_marks_are_listed_in_numeric_order(world, client):
    made = ReturnFile.objects.create(
        la=world.a.la, collection="mtc", year=2026, serial=1, filename="x.xml",
        stored_path="x.xml", sha256="0" * 64, size=1, layout="mtc", rule_set_version="1",
        created_by_name="someone",
        counts={"MTC": {"10": 1, "2": 3, "25": 2, "9": 4, "A": 1}},
    )
    client.force_login(world.a.users["la_data_officer"])

    page = client.get(f"/returns/{made.pk}/").content.decode()

    positions = [page.index(f"{mark}: ") for mark in ("2", "9", "10", "25", "A")]
    assert positions == sorted(positions)
