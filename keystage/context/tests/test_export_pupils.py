"""`keystage export pupils`: the characteristics of methods.md 11.1, whatever the load order."""

from __future__ import annotations

import csv

import pytest

from keystage.cli import main
from keystage.formats.tests.census_builder import census_pupil, census_xml
from keystage.measures.characteristics import EXPORT_COLUMNS

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections

PP_HEADER = "UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON"
KS2_HEADER = ("UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,READSCORE,READOUTCOME,MATSCORE,MATOUTCOME,"
              "GPSSCORE,GPSOUTCOME,WRITTAOUTCOME,SCITAOUTCOME")


def _files(world, tmp_path):
    a, b = world.a.schools[:2]
    census = tmp_path / "census.xml"
    census.write_bytes(census_xml("330", a.estab, [
        census_pupil("A330200121001", "Lee", "Sam", "2014-07-02", "M", "6",
                     fsm=[("2025-09-01", None)], sen_provision="K",
                     sen_needs=[("SLCN", 1)], language="POL", ethnicity="APKN",
                     former_upn="A330200199999"),
        census_pupil("A330200121002", "Khan", "Ada", "2014-10-03", "F", "6"),
    ]))
    pp = tmp_path / "pp.csv"
    pp.write_text(f"{PP_HEADER}\nA330200121002,{a.laestab},Khan,Ada,2014-10-03,Y,POSTLAC\n")
    ks2 = tmp_path / "ks2.csv"
    ks2.write_text(f"{KS2_HEADER}\n"
                   f"A330200121001,{a.laestab},Lee,Sam,2014-07-02,M,104,AS,99,NS,100,AS,EXS,EXS\n"
                   f"A330200121003,{b.laestab},Ng,Bo,2014-09-09,M,110,AS,99,NS,100,AS,EXS,EXS\n")
    return census, pp, ks2


def _export(tmp_path):
    out = tmp_path / "pupils.csv"
    assert main(["export", "pupils", "--la", "330", "--year", "2026", "--out", str(out)]) == 0
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0)], ids=["census first", "results first"])
def test_export_pupils_gives_each_pupils_characteristics_in_any_load_order(world, tmp_path,
                                                                           order):
    files = _files(world, tmp_path)
    for index in order:
        assert main(["import", str(files[index]), "--la", "330", "--year", "2026"]) == 0
    header, rows = _export(tmp_path)
    assert header == list(EXPORT_COLUMNS)
    assert set(rows) == {"A330200121001", "A330200121002", "A330200121003"}
    sam = rows["A330200121001"]
    assert {k: sam[k] for k in ("former_upns", "laestab", "ncyear", "ethnicity",
                                "ethnicity_major", "eal", "fsm", "fsm6", "pp", "disadvantaged",
                                "sen", "sen_primary_need", "summer_born", "cla")} == {
        "former_upns": "A330200199999", "laestab": world.a.schools[0].laestab, "ncyear": "6",
        "ethnicity": "APKN", "ethnicity_major": "ASIA", "eal": "Y", "fsm": "Y", "fsm6": "Y",
        "pp": "", "disadvantaged": "Y", "sen": "K", "sen_primary_need": "SLCN",
        "summer_born": "Y", "cla": ""}
    ada = rows["A330200121002"]
    assert (ada["fsm"], ada["pp"], ada["disadvantaged"], ada["eal"]) == ("N", "Y", "Y", "N")
    # A pupil with a result but no census row: school from the result, census columns empty.
    bo = rows["A330200121003"]
    assert (bo["laestab"], bo["fsm"], bo["ethnicity_major"], bo["sen"]) == (
        world.a.schools[1].laestab, "", "", "")
