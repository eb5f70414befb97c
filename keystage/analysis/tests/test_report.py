"""`keystage report`: the contract's layout, by school, by group and with national rows."""

from __future__ import annotations

import csv

import pytest

from keystage.cli import main
from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.measures.primary import REPORT_COLUMNS

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections


def _load(world, tmp_path):
    a0, a1 = world.a.schools[:2]
    b0 = world.b.schools[0]
    files = [("330", a0.estab, 10, 17), ("330", a1.estab, 4, 12), ("331", b0.estab, 6, 11)]
    for la, estab, count, expected in files:
        data, _ = eyfsp_file(la, estab, count, expected=expected)
        path = tmp_path / f"{la}{estab}.xml"
        path.write_bytes(data)
        assert main(["import", str(path), "--la", la, "--year", "2026"]) == 0
    return a0, a1


def _report(tmp_path, *extra):
    out = tmp_path / "report.csv"
    assert main(["report", "eyfsp", "--la", "330", "--year", "2026", *extra,
                 "--out", str(out)]) == 0
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return out, rows


def test_report_by_school_gives_the_la_row_then_a_row_per_school(world, tmp_path):
    a0, a1 = _load(world, tmp_path)

    out, rows = _report(tmp_path, "--by", "school")

    assert out.read_text().splitlines()[0] == ",".join(REPORT_COLUMNS)
    gld = [r for r in rows if r["measure"] == "gld"]
    assert [(r["level"], r["laestab"], r["pupils"], r["numerator"], r["value"]) for r in gld] \
        == [("la", "", "14", "14", "100.0"), ("school", a0.laestab, "10", "10", "100.0"),
            ("school", a1.laestab, "4", "4", "100.0")]
    assert {r["suppressed"] for r in rows} == {"N"}
    avg = next(r for r in rows if r["measure"] == "avg_elgs" and r["level"] == "la")
    assert (avg["numerator"], avg["value"], avg["ci_low"]) == (str(10 * 17 + 4 * 12), "15.6", "")


def test_report_national_adds_every_las_pupils_and_hides_small_cells(world, tmp_path):
    _load(world, tmp_path)

    _, rows = _report(tmp_path, "--national")

    national = next(r for r in rows if r["measure"] == "gld" and r["level"] == "national")
    assert (national["la"], national["pupils"], national["numerator"], national["value"]) == (
        "", "20", "14", "70.0")
    la = next(r for r in rows if r["measure"] == "gld" and r["level"] == "la")
    assert la["band"] == "above"  # 100% of 14 against 70% of 20


def test_report_by_group_gives_every_group_value_with_unknown_for_no_census(world, tmp_path):
    _load(world, tmp_path)

    _, rows = _report(tmp_path, "--by", "group")

    sexes = {(r["group_value"], r["pupils"]) for r in rows
             if r["measure"] == "gld" and r["group"] == "sex"}
    assert sexes == {("F", "7"), ("M", "7")}
    fsm = {r["group_value"] for r in rows if r["measure"] == "gld" and r["group"] == "fsm"}
    assert fsm == {"unknown"}


def test_report_for_an_unknown_la_is_bad_usage(world, tmp_path):
    assert main(["report", "eyfsp", "--la", "999", "--year", "2026", "--out",
                 str(tmp_path / "x.csv")]) == 2


def test_a_report_of_a_year_with_no_data_says_what_to_load_and_writes_nothing(
        world, tmp_path, capsys):
    out = tmp_path / "x.csv"

    assert main(["report", "phonics", "--la", "330", "--year", "2026", "--out", str(out)]) == 2

    assert "No phonics results are loaded" in capsys.readouterr().err
    assert not out.exists()


def test_an_analyst_reads_the_report_page_and_downloads_the_same_rows(world, tmp_path, login):
    from keystage.accounts.models import Role

    _load(world, tmp_path)
    client = login(world.a.users[Role.LA_ANALYST])

    page = client.get("/reports/?dataset=eyfsp&year=2026&by=school")
    assert page.status_code == 200
    assert b'data-testid="report"' in page.content
    download = client.get("/reports/?dataset=eyfsp&year=2026&by=school&format=csv")
    lines = b"".join(download.streaming_content).decode().splitlines()
    _, rows = _report(tmp_path, "--by", "school")
    assert len(lines) == len(rows) + 1


@pytest.mark.parametrize("role", ["virtual_school", "transfer_officer", "lost_pupils_officer"])
def test_roles_without_reports_get_403_from_the_report_page(world, login, role):
    response = login(world.a.users[role]).get("/reports/?dataset=eyfsp&year=2026")

    assert response.status_code == 403


def test_a_school_sees_only_its_own_row_until_the_la_shares_its_figures(world, tmp_path, login):
    from keystage.accounts.models import Role
    from keystage.audit.models import AuditEvent

    a0, a1 = _load(world, tmp_path)
    school = login(world.a.users[Role.SCHOOL_USER])  # a user of the LA's first school
    url = "/reports/?dataset=eyfsp&year=2026&format=csv"

    def levels():
        body = b"".join(school.get(url).streaming_content).decode().splitlines()[1:]
        return sorted({(line.split(",")[3], line.split(",")[5]) for line in body})

    assert levels() == [("school", a0.laestab)]
    officer = login(world.a.users[Role.LA_DATA_OFFICER])
    assert officer.post("/reports/", {"dataset": "eyfsp", "share": "yes",
                                      "query": "dataset=eyfsp"}).status_code == 302
    school = login(world.a.users[Role.SCHOOL_USER])
    assert levels() == [("la", ""), ("national", ""), ("school", a0.laestab)]
    assert AuditEvent.objects.filter(event_type="report-sharing-changed").count() == 1


def test_an_analyst_cannot_change_what_schools_see(world, login):
    from keystage.accounts.models import Role

    response = login(world.a.users[Role.LA_ANALYST]).post("/reports/", {"dataset": "eyfsp",
                                                                        "share": "yes"})
    assert response.status_code == 403


def test_the_national_analyst_sees_each_la_and_the_nation_with_small_cells_hidden(world, login):
    from keystage.collection.actions import import_ctf
    from keystage.collection.tests.ctf_builder import eyfsp_file

    for part, count in ((world.a, 8), (world.b, 3)):
        data, _ = eyfsp_file(part.la.code, part.schools[0].estab, count, expected=12)
        assert import_ctf("e.xml", data, la=part.la, year=2026, acting_user=None,
                          confirm_replacements=True).status == "committed"
    client = login(world.national)

    page = client.get("/reports/national/", {"dataset": "eyfsp", "year": 2026})
    csv_rows = [line.split(",") for line in b"".join(client.get(
        "/reports/national/", {"dataset": "eyfsp", "year": 2026, "format": "csv"})
        .streaming_content).decode().splitlines()[1:]]

    assert page.status_code == 200 and 'data-testid="coverage"' in page.content.decode()
    # An average is hidden under five pupils (a percentage also with under three either side).
    avg = {(r[3], r[4]): r for r in csv_rows if r[2] == "avg_elgs" and r[6] == "all"}
    assert avg[("national", "")][8] == "11" and avg[("national", "")][11] == "N"
    assert avg[("la", "330")][11] == "N" and avg[("la", "331")][11] == "Y"
    assert login(world.a.users["la_analyst"]).get("/reports/national/").status_code == 403


@pytest.mark.parametrize(("year", "says"), [(2025, "publishes no KS2 progress"),
                                            (2026, "No KS1 assessments")])
def test_ks1_to_ks2_progress_is_not_available_never_zero(world, login, year, says):
    page = login(world.a.users["la_analyst"]).get("/reports/", {"dataset": "ks2", "year": year})

    assert says in page.content.decode() and "not available" in page.content.decode()


def test_a_report_with_a_schools_file_missing_says_it_is_incomplete(world, tmp_path, client):
    """Issue 12, bad input: the measure is shown with its coverage, not as if complete."""
    from keystage.cli import main
    from keystage.collection.tests.ctf_builder import eyfsp_file

    a0, a1 = world.a.schools[0], world.a.schools[1]
    cohorts = tmp_path / "cohorts.csv"
    cohorts.write_text("LAESTAB,Collection,AcademicYear,ExpectedCount\n"
                       f"{a0.laestab},EYFSP,2025/26,2\n{a1.laestab},EYFSP,2025/26,30\n")
    data, _ = eyfsp_file("330", a0.estab, 2)
    ctf = tmp_path / "f.xml"
    ctf.write_bytes(data)
    assert main(["import", str(cohorts), str(ctf), "--la", "330", "--year", "2026"]) == 0
    client.force_login(world.a.users["la_analyst"])

    text = client.get("/reports/", {"dataset": "eyfsp", "year": 2026}).content.decode()

    assert 'data-testid="coverage"' in text
    assert "Incomplete: 2 pupils from 1 school of 32 expected (6.3%)" in text
    assert f"Not yet received from 1 school: {a1.name}" in text
