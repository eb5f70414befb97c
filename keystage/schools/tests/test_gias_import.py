"""Loading GIAS extracts into the register: the command line, the action and the web upload.

The command line (`keystage import-gias`) closes the database connections when it ends, and the
worker closes unusable ones between jobs, as they must in production. A test wrapped in one
transaction would lose it on PostgreSQL, so these tests run with `transactional_db`.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from keystage.audit.models import AuditEvent, EventType
from keystage.cli import main
from keystage.core.testing import GIAS_HEADER, gias_csv
from keystage.jobs.actions import run_pending_jobs
from keystage.jobs.models import Job, JobStatus
from keystage.schools.actions import do_import_establishments
from keystage.schools.models import (
    Establishment,
    EstablishmentImport,
    EstablishmentSource,
    LocalAuthority,
)

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The world's dozen users are made with a cheap hasher (autouse fixtures run first)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Names that differ from data/la_codes.csv, to show that the LA's name is read from the file.
LA_A = {"LA (code)": "330", "LA (name)": "Birmingham City Council"}
LA_B = {"LA (code)": "331", "LA (name)": "Coventry City Council"}


def school(urn: str, estab: str, name: str, la: dict = LA_A, **columns: str) -> dict:
    row = {"URN": urn, **la, "EstablishmentNumber": estab, "EstablishmentName": name}
    row.update({_COLUMN_ALIASES.get(key, key): value for key, value in columns.items()})
    return row


_COLUMN_ALIASES = {
    "status": "EstablishmentStatus (name)",
    "phase": "PhaseOfEducation (name)",
    "type_name": "TypeOfEstablishment (name)",
    "low_age": "StatutoryLowAge",
    "high_age": "StatutoryHighAge",
    "close_date": "CloseDate",
    "postcode": "Postcode",
}

FIRST = [
    school("140001", "2101", "Oak Primary School", postcode="B1 1AA"),
    school("140002", "2102", "Elm Infant School", high_age="7"),
    school("140003", "4101", "Ash Academy", phase="Secondary", type_name="Academy converter",
           low_age="11", high_age="16"),
    school("150001", "2201", "Willow Primary School", la=LA_B),
]
SECOND = [
    school("140001", "2101", "Oak Primary School and Nursery", postcode="B1 1AA", low_age="3"),
    school("140002", "2102", "Elm Infant School", high_age="7", status="Closed",
           close_date="31-08-2026"),
    FIRST[2],
    FIRST[3],
    school("140004", "2103", "Birch Primary School"),
]


def write(tmp_path: Path, data: bytes, name: str = "edubasealldata.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def import_cli(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["import-gias", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def snapshot() -> dict:
    """Everything an import may write, to show that a refused file changed nothing."""
    return {
        "las": list(LocalAuthority.objects.order_by("code").values_list("code", "name")),
        "register": list(
            Establishment.objects.order_by("urn").values_list(
                "urn", "la__code", *Establishment.REGISTER_FIELDS, "source", "is_pvi",
                "updated_at",
            )
        ),
        "imports": list(EstablishmentImport.objects.order_by("pk").values_list("pk", "sha256")),
        "audit": list(
            AuditEvent.objects.exclude(event_type=EventType.JOB_QUEUED)
            .order_by("pk").values_list("pk", "event_type")
        ),
    }


# --- the command line -------------------------------------------------------------------------


def test_first_import_adds_the_schools_and_creates_the_las_it_names(tmp_path, capsys):
    path = write(tmp_path, gias_csv(FIRST))

    status, out, err = import_cli(capsys, str(path))

    assert status == 0, err
    assert ("edubasealldata.csv: 4 rows read; 4 added, 0 changed, 0 closed, 0 unchanged; "
            "2 local authorities created") in out
    for urn in ("140001", "140002", "140003", "150001"):
        assert f"added: {urn}" in out
    assert dict(LocalAuthority.objects.values_list("code", "name")) == {
        "330": "Birmingham City Council", "331": "Coventry City Council",
    }
    oak = Establishment.objects.get(urn="140001")
    assert (oak.la.code, oak.estab, oak.laestab, oak.name) == (
        "330", "2101", "3302101", "Oak Primary School")
    assert (oak.status, oak.phase, oak.low_age, oak.high_age) == ("Open", "Primary", 4, 11)
    assert (oak.open_date, oak.close_date, oak.postcode) == (date(1990, 9, 1), None, "B1 1AA")
    assert (oak.source, oak.is_pvi) == (EstablishmentSource.GIAS, False)
    ash = Establishment.objects.get(urn="140003")
    assert (ash.phase, ash.type_name, ash.low_age, ash.high_age) == (
        "Secondary", "Academy converter", 11, 16)
    assert Establishment.objects.get(urn="150001").la.code == "331"

    logs = {log.la.code: log for log in EstablishmentImport.objects.select_related("la")}
    assert set(logs) == {"330", "331"}
    assert (logs["330"].rows_read, logs["330"].added, logs["330"].las_created) == (3, 3, 1)
    assert (logs["331"].rows_read, logs["331"].added) == (1, 1)
    assert logs["330"].report["added"] == ["140001", "140002", "140003"]
    assert logs["330"].imported_by is None
    assert logs["330"].imported_by_name.startswith("command line")


def test_second_import_reports_changed_fields_with_old_and_new_values_and_closures(
    tmp_path, capsys
):
    assert import_cli(capsys, str(write(tmp_path, gias_csv(FIRST))))[0] == 0

    status, out, err = import_cli(capsys, str(write(tmp_path, gias_csv(SECOND), "second.csv")))

    assert status == 0, err
    assert ("second.csv: 5 rows read; 1 added, 1 changed, 1 closed, 2 unchanged; "
            "0 local authorities created") in out
    assert "added: 140004" in out
    changed = _line(out, "changed: 140001")
    assert "name: Oak Primary School -> Oak Primary School and Nursery" in changed
    assert "low_age: 4 -> 3" in changed
    closed = _line(out, "closed: 140002")
    assert "status: Open -> Closed" in closed
    assert "close_date: (empty) -> 2026-08-31" in closed
    assert "140003" not in out and "150001" not in out

    oak = Establishment.objects.get(urn="140001")
    assert (oak.name, oak.low_age) == ("Oak Primary School and Nursery", 3)
    elm = Establishment.objects.get(urn="140002")
    assert (elm.status, elm.close_date) == ("Closed", date(2026, 8, 31))
    assert Establishment.objects.get(urn="140004").la.code == "330"

    log = EstablishmentImport.objects.filter(la__code="330", filename="second.csv").get()
    assert (log.rows_read, log.added, log.changed, log.closed, log.unchanged) == (4, 1, 1, 1, 1)
    assert log.report["changed"] == {
        "140001": {"name": ["Oak Primary School", "Oak Primary School and Nursery"],
                   "low_age": [4, 3]},
        "140002": {"status": ["Open", "Closed"], "close_date": [None, "2026-08-31"]},
    }
    assert log.report["closed"] == ["140002"]
    assert log.report["added"] == ["140004"]


def _line(out: str, start: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith(start)]
    assert len(lines) == 1, f"no single line starting {start!r} in:\n{out}"
    return lines[0]


def test_the_action_reports_the_same_changes(tmp_path):
    do_import_establishments(gias_csv(FIRST), filename="first.csv", acting_user=None)

    outcome = do_import_establishments(
        write(tmp_path, gias_csv(SECOND)), filename="second.csv", acting_user=None
    )

    assert outcome.rows_read == 5
    assert outcome.added == ["140004"]
    assert outcome.closed == ["140002"]
    assert outcome.changed["140001"] == {
        "name": ["Oak Primary School", "Oak Primary School and Nursery"], "low_age": [4, 3],
    }
    assert outcome.changed["140002"]["status"] == ["Open", "Closed"]
    assert outcome.unchanged == 2
    assert outcome.las_created == []
    assert "1 added, 1 changed, 1 closed, 2 unchanged" in outcome.summary()


def test_an_identical_reimport_changes_nothing(tmp_path, capsys):
    path = write(tmp_path, gias_csv(FIRST))
    assert import_cli(capsys, str(path))[0] == 0
    register = snapshot()["register"]
    events = AuditEvent.objects.count()

    status, out, err = import_cli(capsys, str(path))

    assert status == 0, err
    assert "4 rows read; 0 added, 0 changed, 0 closed, 4 unchanged; 0 local authorities" in out
    assert not re.search(r"^(added|changed|closed):", out, re.MULTILINE)
    assert snapshot()["register"] == register
    # Only the two register-imported events (one per LA) are new.
    new_events = AuditEvent.objects.order_by("pk")[events:]
    assert [e.event_type for e in new_events] == [EventType.REGISTER_IMPORTED] * 2
    logs = EstablishmentImport.objects.order_by("-pk")[:2]
    assert {(log.added, log.changed, log.closed, log.unchanged) for log in logs} == {
        (0, 0, 0, 3), (0, 0, 0, 1)
    }


def test_la_option_loads_only_that_las_rows(tmp_path, capsys):
    path = write(tmp_path, gias_csv(SECOND))

    status, out, err = import_cli(capsys, str(path), "--la", "330")

    assert status == 0, err
    assert "4 rows read; 4 added" in out
    assert list(LocalAuthority.objects.values_list("code", flat=True)) == ["330"]
    assert set(Establishment.objects.values_list("urn", flat=True)) == {
        "140001", "140002", "140003", "140004"}
    assert list(EstablishmentImport.objects.values_list("la__code", flat=True)) == ["330"]


def test_a_status_change_that_is_not_a_closure_is_reported_as_changed(tmp_path):
    rows = [school("140001", "2101", "Oak Primary School", status="Closed",
                   close_date="31-08-2020")]
    do_import_establishments(gias_csv(rows), filename="first.csv", acting_user=None)
    rows[0]["EstablishmentStatus (name)"] = "Proposed to open"

    outcome = do_import_establishments(gias_csv(rows), filename="second.csv", acting_user=None)

    assert outcome.closed == []
    assert outcome.changed["140001"] == {"status": ["Closed", "Proposed to open"]}


def test_a_school_moved_to_another_la_is_reported(tmp_path):
    do_import_establishments(gias_csv(FIRST), filename="first.csv", acting_user=None)
    moved = [school("150001", "2201", "Willow Primary School", la=LA_A)]

    outcome = do_import_establishments(gias_csv(moved), filename="moved.csv", acting_user=None)

    assert outcome.changed["150001"] == {"laestab": ["3312201", "3302201"], "la": ["331", "330"]}
    assert Establishment.objects.get(urn="150001").la.code == "330"


def test_a_pvi_setting_found_in_gias_becomes_a_gias_entry(world):
    rows = [{"URN": "512345", **LA_A, "EstablishmentName": "Little Acorns 330",
             "TypeOfEstablishment (name)": "Private, voluntary or independent early years setting",
             "EstablishmentTypeGroup (name)": "Other types", "PhaseOfEducation (name)": "Nursery",
             "StatutoryLowAge": "0", "StatutoryHighAge": "5", "OpenDate": "", "Postcode": ""}]

    outcome = do_import_establishments(gias_csv(rows), filename="g.csv", acting_user=None)

    assert outcome.changed["512345"] == {"source": ["manual", "gias"]}
    assert Establishment.objects.get(urn="512345").source == EstablishmentSource.GIAS


# --- audit ------------------------------------------------------------------------------------


def test_every_added_changed_and_closed_school_and_each_import_is_audited(tmp_path, capsys):
    assert import_cli(capsys, str(write(tmp_path, gias_csv(FIRST))))[0] == 0
    first = list(AuditEvent.objects.order_by("pk"))
    by_type: dict[str, list[AuditEvent]] = {}
    for event in first:
        by_type.setdefault(event.event_type, []).append(event)
    assert {e.object_id for e in by_type[EventType.LA_CREATED]} == {
        str(pk) for pk in LocalAuthority.objects.values_list("pk", flat=True)}
    added = {e.school.urn: e for e in by_type[EventType.ESTABLISHMENT_ADDED]}
    assert set(added) == {"140001", "140002", "140003", "150001"}
    assert added["140001"].new["name"] == "Oak Primary School"
    assert added["140001"].new["open_date"] == "1990-09-01"
    assert added["140001"].la.code == "330"
    assert added["140001"].actor.startswith("command line")
    imported = by_type[EventType.REGISTER_IMPORTED]
    assert sorted(e.la.code for e in imported) == ["330", "331"]
    assert {e.object_id for e in imported} == {
        str(pk) for pk in EstablishmentImport.objects.values_list("pk", flat=True)}
    assert all(len(e.extra_data["sha256"]) == 64 for e in imported)

    assert import_cli(capsys, str(write(tmp_path, gias_csv(SECOND), "second.csv")))[0] == 0
    second = AuditEvent.objects.filter(pk__gt=first[-1].pk)
    changed = second.get(event_type=EventType.ESTABLISHMENT_CHANGED)
    assert changed.school.urn == "140001"
    assert changed.old == {"name": "Oak Primary School", "low_age": 4}
    assert changed.new == {"name": "Oak Primary School and Nursery", "low_age": 3}
    closed = second.get(event_type=EventType.ESTABLISHMENT_CLOSED)
    assert closed.school.urn == "140002"
    assert closed.old == {"status": "Open", "close_date": None}
    assert closed.new == {"status": "Closed", "close_date": "2026-08-31"}
    assert second.get(event_type=EventType.ESTABLISHMENT_ADDED).school.urn == "140004"
    assert sorted(
        second.filter(event_type=EventType.REGISTER_IMPORTED).values_list("la__code", flat=True)
    ) == ["330", "331"]
    assert second.count() == 5


# --- bad input: exit 2, a message naming the file, line and column, nothing changed -----------


def _valid_lines() -> list[bytes]:
    # A new LA, a changed school and a new school come before the bad row: none may be written.
    rows = [
        school("160001", "2001", "Maple Primary School", la={"LA (code)": "332",
                                                             "LA (name)": "Dudley"}),
        school("100001", "2001", "Renamed Birmingham Primary School",
               **{"LA (name)": "Birmingham"}),
        school("140009", "2109", "Hazel Primary School"),
        school("140010", "2110", "Holly Primary School"),
    ]
    return gias_csv(rows).splitlines()


def _missing_column() -> bytes:
    header = GIAS_HEADER.replace(",EstablishmentStatus (name)", "")
    lines = [header.encode()] + [
        b",".join(line.split(b",")[:7] + line.split(b",")[8:]) for line in _valid_lines()[1:]
    ]
    return b"\n".join(lines) + b"\n"


def _windows_1252() -> bytes:
    lines = _valid_lines()
    lines[4] = lines[4].replace(b"Holly Primary", "Holly Caf\u00e9 Primary".encode("cp1252"))
    return b"\n".join(lines) + b"\n"


def _duplicated_urn() -> bytes:
    lines = _valid_lines()
    lines[4] = lines[4].replace(b"140010", b"140009")
    return b"\n".join(lines) + b"\n"


def _unknown_la() -> bytes:
    lines = _valid_lines()
    lines[3] = lines[3].replace(b",330,", b",998,")
    return b"\n".join(lines) + b"\n"


def _too_many_fields() -> bytes:
    lines = _valid_lines()
    lines[4] = lines[4] + b",stray"
    return b"\n".join(lines) + b"\n"


BAD_FILES = {
    "missing-column": (_missing_column, 1, None,
                       "the header row has no column EstablishmentStatus (name)"),
    "windows-1252": (_windows_1252, 5, None, "the file is not UTF-8"),
    "duplicated-urn": (_duplicated_urn, 5, "URN", "URN 140009 is also on line 4"),
    "unknown-la": (_unknown_la, 4, "LA (code)", "'998' is not a known LA code"),
    "too-many-fields": (_too_many_fields, 5, None,
                        "this row has 15 fields but the header has 14"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_bad_file_exits_2_names_file_line_and_column_and_changes_nothing(
    kind, world, tmp_path, capsys
):
    make, line, column, problem = BAD_FILES[kind]
    path = write(tmp_path, make(), "bad-extract.csv")
    before = snapshot()

    status, out, err = import_cli(capsys, str(path))

    assert status == 2
    where = f"bad-extract.csv, line {line}" + (f", column {column}" if column else "")
    assert f"{where}: " in err, err
    assert problem in err
    assert "Nothing was changed in the register." in err
    assert "rows read" not in out
    assert snapshot() == before


def test_a_windows_1252_file_tells_the_user_how_to_save_it(tmp_path, capsys, db):
    status, _, err = import_cli(capsys, str(write(tmp_path, _windows_1252(), "w.csv")))
    assert status == 2
    assert "0xE9" in err and "'\u00e9' in Windows-1252" in err
    assert 'save it as "CSV UTF-8 (Comma delimited)"' in err


def test_an_unknown_la_option_exits_2_and_changes_nothing(world, tmp_path, capsys):
    path = write(tmp_path, gias_csv(FIRST))
    before = snapshot()

    status, out, err = import_cli(capsys, str(path), "--la", "123")

    assert status == 2
    assert "--la 123: not a known LA code" in err
    assert snapshot() == before


def test_a_missing_file_exits_2(tmp_path, capsys, db):
    status, _, err = import_cli(capsys, str(tmp_path / "nowhere.csv"))
    assert status == 2
    assert "nowhere.csv: no such file" in err


def test_a_missing_argument_or_unknown_command_exits_2_with_usage(capsys, db):
    assert main(["import-gias"]) == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "file" in err

    assert main(["import-gais", "x.csv"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'import-gais'" in err and "usage: keystage COMMAND" in err

    assert main([]) == 2
    assert "usage: keystage COMMAND" in capsys.readouterr().err


def test_many_rows_import_with_a_bounded_number_of_queries(django_assert_max_num_queries):
    codes = ["330", "331", "332", "333", "334"]
    rows = [
        {"URN": str(200000 + i), "LA (code)": codes[i % 5], "EstablishmentNumber": f"{i:04d}",
         "EstablishmentName": f"School {i}"}
        for i in range(1000)
    ]
    with django_assert_max_num_queries(60):
        outcome = do_import_establishments(gias_csv(rows), filename="big.csv", acting_user=None)
    assert len(outcome.added) == 1000
    assert AuditEvent.objects.filter(event_type=EventType.ESTABLISHMENT_ADDED).count() == 1000

    for row in rows[::4]:
        row["Postcode"] = "ZZ9 9ZZ"
    with django_assert_max_num_queries(60):
        outcome = do_import_establishments(gias_csv(rows), filename="big2.csv", acting_user=None)
    assert (len(outcome.changed), outcome.unchanged) == (250, 750)
    assert Establishment.objects.filter(postcode="ZZ9 9ZZ").count() == 250


# --- the web upload and the background job ----------------------------------------------------


def _web_rows() -> list[dict]:
    """The test world's extract changed: 330 and 331 each get a rename, a closure and a school."""
    b330 = {"LA (code)": "330", "LA (name)": "Birmingham"}
    c331 = {"LA (code)": "331", "LA (name)": "Coventry"}
    academy = {"type_name": "Academy converter", "phase": "Secondary", "low_age": "11",
               "high_age": "16", "EstablishmentTypeGroup (name)": "Academies"}
    return [
        school("100001", "2001", "Birmingham Primary School and Nursery", la=b330),
        school("100002", "2002", "Birmingham Infant School", la=b330, high_age="7",
               status="Closed", close_date="31-08-2026"),
        school("100003", "4001", "Birmingham Academy", la=b330, **academy),
        school("100004", "2004", "Birmingham New Primary School", la=b330),
        school("110001", "2001", "Coventry Primary School Renamed", la=c331),
        school("110002", "2002", "Coventry Infant School", la=c331, high_age="7",
               status="Closed", close_date="31-08-2026"),
        school("110004", "2004", "Coventry New Primary School", la=c331),
    ]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _upload(client, data: bytes, name: str = "edubasealldata.csv"):
    return client.post(reverse("schools:import"), {"extract": SimpleUploadedFile(name, data)})


def test_web_upload_queues_a_job_whose_report_lists_the_changes(world, login, media):
    client = login(world.a.users["la_admin"])

    response = _upload(client, gias_csv(_web_rows()))

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert (job.kind, job.status, job.la, job.created_by) == (
        "import-gias", JobStatus.QUEUED, world.a.la, world.a.users["la_admin"])
    assert len(list((media / "jobs").iterdir())) == 1
    page = client.get(f"/jobs/{job.pk}/")
    assert page.status_code == 200 and "Waiting to start" in page.content.decode()

    assert main(["worker", "--once"]) == 0

    status = client.get(f"/jobs/{job.pk}/status/").json()
    log = EstablishmentImport.objects.get(filename="edubasealldata.csv")
    assert status["status"] == "succeeded"
    assert status["finished"] is True
    assert status["status_label"] == "Finished"
    assert status["percent"] == 100
    assert status["error"] == ""
    assert status["result_url"] == f"/schools/import/{log.pk}/"
    assert not list((media / "jobs").iterdir()), "the stored upload is removed"

    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Finished" in page and f'href="/schools/import/{log.pk}/"' in page

    report = client.get(status["result_url"])
    assert report.status_code == 200
    html = report.content.decode()
    assert "Birmingham New Primary School</a> (100004)" in html
    assert "Birmingham Primary School and Nursery</a> (100001)" in html
    assert re.search(r"<td[^>]*>name</td><td[^>]*>Birmingham Primary School</td>"
                     r"<td[^>]*>Birmingham Primary School and Nursery</td>", html)
    assert re.search(r"Birmingham Infant School</a> \(100002\) <strong[^>]*>Closed</strong>", html)
    assert re.search(r"<td[^>]*>close_date</td><td[^>]*></td><td[^>]*>2026-08-31</td>", html)
    assert (log.la, log.imported_by, log.added, log.changed, log.closed, log.unchanged) == (
        world.a.la, world.a.users["la_admin"], 1, 1, 1, 1)

    # The LA administrator's import loads only their own LA's rows, even from a national file.
    assert Establishment.objects.get(urn="110001").name == "Coventry Primary School"
    assert Establishment.objects.get(urn="110002").status == "Open"
    assert not Establishment.objects.filter(urn="110004").exists()
    assert not EstablishmentImport.objects.filter(la=world.b.la, filename="edubasealldata.csv")
    assert "Coventry" not in html
    events = AuditEvent.objects.filter(acting_user=world.a.users["la_admin"])
    assert set(events.values_list("event_type", flat=True)) == {
        EventType.JOB_QUEUED, EventType.ESTABLISHMENT_ADDED, EventType.ESTABLISHMENT_CHANGED,
        EventType.ESTABLISHMENT_CLOSED, EventType.REGISTER_IMPORTED,
    }
    assert not events.exclude(la=world.a.la).exists()


def test_web_upload_job_runs_with_run_pending_jobs(world, login, media):
    client = login(world.a.users["la_admin"])
    response = _upload(client, gias_csv(_web_rows()))
    assert run_pending_jobs() == 1
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["summary"].startswith("edubasealldata.csv: 4 rows read; 1 added")


def test_a_bad_web_upload_fails_the_job_with_file_and_line_and_changes_nothing(
    world, login, media
):
    client = login(world.a.users["la_admin"])
    before = snapshot()

    response = _upload(client, _windows_1252(), "broken.csv")
    assert run_pending_jobs() == 1

    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    status = client.get(f"/jobs/{job.pk}/status/").json()
    assert status["status"] == "failed" and status["finished"] is True
    assert status["status_label"] == "Failed"
    assert status["error"].startswith("broken.csv, line 5: the file is not UTF-8")
    assert status["result_url"] == ""
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "The job failed" in page and "broken.csv, line 5" in page
    assert snapshot() == before
    assert not list((media / "jobs").iterdir())


def test_only_an_la_administrator_may_upload_and_only_their_las_jobs_are_visible(
    world, login, media
):
    client = login(world.a.users["la_data_officer"])
    assert _upload(client, gias_csv(_web_rows())).status_code == 403
    assert client.get(reverse("schools:import")).status_code == 403
    assert not Job.objects.exists()

    client = login(world.a.users["la_admin"])
    _upload(client, gias_csv(_web_rows()))
    run_pending_jobs()
    job = Job.objects.get()
    log = EstablishmentImport.objects.get(filename="edubasealldata.csv")

    client = login(world.b.users["la_admin"])
    assert client.get(f"/jobs/{job.pk}/status/").status_code == 404
    assert client.get(f"/schools/import/{log.pk}/").status_code == 404
    client = login(world.a.users["school_user"])
    assert client.get(f"/schools/import/{log.pk}/").status_code == 404


def test_an_upload_without_a_file_shows_the_error(world, login, media):
    client = login(world.a.users["la_admin"])
    response = client.post(reverse("schools:import"), {"extract": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert "Choose the CSV file you downloaded from GIAS." in html
    assert not Job.objects.exists()
