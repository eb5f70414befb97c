"""School census files through the one intake: per school and term, refusals, ZIPs of them."""

from __future__ import annotations

import io
import zipfile

import pytest

from keystage.cli import main
from keystage.collection.models import PupilRecord, Submission
from keystage.context.models import CensusDetail, CensusLeaver, FsmPeriod, SenNeed
from keystage.formats.tests.census_builder import census_leaver, census_pupil, census_xml
from keystage.pupils.models import Pupil

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections


def _import(tmp_path, name, data, *more, year="2026"):
    path = tmp_path / name
    path.write_bytes(data)
    return main(["import", str(path), "--la", "330", "--year", year, *more])


def test_a_spring_census_stores_pupils_characteristics_fsm_sen_and_leavers(world, tmp_path):
    school = world.a.schools[0]
    data = census_xml("330", school.estab, [
        census_pupil(fsm=[("2025-09-01", None)], sen_provision="E", sen_needs=[("ASD", 1)],
                     former_upn="A330200199999"),
        census_pupil(upn="A330200121002", surname="Khan", forename="Ada", sex="F"),
    ], [census_leaver()])
    assert _import(tmp_path, "c.xml", data) == 0
    submission = Submission.objects.get()
    assert (submission.collection, submission.term, str(submission.reference_date)) == (
        "census", "SPR", "2026-01-15")
    assert submission.pupil_count == 2
    detail = CensusDetail.objects.get(record__upn="A330200121001")
    assert (detail.fsm_eligible, detail.sen_provision, detail.former_upn) == (
        True, "E", "A330200199999")
    assert FsmPeriod.objects.count() == 1 and SenNeed.objects.get().sen_type == "ASD"
    assert CensusLeaver.objects.get().upn == "A330200121009"
    # Every census pupil is a pupil of the LA, known by UPN and former UPN.
    pupil = Pupil.objects.get(upn="A330200121001")
    assert set(pupil.identifiers.values_list("kind", "value")) == {
        ("upn", "A330200121001"), ("former_upn", "A330200199999")}


def test_a_census_from_a_school_of_another_la_is_refused_naming_no_pupil(world, tmp_path,
                                                                         capsys):
    other = world.b.schools[0]
    data = census_xml("331", other.estab, [census_pupil(upn="A331200121001")])
    assert _import(tmp_path, "c.xml", data) == 2
    out = capsys.readouterr().out
    assert "belongs to another local authority" in out and "A331200121001" not in out
    assert not PupilRecord.objects.exists()


def test_a_census_of_another_year_is_refused(world, tmp_path, capsys):
    school = world.a.schools[0]
    data = census_xml("330", school.estab, [census_pupil()], reference="2025-01-16")
    assert _import(tmp_path, "c.xml", data) == 2
    assert "belongs to the 2025 assessment year" in capsys.readouterr().out


def test_a_zip_mixing_terms_loads_each_file_as_its_own_term(world, tmp_path, capsys):
    school = world.a.schools[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("autumn.xml", census_xml("330", school.estab, [census_pupil()],
                                                  term="AUT", reference="2025-10-02"))
        archive.writestr("spring.xml", census_xml("330", school.estab, [census_pupil()]))
    assert _import(tmp_path, "census.zip", buffer.getvalue()) == 0
    out = capsys.readouterr().out
    assert "autumn census" in out and "spring census" in out
    assert sorted(Submission.objects.values_list("term", flat=True)) == ["AUT", "SPR"]
    # One pupil, seen in two censuses.
    assert Pupil.objects.count() == 1


def test_a_new_census_of_the_same_term_waits_then_replaces_the_schools_last(world, tmp_path,
                                                                            capsys):
    school = world.a.schools[0]
    assert _import(tmp_path, "a.xml", census_xml("330", school.estab, [census_pupil()])) == 0
    newer = census_xml("330", school.estab, [census_pupil(), census_pupil(upn="A330200121002")])
    assert _import(tmp_path, "b.xml", newer) == 1
    assert "A330200121002" in capsys.readouterr().out
    assert _import(tmp_path, "b.xml", newer, "--yes") == 0
    assert Submission.objects.filter(status="current").get().pupil_count == 2


def test_a_census_csv_extract_is_read_but_refused_saying_what_to_send(world, tmp_path, capsys):
    data = (b"pupilonrolltableid,NativeId,dob,upn,ncyearactual,pupilonrollorderseqcolumn\n"
            b"a,SCH1,2020-Apr-25 00:00:00,x,R,1\n")
    assert _import(tmp_path, "2025_spring_pupilonroll.csv", data) == 2
    out = capsys.readouterr().out
    assert "school census CSV extract" in out and "census XML" in out
    assert not PupilRecord.objects.exists()


@pytest.mark.parametrize(("pupil", "message"), [
    (census_pupil(ethnicity="WBRIXXXX"), "the ethnicity 'WBRIXXXX' is longer than 4"),
    (census_pupil(sen_needs=[("ASD", 99999)]), "the rank '99999' is not a number from 0"),
    (census_pupil(enrol="MM"), "the enrol status"),
])
def test_a_value_that_would_not_fit_its_column_refuses_the_file_on_either_database(
        world, tmp_path, capsys, pupil, message):
    school = world.a.schools[0]
    assert _import(tmp_path, "c.xml", census_xml("330", school.estab, [pupil])) == 2
    out = capsys.readouterr().out
    assert message in out and "c.xml, line 9" in out
    assert not PupilRecord.objects.exists()


def test_a_census_replaced_later_in_the_same_batch_leaves_only_the_newer_rows(world, tmp_path):
    school = world.a.schools[0]
    older = census_xml("330", school.estab, [census_pupil()])
    newer = census_xml("330", school.estab, [census_pupil(), census_pupil(upn="A330200121002")])
    (tmp_path / "a.xml").write_bytes(older)
    (tmp_path / "b.xml").write_bytes(newer)
    assert main(["import", str(tmp_path / "a.xml"), str(tmp_path / "b.xml"), "--la", "330",
                 "--year", "2026", "--yes"]) == 0
    current = Submission.objects.get(status="current")
    assert current.pupil_count == 2
    assert PupilRecord.objects.count() == 2
    assert set(PupilRecord.objects.values_list("submission_id", flat=True)) == {current.pk}


def test_a_census_with_attendance_beyond_any_column_is_refused_naming_the_line(
        world, tmp_path, capsys):
    school = world.a.schools[0]
    data = census_xml("330", school.estab, [census_pupil(
        attendance=[("99999999999", "0", "0")])])

    assert _import(tmp_path, "census.xml", data) == 2
    assert "sessions possible '99999999999' is not a number from 0 to" in capsys.readouterr().out
    assert not CensusDetail.objects.exists()


def test_a_census_keeps_each_pupils_attendance_and_exclusions_summed(world, tmp_path):
    school = world.a.schools[0]
    data = census_xml("330", school.estab, [census_pupil(
        attendance=[("140", "6", "4"), ("120", "10", "")], exclusions=[("FIXD", "2")])])

    assert _import(tmp_path, "census.xml", data) == 0
    detail = CensusDetail.objects.get()
    assert (detail.sessions_possible, detail.sessions_absent, detail.exclusions,
            detail.exclusion_sessions) == (260, 20, 1, 2)


def test_bad_returns_in_a_batch_of_good_ones_are_refused_alone_naming_their_own_file(
        world, tmp_path, capsys):
    # The batch's returns are read and checked together; each refusal is still its own file's.
    from keystage.audit.models import AuditEvent, EventType

    schools = world.a.schools
    files = {
        "a.xml": census_xml("330", schools[0].estab, [census_pupil()]),
        "long.xml": census_xml("330", schools[1].estab, [
            census_pupil(upn="A330200121002"), census_pupil(upn="A330200121003",
                                                            ethnicity="WBRIXXXX")]),
        "date.xml": census_xml("330", schools[0].estab, [census_pupil(upn="A330200121004",
                                                                      dob="2015-02-30")]),
        "b.xml": census_xml("330", schools[2].estab, [census_pupil(upn="A330200121005")]),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert main(["import", *(str(tmp_path / n) for n in files), "--la", "330",
                 "--year", "2026"]) == 2
    out = capsys.readouterr().out
    assert "long.xml, line 15" in out and "the ethnicity 'WBRIXXXX' is longer than 4" in out
    assert "date.xml, line 9" in out and "<DOB> '2015-02-30' is not a date" in out
    assert set(Submission.objects.values_list("file__filename", flat=True)) == {"a.xml", "b.xml"}
    assert set(PupilRecord.objects.values_list("upn", flat=True)) == {"A330200121001",
                                                                     "A330200121005"}
    assert AuditEvent.objects.filter(event_type=EventType.SUBMISSION_ADDED).count() == 2


def test_a_batch_of_schools_census_returns_inserts_its_submissions_together(world, tmp_path,
                                                                            capsys):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    paths = []
    for i, school in enumerate(world.a.schools[:3]):
        paths.append(tmp_path / f"c{i}.xml")
        pupil = census_pupil(upn=f"A33020012100{i + 1}")
        paths[-1].write_bytes(census_xml("330", school.estab, [pupil]))
    with CaptureQueriesContext(connection) as captured:
        assert main(["import", *map(str, paths), "--la", "330", "--year", "2026"]) == 0, (
            capsys.readouterr().out)
    inserts = [q["sql"] for q in captured.captured_queries
               if q["sql"].startswith('INSERT INTO "collection_submission"')]
    # Three schools' returns replace nothing of each other's: one insert for the chunk.
    assert len(inserts) == 1
    assert Submission.objects.filter(collection="census").count() == 3
