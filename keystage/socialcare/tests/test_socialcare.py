"""Social care returns end to end: import, export socialcare, cla/cin/cpp, links, roles, cohort."""

from __future__ import annotations

import csv

import pytest

from keystage.accounts.models import Role
from keystage.audit.models import AuditEvent
from keystage.cli import main
from keystage.formats.tests.census_builder import census_pupil, census_xml
from keystage.pupils.models import PupilIdentifier
from keystage.socialcare.models import CareChild, CareReturn, CareRow

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections

UPN_LOOKED_AFTER = "A330200121001"
UPN_LEFT_CARE = "A330200121002"
UPN_NEVER = "A330200121003"
HEADER = ("CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
          f"5001,1,02/07/2014,WBRI,{UPN_LOOKED_AFTER},,\n"
          f"5002,2,03/10/2014,BAFR,{UPN_LEFT_CARE},,\n"
          "5003,1,04/04/2019,WBRI,UN1,,\n")
# Reference date of the 2026 spring census: 15 January 2026. 5002's episode ends on it.
EPISODES = ("CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,"
            "PL_POST,URN\n"
            "5001,01/05/2024,S,C2,N1,U1,PR1,01/09/2025,X1,PLACE,,,\n"
            "5001,01/09/2025,P,C2,N1,U2,PR1,,,,,,\n"
            "5002,01/05/2025,S,V2,N2,U1,PR1,15/01/2026,E11,,,,\n"
            "5003,01/02/2026,S,C2,N1,U1,PR1,,,,,,\n")
REVIEWS = "CHILD,DOB,REVIEW,REVIEW_CODE\n5001,02/07/2014,01/10/2025,PN1\n"


def _cin(lea="330", upn=UPN_NEVER, closure="", cpp_end=""):
    closure_xml = f"<CINclosureDate>{closure}</CINclosureDate>" if closure else ""
    end_xml = f"<CPPendDate>{cpp_end}</CPPendDate>" if cpp_end else ""
    return f"""<?xml version="1.0"?>
<Message><Header><CollectionDetails><Collection>CIN</Collection><Year>2026</Year>
<ReferenceDate>2026-03-31</ReferenceDate></CollectionDetails><Source><SourceLevel>L</SourceLevel>
<LEA>{lea}</LEA><SoftwareCode>X</SoftwareCode><Release>1</Release><SerialNo>001</SerialNo>
<DateTime>2026-04-02T10:00:00</DateTime></Source></Header><Children>
<Child><ChildIdentifiers><LAchildID>LA77</LAchildID><UPN>{upn}</UPN>
<PersonBirthDate>2014-09-09</PersonBirthDate><GenderCurrent>1</GenderCurrent></ChildIdentifiers>
<CINdetails><CINreferralDate>2025-06-01</CINreferralDate>{closure_xml}
<Assessments><AssessmentActualStartDate>2025-06-02</AssessmentActualStartDate></Assessments>
<ChildProtectionPlans><CPPstartDate>2024-07-01</CPPstartDate>{end_xml}</ChildProtectionPlans>
</CINdetails></Child></Children></Message>""".encode()


def _census(world, tmp_path):
    school = world.a.schools[0]
    path = tmp_path / "census.xml"
    path.write_bytes(census_xml("330", school.estab, [
        census_pupil(UPN_LOOKED_AFTER, "Lee", "Sam", "2014-07-02", "M", "6",
                     attendance=[(140, 6, 4), (120, 10, 0)], exclusions=[("FIXD", 2)]),
        census_pupil(UPN_LEFT_CARE, "Khan", "Ada", "2014-10-03", "F", "6"),
        census_pupil(UPN_NEVER, "Ng", "Bo", "2014-09-09", "M", "6"),
    ]))
    assert main(["import", str(path), "--la", "330", "--year", "2026"]) == 0


def _903(tmp_path, folder="903", header=HEADER, episodes=EPISODES):
    path = tmp_path / folder
    path.mkdir()
    (path / "a.csv").write_text(header)
    (path / "b.csv").write_text(episodes)
    (path / "c.csv").write_text(REVIEWS)
    return path


def _export(tmp_path, what):
    out = tmp_path / f"{what}.csv"
    assert main(["export", what, "--la", "330", "--year", "2026", "--out", str(out)]) == 0
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def test_export_socialcare_lists_each_child_with_its_counts_and_linked_pupil(world, tmp_path):
    _census(world, tmp_path)
    assert main(["import", str(_903(tmp_path)), "--la", "330", "--year", "2026"]) == 0
    cin = tmp_path / "cin.xml"
    cin.write_bytes(_cin())
    assert main(["import", str(cin), "--la", "330", "--year", "2026"]) == 0

    header, rows = _export(tmp_path, "socialcare")

    assert header == ["source", "child_id", "upn", "dob", "sex", "episodes", "reviews",
                      "missing", "cin_details", "assessments", "cpp_plans", "linked_upn"]
    assert rows == [
        ["ssda903", "5001", UPN_LOOKED_AFTER, "2014-07-02", "M", "2", "1", "0", "", "", "",
         UPN_LOOKED_AFTER],
        ["ssda903", "5002", UPN_LEFT_CARE, "2014-10-03", "F", "1", "0", "0", "", "", "",
         UPN_LEFT_CARE],
        ["ssda903", "5003", "UN1", "2019-04-04", "M", "1", "0", "0", "", "", "", ""],
        ["cin", "LA77", UPN_NEVER, "2014-09-09", "M", "", "", "", "1", "1", "1", UPN_NEVER],
    ]


def test_every_row_of_every_table_is_stored_as_the_file_gave_it(world, tmp_path):
    assert main(["import", str(_903(tmp_path)), "--la", "330", "--year", "2026"]) == 0

    stored = CareRow.objects.filter(table="episodes").order_by("line")
    assert [r.line for r in stored] == [2, 3, 4, 5]
    assert stored[2].data == {"child": "5002", "decom": "01/05/2025", "rne": "S", "ls": "V2",
                              "cin": "N2", "place": "U1", "place_provider": "PR1",
                              "dec": "15/01/2026", "rec": "E11", "reason_place_change": "",
                              "home_post": "", "pl_post": "", "urn": ""}
    assert AuditEvent.objects.filter(event_type="care-return-loaded").count() == 1


def test_cla_cin_and_cpp_follow_the_definitions_on_the_reference_date(world, tmp_path):
    _census(world, tmp_path)
    _, before = _export(tmp_path, "pupils")
    header = _export(tmp_path, "pupils")[0]
    column = {name: header.index(name) for name in ("upn", "cla", "cin", "cpp")}
    assert {r[column["cla"]] for r in before} == {""}

    assert main(["import", str(_903(tmp_path)), "--la", "330", "--year", "2026"]) == 0
    cin = tmp_path / "cin.xml"
    cin.write_bytes(_cin(cpp_end="2025-04-01"))
    assert main(["import", str(cin), "--la", "330", "--year", "2026"]) == 0
    _, rows = _export(tmp_path, "pupils")
    flags = {r[column["upn"]]: (r[column["cla"]], r[column["cin"]], r[column["cpp"]])
             for r in rows}

    # Looked after on 15 January 2026; an episode ending that day does not count.
    assert flags[UPN_LOOKED_AFTER] == ("Y", "N", "N")
    assert flags[UPN_LEFT_CARE] == ("N", "N", "N")
    # In need at 31 March (no closure); a plan ending 1 April 2025 is in the collection year.
    assert flags[UPN_NEVER] == ("N", "Y", "Y")


def test_a_case_closed_before_31_march_and_a_plan_ended_before_april_are_not_counted(
        world, tmp_path):
    _census(world, tmp_path)
    cin = tmp_path / "cin.xml"
    cin.write_bytes(_cin(closure="2026-03-30", cpp_end="2025-03-31"))
    assert main(["import", str(cin), "--la", "330", "--year", "2026"]) == 0
    header, rows = _export(tmp_path, "pupils")
    row = next(r for r in rows if r[0] == UPN_NEVER)

    assert (row[header.index("cin")], row[header.index("cpp")]) == ("N", "N")
    assert row[header.index("cla")] == ""


def test_a_child_keeps_their_903_id_so_a_later_return_without_the_upn_still_links(
        world, tmp_path):
    _census(world, tmp_path)
    assert main(["import", str(_903(tmp_path)), "--la", "330", "--year", "2026"]) == 0
    child = CareChild.objects.get(child_id="5001")
    assert (child.link_method, child.pupil.upn) == ("upn", UPN_LOOKED_AFTER)
    assert PupilIdentifier.objects.filter(kind="ssda903_child", value="5001").exists()

    later = _903(tmp_path, "later", header=HEADER.replace(UPN_LOOKED_AFTER, "UN3"))
    assert main(["import", str(later), "--la", "330", "--year", "2027"]) == 0
    relinked = CareChild.objects.get(child_id="5001", care_return__year=2027)
    assert (relinked.link_method, relinked.pupil_id) == ("child_id", child.pupil_id)


def test_a_return_for_an_la_with_no_pupils_yet_is_stored_whole_with_its_children_unlinked(
        world, tmp_path, capsys):
    PupilIdentifier.objects.filter(la__code="330").delete()
    path = tmp_path / "cin.xml"
    path.write_bytes(_cin(upn=UPN_LOOKED_AFTER))

    assert main(["import", str(path), "--la", "330", "--year", "2026"]) == 0

    assert "0 linked to pupils" in capsys.readouterr().out
    care_return = CareReturn.objects.get()
    assert care_return.report["linked"] == 0 and care_return.children == 1
    assert list(CareChild.objects.values_list("child_id", "upn", "pupil", "link_method")) == [
        ("LA77", UPN_LOOKED_AFTER, None, "")]
    assert CareRow.objects.filter(care_return=care_return).count() == care_return.rows == 5
    assert AuditEvent.objects.filter(summary__contains="0 linked to pupils").exists()


def test_a_new_return_waits_for_confirmation_and_the_same_files_change_nothing(world, tmp_path):
    folder = _903(tmp_path)
    assert main(["import", str(folder), "--la", "330", "--year", "2026"]) == 0
    assert main(["import", str(folder), "--la", "330", "--year", "2026"]) == 0
    assert CareReturn.objects.count() == 1

    (folder / "c.csv").write_text(REVIEWS + "5002,03/10/2014,01/11/2025,PN0\n")
    assert main(["import", str(folder), "--la", "330", "--year", "2026"]) == 1
    assert CareReturn.objects.count() == 1
    assert main(["import", str(folder), "--la", "330", "--year", "2026", "--yes"]) == 0
    current = CareReturn.objects.get(status="current")
    assert current.replaces is not None and current.rows == 9


def test_a_cin_census_of_another_la_is_refused_and_nothing_is_stored(world, tmp_path, capsys):
    cin = tmp_path / "cin.xml"
    cin.write_bytes(_cin(lea="331"))

    assert main(["import", str(cin), "--la", "330", "--year", "2026"]) == 2
    assert "from LA 331, not 330" in capsys.readouterr().out
    assert not CareReturn.objects.exists() and not CareChild.objects.exists()


def test_a_903_with_a_missing_column_is_refused_naming_it(world, tmp_path, capsys):
    folder = _903(tmp_path, episodes=EPISODES.replace(",RNE", "").replace(",S,", ","))

    assert main(["import", str(folder), "--la", "330", "--year", "2026"]) == 2
    assert "missing column(s) RNE" in capsys.readouterr().out
    assert not CareReturn.objects.exists()


def test_a_cin_census_for_another_year_is_refused_naming_the_year(world, tmp_path, capsys):
    cin = tmp_path / "cin.xml"
    cin.write_bytes(_cin())

    assert main(["import", str(cin), "--la", "330", "--year", "2025"]) == 2
    assert "ending 31 March 2026, not 2025" in capsys.readouterr().out


ROLE_STATUS = {
    Role.LA_DATA_OFFICER: 200, Role.VIRTUAL_SCHOOL: 200, Role.LA_ANALYST: 403,
    Role.LA_ADMIN: 403, Role.TRANSFER_OFFICER: 403, Role.LOST_PUPILS_OFFICER: 403,
    Role.SCHOOL_USER: 403,
}


@pytest.mark.parametrize("role", sorted(ROLE_STATUS))
def test_only_roles_given_social_care_data_see_its_pages(world, tmp_path, login, role):
    assert main(["import", str(_903(tmp_path)), "--la", "330", "--year", "2026"]) == 0
    client = login(world.a.users[role])
    child = CareChild.objects.get(child_id="5001")

    for url in ("/social-care/", "/social-care/children/", "/social-care/looked-after/",
                f"/social-care/children/{child.pk}/"):
        expected = ROLE_STATUS[role]
        if role == Role.SCHOOL_USER and "/children/" in url and url[-2].isdigit():
            expected = 404  # another organisation's object
        assert client.get(url).status_code == expected, url


def test_the_virtual_school_sees_its_children_their_school_and_who_has_no_record(
        world, tmp_path, login):
    _census(world, tmp_path)
    assert main(["import", str(_903(tmp_path)), "--la", "330", "--year", "2026"]) == 0
    client = login(world.a.users[Role.VIRTUAL_SCHOOL])

    page = client.get("/social-care/looked-after/")
    children = {c.child_id: c for c in page.context["children"]}
    assert set(children) == {"5001", "5003"}  # 5002's latest episode has ended
    assert children["5001"].school == world.a.schools[0].name
    # 260 sessions possible, 20 missed: 92.3%; one exclusion.
    assert (children["5001"].attendance_pct, children["5001"].exclusions) == ("92.3", "1")
    assert not children["5003"].has_education_record
    download = client.get("/social-care/looked-after/?format=csv")
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert lines[0].startswith("child_id,upn,dob,sex,episode_from")
    assert len(lines) == 3


def test_a_hand_edit_takes_a_child_out_of_the_cohort_with_its_date_and_reason(
        world, tmp_path, login):
    assert main(["import", str(_903(tmp_path)), "--la", "330", "--year", "2026"]) == 0
    client = login(world.a.users[Role.VIRTUAL_SCHOOL])

    response = client.post("/social-care/looked-after/", {
        "child_id": "5001", "change": "out", "on": "2026-02-01", "reason": "Returned home"})
    assert response.status_code == 302
    page = client.get("/social-care/looked-after/")
    assert {c.child_id for c in page.context["children"]} == {"5003"}
    event = AuditEvent.objects.get(event_type="care-cohort-changed")
    assert event.reason == "Returned home"


def test_an_officer_matches_an_unlinked_child_to_a_pupil_and_it_is_audited(
        world, tmp_path, login):
    _census(world, tmp_path)
    assert main(["import", str(_903(tmp_path)), "--la", "330", "--year", "2026"]) == 0
    child = CareChild.objects.get(child_id="5003")
    pupil = CareChild.objects.get(child_id="5001").pupil
    client = login(world.a.users[Role.LA_DATA_OFFICER])

    response = client.post(f"/social-care/children/{child.pk}/",
                           {"match-pupil": pupil.pk, "match-reason": "Same child, checked"})
    assert response.status_code == 302
    child.refresh_from_db()
    assert (child.pupil_id, child.link_method) == (pupil.pk, "confirmed")
    assert AuditEvent.objects.filter(event_type="care-child-matched").exists()


def test_a_pupil_of_another_la_cannot_be_matched_to_a_child(world, tmp_path, login):
    assert main(["import", str(_903(tmp_path)), "--la", "330", "--year", "2026"]) == 0
    from keystage.pupils.models import Pupil

    theirs = Pupil.objects.create(la=world.b.la, upn="A331200121001")
    child = CareChild.objects.get(child_id="5003")
    client = login(world.a.users[Role.LA_DATA_OFFICER])

    response = client.post(f"/social-care/children/{child.pk}/",
                           {"match-pupil": theirs.pk, "match-reason": "try"})
    assert response.status_code == 200
    child.refresh_from_db()
    assert child.pupil_id is None


def test_schema_findings_are_kept_and_reported_by_keystage_clean(world, tmp_path, capsys):
    folder = _903(tmp_path, episodes=EPISODES.replace(",C2,N1,U2,", ",ZZ,N1,U2,"))
    assert main(["import", str(folder), "--la", "330", "--year", "2026"]) == 0
    report = tmp_path / "report.csv"

    assert main(["clean", "--la", "330", "--year", "2026", "--collection", "ssda903",
                 "--report", str(report)]) == 1
    with report.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["rule_code", "severity", "laestab", "upn", "field", "value", "message"]
    assert rows[1][:6] == ["903S03", "error", "", UPN_LOOKED_AFTER, "episodes.LS (line 3)",
                           "ZZ"]
    assert len(rows) == 2


def test_backslashes_tabs_and_line_breaks_are_stored_as_the_file_gave_them(world, tmp_path):
    odd = "back\\slash\\N\tand\r\nline"
    header = HEADER + f'"{odd}",1,01/01/2015,WBRI,,"\\t",\n'
    assert main(["import", str(_903(tmp_path, header=header)), "--la", "330",
                 "--year", "2026"]) == 0

    child = CareChild.objects.get(child_id=odd)
    row = CareRow.objects.get(table="header", child=child)
    assert (row.data["child"], row.data["mother"]) == (odd, "\\t")
    assert row.data == {"child": odd, "sex": "1", "dob": "01/01/2015", "ethnic": "WBRI",
                        "upn": "", "mother": "\\t", "mc_dob": ""}


def test_hostile_values_are_stored_as_text_never_as_nulls_or_formulas(world, tmp_path):
    header = HEADER + '\\N,1,01/01/2015,WBRI,"=1+1",,\n'
    assert main(["import", str(_903(tmp_path, header=header)), "--la", "330",
                 "--year", "2026"]) == 0

    child = CareChild.objects.get(child_id="\\N")
    assert (child.upn, child.dob_text) == ("=1+1", "01/01/2015")
    row = CareRow.objects.get(table="header", child=child)
    assert (row.data["child"], row.data["upn"]) == ("\\N", "=1+1")
    _, rows = _export(tmp_path, "socialcare")
    assert ["ssda903", "\\N", "'=1+1"] == rows[-1][:3]


@pytest.mark.parametrize("year", ["2025", "2026"])
def test_a_cin_census_loads_for_the_year_its_header_or_its_reference_date_names(
        world, tmp_path, year):
    cin = tmp_path / "cin.xml"
    cin.write_bytes(_cin().replace(b"<Year>2026</Year>", b"<Year>2025</Year>"))

    assert main(["import", str(cin), "--la", "330", "--year", year]) == 0
    assert CareReturn.objects.get().year == int(year)


def test_the_import_indicators_count_the_social_care_returns_children(world, tmp_path):
    assert main(["import", str(_903(tmp_path)), "--la", "330", "--year", "2026"]) == 0
    out = tmp_path / "indicators.csv"

    assert main(["indicators", "--la", "330", "--year", "2026", "--out", str(out)]) == 0
    with out.open(newline="", encoding="utf-8") as handle:
        rows = {r["dataset"]: r for r in csv.DictReader(handle)}
    assert (rows["ssda903"]["files"], rows["ssda903"]["schools"], rows["ssda903"]["pupils"]) \
        == ("3", "0", "3")
    assert rows["cin"]["pupils"] == "0"


def _queries_of(client, url, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit):
        response = client.get(url)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("children", [3, 60])
def test_the_list_pages_take_the_same_queries_for_few_children_or_many(
        world, tmp_path, login, django_assert_max_num_queries, children):
    _census(world, tmp_path)
    extra = "".join(f"{6000 + i},1,01/01/2016,WBRI,UN1,,\n" for i in range(children))
    episodes = EPISODES + "".join(f"{6000 + i},01/05/2025,S,C2,N1,U1,PR1,,,,,,\n"
                                  for i in range(children))
    folder = _903(tmp_path, header=HEADER + extra, episodes=episodes)
    assert main(["import", str(folder), "--la", "330", "--year", "2026"]) == 0
    client = login(world.a.users[Role.VIRTUAL_SCHOOL])

    for url in ("/social-care/", "/social-care/children/", "/social-care/looked-after/",
                f"/social-care/returns/{CareReturn.objects.get().pk}/"):
        _queries_of(client, url, django_assert_max_num_queries, 14)


def test_a_child_id_too_long_for_its_column_refuses_the_return_naming_the_line(
        world, tmp_path, capsys):
    header = HEADER + "X" * 50 + ",1,01/01/2015,WBRI,UN1,,\n"

    assert main(["import", str(_903(tmp_path, header=header)), "--la", "330",
                 "--year", "2026"]) == 2
    out = capsys.readouterr().out
    assert "line 5" in out and "longer than 40 characters" in out
    assert not CareReturn.objects.exists()
