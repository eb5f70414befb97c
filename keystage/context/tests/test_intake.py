"""The one intake, for files that are not CTFs: per-LA and per-school files, replacements, refusals.

These tests load files of a small test kind ("KSTEST" CSVs read into pupil premium frames) so
that they check the intake itself; the real readers have their own tests in keystage/formats.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from keystage.audit.models import AuditEvent, EventType
from keystage.collection.actions import do_import_batch
from keystage.collection.models import PupilRecord, ReceivedFile, Submission, SubmissionStatus
from keystage.context.models import PupilPremium
from keystage.formats.errors import FormatError
from keystage.formats.kinds import KINDS, DatasetFile, FileKind

pytestmark = pytest.mark.django_db

MAGIC = b"KSTEST"


def looks_like_test_file(head: bytes) -> bool:
    """The test kind: a first line of KSTEST."""
    return head.startswith(MAGIC)


def read_test_file(source, *, filename, year=None, **options) -> DatasetFile:
    """UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON rows after the KSTEST line."""
    text = source.decode() if isinstance(source, bytes) else open(source).read()
    lines = text.splitlines()[1:]
    rows = []
    for number, line in enumerate(lines[1:], start=3):  # line 1 KSTEST, 2 header
        cells = line.split(",")
        if len(cells) != 7:
            raise FormatError("each row needs 7 cells.", filename=filename, line=number)
        upn, laestab, surname, forename, dob, eligible, reason = cells
        rows.append({"row": number, "upn": upn, "laestab": laestab, "surname": surname,
                     "forenames": forename, "dob": dt.date.fromisoformat(dob),
                     "pp_eligible": eligible, "pp_reason": reason})
    schema = {"row": pl.Int64, "upn": pl.String, "laestab": pl.String, "surname": pl.String,
              "forenames": pl.String, "dob": pl.Date, "pp_eligible": pl.String,
              "pp_reason": pl.String}
    return DatasetFile("test_pp", "pp", filename, {"pupils": pl.DataFrame(rows, schema=schema)})


@pytest.fixture(autouse=True)
def test_kind(monkeypatch):
    monkeypatch.setitem(KINDS, "test_pp", FileKind(
        "test_pp", "pp", "Test pupil premium", f"{__name__}:looks_like_test_file",
        f"{__name__}:read_test_file", priority=1))


def pp_file(*rows) -> bytes:
    lines = ["KSTEST", "UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON"]
    lines += [",".join(row) for row in rows]
    return "\n".join(lines).encode()


def row(upn, laestab, surname="Lee", reason="FSM6"):
    return (upn, laestab, surname, "Sam", "2015-01-02", "Y", reason)


def load(world, *files, yes=False, user=None, school=None, year=2026):
    return do_import_batch(
        [(f"pp{i}.csv", data) for i, data in enumerate(files)], la=world.a.la, year=year,
        acting_user=user, confirm_replacements=yes, only_school=school,
    ).outcomes


def laestab(school) -> str:
    return school.laestab


def test_an_la_wide_file_is_stored_as_one_submission_per_school(world):
    a, b = world.a.schools[:2]
    [outcome] = load(world, pp_file(row("A330200121001", laestab(a)),
                                    row("A330200121002", laestab(a), reason="CLA"),
                                    row("A330200121003", laestab(b))))
    assert outcome.status == "committed", outcome.message
    assert "3 pupils at 2 schools" in outcome.message
    subs = {s.school_id: s for s in Submission.objects.filter(collection="pp")}
    assert set(subs) == {a.pk, b.pk}
    assert subs[a.pk].pupil_count == 2 and subs[b.pk].pupil_count == 1
    assert ReceivedFile.objects.count() == 1
    records = PupilRecord.objects.filter(collection="pp").order_by("upn")
    assert [(r.upn, r.school_id, r.dob) for r in records] == [
        ("A330200121001", a.pk, dt.date(2015, 1, 2)), ("A330200121002", a.pk, dt.date(2015, 1, 2)),
        ("A330200121003", b.pk, dt.date(2015, 1, 2))]
    reasons = dict(PupilPremium.objects.values_list("record__upn", "reason"))
    assert reasons == {"A330200121001": "FSM6", "A330200121002": "CLA", "A330200121003": "FSM6"}
    assert AuditEvent.objects.filter(event_type=EventType.SUBMISSION_ADDED).count() == 2


def test_a_row_for_a_school_of_another_la_refuses_the_whole_file(world):
    a = world.a.schools[0]
    other = world.b.schools[0]
    [outcome] = load(world, pp_file(row("A330200121001", laestab(a)),
                                    row("A331200121002", laestab(other))))
    assert outcome.status == "refused"
    assert "row 4" in outcome.message and laestab(other) in outcome.message
    assert "A331200121002" not in outcome.message  # names no pupil of the other LA
    assert not PupilRecord.objects.exists() and not ReceivedFile.objects.exists()


def test_a_broken_row_refuses_the_file_naming_the_row(world):
    data = pp_file(row("A330200121001", laestab(world.a.schools[0]))) + b"\nA330,too,few"
    [outcome] = load(world, data)
    assert outcome.status == "refused" and "line 4" in outcome.message
    assert not Submission.objects.exists()


def test_the_same_file_again_changes_nothing(world):
    data = pp_file(row("A330200121001", laestab(world.a.schools[0])))
    load(world, data)
    [outcome] = load(world, data)
    assert outcome.status == "unchanged"
    assert Submission.objects.count() == 1


def test_a_new_la_wide_file_waits_for_confirmation_then_replaces_every_school(world):
    a, b = world.a.schools[:2]
    load(world, pp_file(row("A330200121001", laestab(a)), row("A330200121003", laestab(b))))
    newer = pp_file(row("A330200121001", laestab(a)), row("A330200121009", laestab(a)))
    [waiting] = load(world, newer)
    assert waiting.status == "needs-confirmation"
    assert Submission.objects.filter(status=SubmissionStatus.CURRENT).count() == 2
    [done] = load(world, newer, yes=True)
    assert done.status == "committed", done.message
    current = Submission.objects.filter(collection="pp", status=SubmissionStatus.CURRENT)
    # School b is no longer in the file: its earlier rows are replaced by nothing.
    assert [s.school_id for s in current] == [a.pk]
    assert sorted(PupilRecord.objects.values_list("upn", flat=True)) == [
        "A330200121001", "A330200121009"]
    change = next(c for c in done.changes if c.school == a)
    assert change.added == ["A330200121009"] and change.removed == []
    gone = next(c for c in done.changes if c.school == b)
    assert gone.removed == ["A330200121003"]


def test_school_users_cannot_load_la_wide_files(world):
    school = world.a.schools[0]
    [outcome] = load(world, pp_file(row("A330200121001", laestab(school))), school=school)
    assert outcome.status == "refused" and "loaded by the LA" in outcome.message
    assert not Submission.objects.exists()


def test_a_value_too_long_for_its_column_refuses_the_file_with_its_row(world):
    [outcome] = load(world, pp_file(row("A330200121001", laestab(world.a.schools[0]),
                                        surname="x" * 101)))
    assert outcome.status == "refused" and "line 3" in outcome.message
    assert "longer than 100" in outcome.message


def test_a_file_of_no_known_kind_is_skipped_and_says_what_keystage_reads(world):
    [outcome] = load(world, b"name,colour\nSam,blue\n")
    assert outcome.status == "skipped"
    assert "not a file Keystage recognises" in outcome.message
