"""`keystage report ks4`: Attainment 8 and Progress 8 by school from loaded KS2 and KS4 files."""

from __future__ import annotations

import csv

import pytest

from keystage.cli import main

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections
KS2_HEADER = ("UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,READSCORE,READOUTCOME,MATSCORE,MATOUTCOME,"
              "GPSSCORE,GPSOUTCOME,WRITTAOUTCOME,SCITAOUTCOME")
KS4_HEADER = "UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,QUALTYPE,SUBJECT,GRADE"
WORKED = (("ENGLANG", "6"), ("ENGLIT", "5"), ("MATHS", "5"), ("COMBSCI", "5-4"),
          ("HISTORY", "6"), ("FRENCH", "4"), ("ART", "7"))


def _load(world, tmp_path):
    """Two pupils at the academy: the worked example (KS2 104/106) and one with no KS2."""
    primary, academy = world.a.schools[0].laestab, world.a.schools[2].laestab
    ks2 = tmp_path / "ks2.csv"
    ks2.write_text(f"{KS2_HEADER}\nA330200119001,{primary},Lee,Sam,2008-01-02,M,104,AS,106,AS,"
                   "100,AS,EXS,EXS\n")
    ks4 = tmp_path / "ks4.csv"
    rows = [f"A330200119001,{academy},Lee,Sam,2008-01-02,M,GCSE,{s},{g}" for s, g in WORKED]
    rows += [f"A330400119002,{academy},Ng,Bo,2008-03-04,F,GCSE,MATHS,4",
             f"A330400119002,{academy},Ng,Bo,2008-03-04,F,GCSE,ENGLANG,4"]
    ks4.write_text(KS4_HEADER + "\n" + "\n".join(rows) + "\n")
    assert main(["import", str(ks2), "--la", "330", "--year", "2019"]) == 0
    assert main(["import", str(ks4), "--la", "330", "--year", "2024"]) == 0
    return academy


def _report(tmp_path, year):
    out = tmp_path / f"ks4_{year}.csv"
    assert main(["report", "ks4", "--la", "330", "--year", str(year), "--by", "school",
                 "--out", str(out)]) == 0
    with out.open(newline="") as handle:
        return {(r["measure"], r["level"]): r for r in csv.DictReader(handle)}


def test_report_ks4_gives_a8_p8_with_its_interval_and_the_basics(world, tmp_path):
    academy = _load(world, tmp_path)

    rows = _report(tmp_path, 2024)

    a8 = rows[("a8", "school")]
    assert (a8["laestab"], a8["pupils"], a8["numerator"], a8["value"]) == (academy, "2", "65",
                                                                          "32.5")
    p8 = rows[("p8", "la")]
    # Only the pupil with a KS2 prior: (53 - 45.12) / 10, the interval 1.96 * 1.41628 / 1.
    assert (p8["pupils"], p8["value"], p8["ci_low"], p8["ci_high"], p8["band"]) == (
        "1", "0.79", "-1.99", "3.56", "average")
    assert rows[("p8_eng", "la")]["value"] == "1.08"  # 1.075 rounded half up
    assert rows[("em_4plus", "la")]["numerator"] == "2"
    assert rows[("em_5plus", "la")]["numerator"] == "1"
    assert rows[("ebacc_entry", "la")]["numerator"] == "1"


def test_a_year_without_progress_8_has_no_p8_rows_and_exits_0(world, tmp_path):
    _load(world, tmp_path)
    ks4 = tmp_path / "ks4_2026.csv"
    ks4.write_text(KS4_HEADER + "\nA330400119002," + world.a.schools[2].laestab
                   + ",Ng,Bo,2010-03-04,F,GCSE,MATHS,4\n")
    assert main(["import", str(ks4), "--la", "330", "--year", "2026"]) == 0

    rows = _report(tmp_path, 2026)

    assert ("a8", "la") in rows
    assert not [m for m, _ in rows if m.startswith("p8")]


def test_the_pupil_page_shows_how_the_pupils_ks4_figures_were_worked_out(world, tmp_path,
                                                                        client):
    from keystage.collection.models import PupilRecord

    _load(world, tmp_path)
    record = PupilRecord.objects.get(collection="ks4", upn="A330200119001")
    client.force_login(world.a.users["la_analyst"])

    page = client.get(f"/pupils/{record.pupil_id}/").content.decode()

    assert "Attainment 8 slots: 53.0 points" in page
    assert "double: language and literature both entered" in page
    assert "105.0 (mean of reading and maths scaled scores), group 19" in page
    assert "0.79 (A8 53.0 against the group's estimate 45.12" in page


def test_the_schools_ks4_page_plots_prior_against_a8_with_links_for_la_users(world, tmp_path,
                                                                             client):
    _load(world, tmp_path)
    academy = world.a.schools[2]
    client.force_login(world.a.users["la_analyst"])

    page = client.get(f"/reports/ks4/{academy.urn}/", {"year": 2024}).content.decode()

    assert 'data-chart="ks4-scatter"' in page and "chartjs/chart.umd.min.js" in page
    assert '"x": 105.0, "y": 53.0' in page and '"url": "/pupils/' in page
    assert "Sam Lee" in page and "not available" in page  # Bo Ng has no KS2 prior


def test_the_report_page_draws_the_chosen_measure_beside_its_table(world, tmp_path, client):
    _load(world, tmp_path)
    client.force_login(world.a.users["la_analyst"])

    page = client.get("/reports/", {"dataset": "ks4", "year": 2024, "by": "school",
                                    "measure": "p8"}).content.decode()
    xlsx = client.get("/reports/", {"dataset": "ks4", "year": 2024, "format": "xlsx"})

    assert 'data-chart="report-chart"' in page and "Progress 8: 2 bars" in page
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_the_report_page_shows_three_years_with_the_published_national_figures(world, tmp_path,
                                                                              client):
    _load(world, tmp_path)
    client.force_login(world.a.users["la_analyst"])

    page = client.get("/reports/", {"dataset": "ks4", "year": 2024, "measure": "a8"})
    html = page.content.decode()

    assert 'data-testid="trend"' in html and 'data-chart="trend-chart"' in html
    # 2022 and 2023 have published figures and no LA data; 2024 has LA data.
    # The 2024 national cell is hidden: fewer than five pupils (suppression, 11.2).
    assert "– / – / 46.3" in html and "32.5 / – / –" in html


def test_a_schools_report_downloads_as_a_pdf_for_the_la(world, tmp_path, client):
    _load(world, tmp_path)
    academy = world.a.schools[2]
    client.force_login(world.a.users["la_analyst"])

    page = client.get("/reports/", {"dataset": "ks4", "year": 2024, "by": "school",
                                    "measure": "a8"}).content.decode()
    pdf = client.get(f"/reports/school/{academy.urn}.pdf", {"dataset": "ks4", "year": 2024})

    assert f"/reports/school/{academy.urn}.pdf?dataset=ks4&amp;year=2024" in page
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf["Content-Disposition"].endswith(f'{academy.laestab}_ks4_2024.pdf"')
    assert client.get(f"/reports/school/{academy.urn}.pdf",
                      {"dataset": "nope", "year": 2024}).status_code == 302


def test_the_schools_ks4_page_shows_ebacc_subject_value_added(world, tmp_path, client):
    _load(world, tmp_path)
    client.force_login(world.a.users["la_analyst"])

    page = client.get(f"/reports/ks4/{world.a.schools[2].urn}/", {"year": 2024}).content.decode()

    assert 'data-testid="subject-va"' in page
    assert "Science" in page and "Humanities" in page and "Languages" in page


def test_a_pupil_below_the_ks2_test_threshold_takes_the_nominal_score_79(world, tmp_path):
    """Methods.md 1.3: `N` (took the test, no scaled score) is 79, so the pupil has a prior
    of (79 + 95) / 2 = 87 and a Progress 8 score."""
    primary, academy = world.a.schools[0].laestab, world.a.schools[2].laestab
    ks2 = tmp_path / "ks2.csv"
    ks2.write_text(f"{KS2_HEADER}\nA330200119003,{primary},Roy,Al,2008-05-02,M,N,,95,NS,"
                   "90,NS,WTS,HNM\n")
    ks4 = tmp_path / "ks4.csv"
    ks4.write_text(KS4_HEADER + "\n" + "\n".join(
        f"A330200119003,{academy},Roy,Al,2008-05-02,M,GCSE,{s},{g}"
        for s, g in (("ENGLANG", "3"), ("MATHS", "3"))) + "\n")
    assert main(["import", str(ks2), "--la", "330", "--year", "2019"]) == 0
    assert main(["import", str(ks4), "--la", "330", "--year", "2024"]) == 0

    rows = _report(tmp_path, 2024)

    assert rows[("p8", "la")]["pupils"] == "1"
