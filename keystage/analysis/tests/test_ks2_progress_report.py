"""KS1 to KS2 progress in `keystage report ks2` and on the reports page, from a KS1 CTF of four
years before and the KS2 results file, linked through pupil identity."""

from __future__ import annotations

import csv

import pytest

from keystage.cli import main
from keystage.collection.tests.ctf_builder import ctf, pupil_xml

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections
KS2_HEADER = ("UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,READSCORE,READOUTCOME,MATSCORE,MATOUTCOME,"
              "GPSSCORE,GPSOUTCOME,WRITTAOUTCOME,SCITAOUTCOME")
# (UPN, surname, school index, KS1 reading/writing/maths, KS2 reading, maths, writing TA)
PUPILS = (("A330200118001", "Ash", 0, "EXS", 100, 101, "EXS"),
          ("A330200118002", "Birch", 1, "EXS", 108, 105, "GDS"),
          ("A330200118003", "Cedar", 0, "WTS", 95, 90, "WTS"),
          ("A330200118004", "Dale", 1, "WTS", 99, 94, "EXS"))


def _ks1_file(la: str, estab: str, pupils) -> bytes:
    rows = [pupil_xml(upn, name, "Kim", "2014-10-02", "F", "2",
                      [("KS1", "ENG", "TA", "RE", "TA", ta, 2022),
                       ("KS1", "ENG", "TA", "WR", "TA", ta, 2022),
                       ("KS1", "MAT", "TA", "MAT", "TA", ta, 2022),
                       ("KS1", "SCI", "TA", "SCI", "TA", "EXS", 2022)])
            for upn, name, _, ta, *_ in pupils]
    return (ctf(la, estab, rows).replace(b"<AcademicYear>2025", b"<AcademicYear>2021")
            .replace(b"2026-06-19", b"2022-06-19").replace(b"<DataQualifier>FSP",
                                                           b"<DataQualifier>KS1"))


def _load(world, tmp_path):
    schools = world.a.schools[:2]
    for index, school in enumerate(schools):
        path = tmp_path / f"ks1_{index}.xml"
        path.write_bytes(_ks1_file("330", school.laestab[3:],
                                   [p for p in PUPILS if p[2] == index]))
        assert main(["import", str(path), "--la", "330", "--year", "2022"]) == 0
    lines = [f"{upn},{schools[i].laestab},{name},Kim,2014-10-02,F,{r},{'AS' if r >= 100 else 'NS'},"
             f"{m},{'AS' if m >= 100 else 'NS'},100,AS,{w},EXS"
             for upn, name, i, _, r, m, w in PUPILS]
    ks2 = tmp_path / "ks2.csv"
    ks2.write_text(KS2_HEADER + "\n" + "\n".join(lines) + "\n")
    assert main(["import", str(ks2), "--la", "330", "--year", "2026"]) == 0
    return schools


def _report(tmp_path):
    out = tmp_path / "ks2_2026.csv"
    assert main(["report", "ks2", "--la", "330", "--year", "2026", "--by", "school",
                 "--out", str(out)]) == 0
    with out.open(newline="") as handle:
        return {(r["measure"], r["level"], r["laestab"]): r for r in csv.DictReader(handle)}


def test_report_ks2_gives_each_schools_progress_against_the_emerging_estimates(world,
                                                                              tmp_path):
    first, second = _load(world, tmp_path)

    rows = _report(tmp_path)

    # Estimates: EXS group reading (100 + 108) / 2 = 104, WTS group (95 + 99) / 2 = 97.
    assert rows[("rea_prog", "school", first.laestab)]["value"] == "-3.00"
    assert rows[("rea_prog", "school", second.laestab)]["value"] == "3.00"
    la = rows[("rea_prog", "la", "")]
    assert (la["pupils"], la["value"]) == ("4", "0.00")
    assert la["ci_low"] and la["band"] == "average"
    assert rows[("mat_prog", "school", first.laestab)]["value"] == "-2.00"
    assert ("rwm_exs", "la", "") in rows


def test_the_reports_page_says_the_progress_estimates_are_emerging(world, tmp_path, client):
    _load(world, tmp_path)
    client.force_login(world.a.users["la_analyst"])

    page = client.get("/reports/", {"dataset": "ks2", "year": 2026, "by": "school"})

    text = page.content.decode()
    assert "uses emerging estimates" in text and "KS1 to KS2 progress: reading" in text


def test_without_ks1_the_page_says_progress_is_not_available(world, tmp_path, client):
    school = world.a.schools[0]
    ks2 = tmp_path / "ks2.csv"
    ks2.write_text(KS2_HEADER + f"\nA330200118001,{school.laestab},Ash,Kim,2014-10-02,F,100,AS,"
                   "101,AS,100,AS,EXS,EXS\n")
    assert main(["import", str(ks2), "--la", "330", "--year", "2026"]) == 0
    client.force_login(world.a.users["la_analyst"])

    text = client.get("/reports/", {"dataset": "ks2", "year": 2026}).content.decode()

    assert "KS1 to KS2 progress: not available" in text
    assert "rea_prog" not in {r["measure"] for r in _report(tmp_path).values()}
