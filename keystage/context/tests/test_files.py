"""Pupil premium, KS2, KS4 and extra-fields files loaded end to end through `keystage import`."""

from __future__ import annotations

import pytest

from keystage.cli import main
from keystage.collection.models import PupilRecord, Submission
from keystage.context.models import ExtraValue, Ks2Result, Ks4Result, PupilPremium

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections
KS4_HEADER = "UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,QUALTYPE,SUBJECT,GRADE"


def _write(tmp_path, name, *lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _import(*args):
    return main(["import", *args, "--la", "330", "--year", "2026"])


def test_the_la_loads_pupil_premium_ks2_and_ks4_files_in_one_batch(world, tmp_path, capsys):
    a, b = (s.laestab for s in world.a.schools[:2])
    pp = _write(tmp_path, "allocations.csv",
                "UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON",
                f"A330200121001,{a},Lee,Sam,2015-01-02,Y,FSM6",
                f"A330200121002,{b},Khan,Ada,2015-03-04,N,")
    ks2 = _write(tmp_path, "ks2.csv",
                 "UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,READSCORE,READOUTCOME,MATSCORE,"
                 "MATOUTCOME,GPSSCORE,GPSOUTCOME,WRITTAOUTCOME,SCITAOUTCOME",
                 f"A330200121003,{a},Lee,Sam,2014-09-03,M,104,AS,A,A,99,NS,EXS,EXS")
    ks4 = _write(tmp_path, "ks4.csv", KS4_HEADER,
                 f"A330200121004,{b},Ng,Bo,2010-01-02,F,GCSE,MATHS,7",
                 f"A330200121004,{b},Ng,Bo,2010-01-02,F,GCSE,COMBSCI,5-4")
    assert _import(pp, ks2, ks4) == 0, capsys.readouterr()
    assert sorted(Submission.objects.values_list("collection", flat=True)) == [
        "ks2", "ks4", "pp", "pp"]
    assert dict(PupilPremium.objects.values_list("record__upn", "reason")) == {
        "A330200121001": "FSM6", "A330200121002": ""}
    result = Ks2Result.objects.get()
    assert (result.read_score, result.mat_score, result.mat_outcome) == (104, None, "A")
    # One pupil record per KS4 candidate, one row per qualification.
    assert PupilRecord.objects.filter(collection="ks4").count() == 1
    assert sorted(Ks4Result.objects.values_list("subject", "grade")) == [
        ("COMBSCI", "5-4"), ("MATHS", "7")]


def test_a_ks4_grade_not_valid_for_its_qualification_refuses_only_that_file(world, tmp_path,
                                                                           capsys):
    a = world.a.schools[0].laestab
    bad = _write(tmp_path, "ks4.csv", KS4_HEADER,
                 f"A330200121004,{a},Ng,Bo,2010-01-02,F,GCSE,MATHS,A*")
    pp = _write(tmp_path, "pp.csv", "UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON",
                f"A330200121001,{a},Lee,Sam,2015-01-02,Y,FSM6")
    assert _import(bad, pp) == 2
    out = capsys.readouterr().out
    assert "ks4.csv, line 2" in out and "grade 'A*'" in out
    assert list(Submission.objects.values_list("collection", flat=True)) == ["pp"]
    assert not Ks4Result.objects.exists()


def test_extra_fields_load_only_when_the_la_names_them(world, tmp_path, capsys):
    a = world.a.schools[0].laestab
    path = _write(tmp_path, "carers.csv", "UPN,LAESTAB,Young carer",
                  f"A330200121001,{a},Y")
    assert _import(path) == 0
    assert "not a file Keystage recognises" in capsys.readouterr().out
    assert not ExtraValue.objects.exists()
    assert _import(path, "--fields", "Young carer=young_carer") == 0
    assert list(ExtraValue.objects.values_list("record__upn", "field", "value")) == [
        ("A330200121001", "young_carer", "Y")]


def test_export_results_for_ks2_gives_the_results_files_columns(world, tmp_path):
    a = world.a.schools[0].laestab
    ks2 = _write(tmp_path, "ks2.csv",
                 "UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,READSCORE,READOUTCOME,MATSCORE,"
                 "MATOUTCOME,GPSSCORE,GPSOUTCOME,WRITTAOUTCOME,SCITAOUTCOME",
                 f"A330200121003,{a},Lee,Sam,2014-09-03,M,104,AS,A,A,99,NS,EXS,EXS")
    assert _import(ks2) == 0
    out = tmp_path / "ks2_export.csv"
    assert main(["export", "results", "--la", "330", "--year", "2026", "--collection", "ks2",
                 "--out", str(out)]) == 0
    header, row = out.read_text(encoding="utf-8").splitlines()
    assert header == ("laestab,upn,surname,forename,dob,sex,ncyear,READSCORE,READOUTCOME,"
                      "MATSCORE,MATOUTCOME,GPSSCORE,GPSOUTCOME,WRITTAOUTCOME,SCITAOUTCOME")
    assert row == f"{a},A330200121003,Lee,Sam,2014-09-03,M,,104,AS,,A,99,NS,EXS,EXS"
