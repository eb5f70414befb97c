"""`keystage report ks5`: A level points, grades and value added from a loaded KS5 file."""

from __future__ import annotations

import csv

import pytest

from keystage.cli import main

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections
KS5_HEADER = "UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,QUALCODE,SUBJECTCODE,GRADE,PRIORAPS"


def _load(world, tmp_path, year=2025):
    """Two students at the academy: one with the worked example's prior (7.0), one with none."""
    academy = world.a.schools[2].laestab
    rows = [f"A330200119001,{academy},Lee,Sam,2006-01-02,M,111,11010,A,7.0",
            f"A330200119001,{academy},Lee,Sam,2006-01-02,M,111,12210,*,7.0",
            f"A330200119001,{academy},Lee,Sam,2006-01-02,M,111,11110,B,7.0",
            f"A330200119001,{academy},Lee,Sam,2006-01-02,M,121,14410,C,7.0",
            f"A330400119002,{academy},Ng,Bo,2006-03-04,F,111,14850,C,",
            f"A330400119002,{academy},Ng,Bo,2006-03-04,F,111,14890,D,"]
    ks5 = tmp_path / "ks5.csv"
    ks5.write_text(KS5_HEADER + "\n" + "\n".join(rows) + "\n")
    assert main(["import", str(ks5), "--la", "330", "--year", str(year)]) == 0
    return academy


def _report(tmp_path, year, *extra):
    out = tmp_path / f"ks5_{year}.csv"
    assert main(["report", "ks5", "--la", "330", "--year", str(year), "--by", "school",
                 *extra, "--out", str(out)]) == 0
    with out.open(newline="") as handle:
        return {(r["measure"], r["level"]): r for r in csv.DictReader(handle)}


def test_report_ks5_gives_points_per_entry_grades_and_value_added(world, tmp_path):
    academy = _load(world, tmp_path)

    rows = _report(tmp_path, 2025)

    aps = rows[("ks5_aps", "school")]
    # Five A level entries: 50 + 60 + 40 + 30 + 20 = 200 points; the AS level is not one.
    assert (aps["laestab"], aps["pupils"], aps["numerator"], aps["value"]) == (
        academy, "5", "200", "40.0")
    assert rows[("ks5_astar_a", "la")]["numerator"] == "2"
    assert rows[("ks5_best3", "la")]["pupils"] == "1"
    assert rows[("ks5_best3", "la")]["value"] == "50.0"
    assert rows[("ks5_aab2f", "la")]["pupils"] == "2"
    va = rows[("ks5_va", "la")]
    # Only the student with a prior: three A levels against the 2025 curves, in grades.
    assert va["pupils"] == "3"
    assert va["ci_low"] and va["ci_high"] and va["band"]


def test_a_year_without_national_curves_has_no_value_added_rows(world, tmp_path):
    _load(world, tmp_path, year=2026)

    rows = _report(tmp_path, 2026)

    assert ("ks5_aps", "la") in rows
    assert ("ks5_va", "la") not in rows


def test_a_ks5_grade_the_qualification_does_not_have_refuses_the_file(world, tmp_path, capsys):
    academy = world.a.schools[2].laestab
    bad = tmp_path / "ks5_bad.csv"
    bad.write_text(KS5_HEADER + f"\nA330200119001,{academy},Lee,Sam,2006-01-02,M,121,14410,"
                   "A*,7.0\n")

    assert main(["import", str(bad), "--la", "330", "--year", "2025"]) != 0

    err = capsys.readouterr().err
    assert "ks5_bad.csv" in err and "line 2" in err and "AS level grade" in err


def test_a_prior_that_is_not_a_ks4_average_point_score_refuses_the_file(world, tmp_path, capsys):
    academy = world.a.schools[2].laestab
    bad = tmp_path / "ks5_prior.csv"
    bad.write_text(KS5_HEADER + f"\nA330200119001,{academy},Lee,Sam,2006-01-02,M,111,11010,"
                   "A,71\n")

    assert main(["import", str(bad), "--la", "330", "--year", "2025"]) != 0

    assert "PRIORAPS '71'" in capsys.readouterr().err


def test_ks5_rules_query_a_student_without_prior_attainment(world, tmp_path):
    _load(world, tmp_path)
    out = tmp_path / "issues.csv"

    main(["clean", "--la", "330", "--year", "2025", "--collection", "ks5", "--report",
          str(out)])

    with out.open(newline="") as handle:
        issues = {(r["rule_code"], r["upn"]) for r in csv.DictReader(handle)}
    assert ("KS5002", "A330400119002") in issues


def test_the_pupil_page_shows_each_entrys_estimate_and_value_added(world, tmp_path, client):
    from keystage.collection.models import PupilRecord

    _load(world, tmp_path)
    sam = PupilRecord.objects.get(collection="ks5", upn="A330200119001")
    bo = PupilRecord.objects.get(collection="ks5", upn="A330400119002")
    client.force_login(world.a.users["la_analyst"])

    page = client.get(f"/pupils/{sam.pupil_id}/").content.decode()
    assert "KS5 2024/25: how the figures were worked out" in page
    # Biology A at a prior of 7.0: the worked example's estimate 35.03 and +1.50 grades.
    assert "Biology" in page and "35.03" in page and "1.50" in page
    assert "7.00 (average point score)" in page and "GCE AS level" in page

    other = client.get(f"/pupils/{bo.pupil_id}/").content.decode()
    assert "none: no prior attainment (KS4 average point score)" in other
    assert "not available: no KS4 prior" in other


def test_the_schools_ks5_page_gives_cohort_and_subject_value_added_and_a_scatter(
        world, tmp_path, client):
    _load(world, tmp_path)
    academy = world.a.schools[2]
    client.force_login(world.a.users["la_analyst"])

    page = client.get(f"/reports/ks5/{academy.urn}/", {"year": 2025}).content.decode()

    assert 'data-testid="cohort-va"' in page and 'data-testid="ks5-subject-va"' in page
    assert "Mathematics" in page and "Economics" in page
    assert 'data-chart="ks5-scatter"' in page and '"x": 7.0' in page
    assert '"url": "/pupils/' in page
    assert "Sam Lee" in page and "Bo Ng" in page


def test_another_las_user_gets_a_404_for_the_schools_ks5_page(world, tmp_path, client):
    _load(world, tmp_path)
    client.force_login(world.b.users["la_analyst"])

    assert client.get(f"/reports/ks5/{world.a.schools[2].urn}/",
                      {"year": 2025}).status_code == 404


def test_every_report_page_reads_ks5_for_each_role_that_may_see_it(world, tmp_path, client):
    academy = world.a.schools[2]
    _load(world, tmp_path)
    q = {"dataset": "ks5", "year": 2025}
    for role, url, params in [
        ("la_analyst", "/reports/", {**q, "by": "school", "national": "on"}),
        ("la_analyst", "/reports/", {**q, "by": "group"}),
        ("la_analyst", f"/reports/school/{academy.urn}/", q),
        ("la_analyst", f"/reports/school/{academy.urn}.pdf", q),
        ("la_analyst", "/reports/group/", {**q, "group": "sex", "value": "M"}),
        ("national_analyst", "/reports/national/", q),
    ]:
        client.force_login(world.a.users[role] if role in world.a.users else world.national)
        response = client.get(url, params)
        assert response.status_code == 200, (role, url, response.status_code)
    client.force_login(world.a.users["la_analyst"])
    page = client.get("/reports/", {**q, "by": "school"}).content.decode()
    assert "A level average point score per entry" in page and "A level value added" in page
