"""Importing assessment files through the command line and the actions."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from keystage.audit.models import AuditEvent, EventType
from keystage.cli import main
from keystage.collection.models import (
    AssessmentResult,
    PupilRecord,
    ReceivedFile,
    Submission,
    SubmissionStatus,
)
from keystage.collection.tests.ctf_builder import ctf, eyfsp_file, eyfsp_rows, pupil_xml
from keystage.schools.actions import do_update_establishment

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _import(*paths, la="330", year="2026", yes=False):
    return main(["import", *paths, "--la", la, "--year", year, *(["--yes"] if yes else [])])


def _state():
    return (Submission.objects.count(), PupilRecord.objects.count(),
            AssessmentResult.objects.count(), ReceivedFile.objects.count())


def test_import_loads_an_eyfsp_file_with_derived_measures(world, tmp_path, capsys):
    school = world.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 3)
    assert _import(_write(tmp_path, "whatever.xml", data)) == 0
    submission = Submission.objects.get()
    assert (submission.school, submission.collection, submission.year) == (school, "eyfsp", 2026)
    assert submission.pupil_count == 3 and submission.result_count == 51
    pupils = PupilRecord.objects.order_by("upn")
    assert [p.upn for p in pupils] == sorted(upns)
    assert all(p.gld and p.elgs_expected == 17 for p in pupils)
    assert AuditEvent.objects.filter(event_type=EventType.SUBMISSION_ADDED).count() == 1
    assert "committed" in capsys.readouterr().out


def test_gld_needs_expected_in_the_first_twelve_elgs(world, tmp_path):
    school = world.a.schools[0]
    data, _ = eyfsp_file("330", school.estab, 1, expected=11)
    assert _import(_write(tmp_path, "f.xml", data)) == 0
    pupil = PupilRecord.objects.get()
    assert pupil.gld is False and pupil.elgs_expected == 11


def test_the_latest_r_row_of_a_component_wins(world, tmp_path):
    school = world.a.schools[0]
    rows = eyfsp_rows(["2"] * 17)
    text = pupil_xml("A330200121001", "Lee", "Sam", "2020-10-01", "M", "R", rows)
    # A later row for E01 says emerging: it wins, so no GLD.
    later = ("<StageAssessment><Locale>ENG</Locale><Year>2026</Year><Subject>COM</Subject>"
             "<Method>TA</Method><Component>E01</Component><ResultStatus>R</ResultStatus>"
             "<ResultQualifier>FD</ResultQualifier><Result>1</Result></StageAssessment>")
    text = text.replace("</KeyStage>", later + "</KeyStage>")
    assert _import(_write(tmp_path, "f.xml", ctf("330", school.estab, [text]))) == 0
    pupil = PupilRecord.objects.get()
    assert pupil.gld is False
    latest = AssessmentResult.objects.get(pupil=pupil, component="E01", is_latest=True)
    assert latest.result == "1"
    assert AssessmentResult.objects.filter(pupil=pupil, component="E01").count() == 2


def test_an_identical_file_sent_again_changes_nothing_and_says_so(world, tmp_path, capsys):
    data, _ = eyfsp_file("330", world.a.schools[0].estab, 2)
    path = _write(tmp_path, "f.xml", data)
    assert _import(path) == 0
    before = _state()
    assert _import(path) == 0
    assert _state() == before
    assert "identical to the file already loaded" in capsys.readouterr().out


def test_a_replacement_waits_for_yes_then_replaces_and_reports_changes(world, tmp_path, capsys):
    estab = world.a.schools[0].estab
    first, upns = eyfsp_file("330", estab, 3)
    second, upns2 = eyfsp_file("330", estab, 3, first_serial=2, expected=5)
    assert _import(_write(tmp_path, "a.xml", first)) == 0
    before = _state()
    assert _import(_write(tmp_path, "b.xml", second)) == 1
    out = capsys.readouterr().out
    assert "replaces the data" in out and "1 pupils added, 1 removed, 2 changed" in out
    assert _state() == before
    assert _import(_write(tmp_path, "b.xml", second), yes=True) == 0
    current = Submission.objects.get(status=SubmissionStatus.CURRENT)
    assert current.report["added"] == [upns2[-1]] and current.report["removed"] == [upns[0]]
    assert sorted(PupilRecord.objects.values_list("upn", flat=True)) == sorted(upns2)
    assert Submission.objects.filter(status=SubmissionStatus.REPLACED).count() == 1
    assert AuditEvent.objects.filter(event_type=EventType.SUBMISSION_REPLACED).count() == 1


def test_a_preview_compares_every_result_row_and_shows_old_and_new_values(world, tmp_path,
                                                                           capsys):
    estab = world.a.schools[0].estab
    upn = eyfsp_file("330", estab, 1)[1][0]
    rows = eyfsp_rows(["2"] * 17)
    # The first file sends a row twice (a superseded duplicate); the second drops it and
    # changes one result and the pupil's surname.
    first = ctf("330", estab, [pupil_xml(upn, "Smith", "Amy", "2020-11-02", "F", "R",
                                         rows + rows[:1])])
    same_results = ctf("330", estab, [pupil_xml(upn, "Smith", "Amy", "2020-11-02", "F", "R",
                                                rows)])
    assert _import(_write(tmp_path, "a.xml", first)) == 0
    capsys.readouterr()
    assert _import(_write(tmp_path, "b.xml", same_results)) == 1
    out = capsys.readouterr().out
    assert "0 removed, 1 changed" in out and "result rows: '18' -> '17'" in out
    changed = ctf("330", estab, [pupil_xml(upn, "Smyth", "Amy", "2020-11-02", "F", "R",
                                           eyfsp_rows(["1"] + ["2"] * 16))])
    assert _import(_write(tmp_path, "c.xml", changed)) == 1
    out = capsys.readouterr().out
    assert f"Amy Smyth ({upn}) surname: 'Smith' -> 'Smyth'" in out
    assert f"Amy Smyth ({upn}) E01: '2' -> '1'" in out


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda w: ctf("330", "9999", []), "is not in the schools register"),
        (lambda w: ctf("331", w.b.schools[0].estab, []), "belongs to another local authority"),
        (lambda w: b"<CTfile><Header>", "line"),
        (lambda w: b"<NotACtf/>", "not a file Keystage recognises"),
    ],
)
def test_a_bad_file_is_refused_and_the_rest_of_the_batch_is_loaded(world, tmp_path, capsys,
                                                                   make, message):
    good, _ = eyfsp_file("330", world.a.schools[0].estab, 2)
    assert _import(_write(tmp_path, "good.xml", good), _write(tmp_path, "bad.xml", make(world))) \
        in (0, 2)
    out = capsys.readouterr()
    assert message in out.out + out.err
    assert Submission.objects.count() == 1 and PupilRecord.objects.count() == 2


def test_a_file_from_a_closed_school_is_refused(world, tmp_path, capsys):
    school = world.a.schools[0]
    from django.db import transaction

    with transaction.atomic():
        do_update_establishment(school, {"status": "Closed"}, acting_user=None, reason="test")
    data, _ = eyfsp_file("330", school.estab, 1)
    assert _import(_write(tmp_path, "f.xml", data)) == 2
    assert "is closed in the register" in capsys.readouterr().out
    assert _state() == (0, 0, 0, 0)


def test_a_zip_of_files_and_folders_is_imported(world, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, school in enumerate(world.a.schools[:2]):
            data, _ = eyfsp_file("330", school.estab, 2 + i)
            archive.writestr(f"june/{school.estab}.xml", data)
        archive.writestr("june/readme.txt", b"not a ctf")
    assert _import(_write(tmp_path, "batch.zip", buffer.getvalue())) == 0
    assert Submission.objects.count() == 2 and PupilRecord.objects.count() == 5


def test_a_zip_with_a_path_that_escapes_is_refused(world, tmp_path, capsys):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.xml", eyfsp_file("330", world.a.schools[0].estab, 1)[0])
    assert _import(_write(tmp_path, "batch.zip", buffer.getvalue())) == 2
    assert _state() == (0, 0, 0, 0)
    assert "batch.zip" in capsys.readouterr().out


def test_export_results_equals_what_the_file_said(world, tmp_path):
    school = world.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 2, expected=12)
    assert _import(_write(tmp_path, "f.xml", data)) == 0
    out = tmp_path / "results.csv"
    assert main(["export", "results", "--la", "330", "--year", "2026", "--collection", "eyfsp",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0])[:7] == ["laestab", "upn", "surname", "forename", "dob", "sex", "ncyear"]
    assert list(rows[0])[-2:] == ["gld", "elgs_expected"]
    assert [r["upn"] for r in rows] == sorted(upns)
    for row in rows:
        assert row["laestab"] == school.laestab and row["dob"] == "2020-11-02"
        assert [row[f"E{n:02d}"] for n in range(1, 18)] == ["2"] * 12 + ["1"] * 5
        assert row["gld"] == "1" and row["elgs_expected"] == "12"


def test_expected_cohorts_load_and_completeness_shows_missing_schools(world, tmp_path, client):
    a0, a1 = world.a.schools[0], world.a.schools[1]
    cohorts = ("LAESTAB,Collection,AcademicYear,ExpectedCount\n"
               f"{a0.laestab},EYFSP,2025/26,2\n{a1.laestab},EYFSP,2025/26,30\n").encode()
    data, _ = eyfsp_file("330", a0.estab, 2)
    assert _import(_write(tmp_path, "cohorts.csv", cohorts), _write(tmp_path, "f.xml", data)) == 0
    client.force_login(world.a.users["la_data_officer"])
    page = client.get("/collection/?collection=eyfsp&year=2026")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Missing" in text and a1.name in text
    csv_page = client.get("/collection/?collection=eyfsp&year=2026&format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(csv_page.streaming_content).decode())))
    assert {(r["laestab"], r["expected"], r["received"], r["missing"]) for r in rows} == {
        (a0.laestab, "2", "2", "no"), (a1.laestab, "30", "0", "yes"),
    }


def test_bad_expected_cohorts_file_names_the_line_and_changes_nothing(world, tmp_path, capsys):
    cohorts = b"LAESTAB,Collection,AcademicYear,ExpectedCount\n3302001,EYFSP,2025/26,x\n"
    assert _import(_write(tmp_path, "cohorts.csv", cohorts)) == 2
    assert "cohorts.csv, line 2, column ExpectedCount" in capsys.readouterr().out


def test_import_with_unknown_la_or_missing_path_exits_2(world, tmp_path, capsys):
    assert main(["import", str(tmp_path / "nope.xml"), "--la", "330", "--year", "2026"]) == 2
    assert main(["import", str(tmp_path), "--la", "123", "--year", "2026"]) == 2
    assert main(["import", "--la", "330"]) == 2


def test_a_chunk_that_fails_to_load_is_loaded_again_file_by_file(world, tmp_path, monkeypatch):
    from keystage.collection import actions

    real = actions._write_rows
    calls = {"n": 0}

    def failing_once(pending, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1 and len(pending) > 1:
            raise RuntimeError("simulated failure while loading a chunk")
        return real(pending, *args, **kwargs)

    monkeypatch.setattr(actions, "_write_rows", failing_once)
    paths = [
        _write(tmp_path, f"{school.estab}.xml", eyfsp_file("330", school.estab, 2)[0])
        for school in world.a.schools[:2]
    ]
    assert _import(*paths) == 0
    assert Submission.objects.count() == 2 and PupilRecord.objects.count() == 4
    assert AssessmentResult.objects.count() == 4 * 17


def test_a_file_replaced_later_in_the_same_batch_leaves_none_of_its_rows(world):
    from keystage.collection.actions import do_import_files

    school = world.a.schools[0]
    first, _ = eyfsp_file("330", school.estab, 3, first_serial=1)
    second, _ = eyfsp_file("330", school.estab, 2, first_serial=50)
    outcomes = do_import_files([("first.xml", first), ("second.xml", second)], la=world.a.la,
                               year=2026, acting_user=None, confirm_replacements=True)

    assert [o.status for o in outcomes] == ["committed", "committed"]
    current = Submission.objects.get(status="current")
    assert PupilRecord.objects.count() == 2
    assert set(PupilRecord.objects.values_list("submission_id", flat=True)) == {current.pk}
    assert AssessmentResult.objects.count() == 2 * 17
    assert not PupilRecord.objects.filter(pupil__isnull=True).exists()
