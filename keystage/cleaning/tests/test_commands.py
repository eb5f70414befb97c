"""`keystage clean` and `keystage rules` from the command line, and the rule set at start-up."""

from __future__ import annotations

import csv

import pytest
from django.core.exceptions import ImproperlyConfigured

import keystage.cleaning
from keystage.cleaning.apps import CleaningConfig
from keystage.cleaning.models import CleaningRun
from keystage.cleaning.ruleset import load_rule_set, rule_set_for
from keystage.cli import main
from keystage.collection.actions import import_ctf
from keystage.collection.tests.ctf_builder import eyfsp_file

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections


def _send(world, *, bad: bool):
    school = world.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 3)
    if bad:
        data = data.replace(b"<Sex>M</Sex>", b"<Sex>X</Sex>", 1)
    import_ctf("eyfsp.xml", data, la=world.a.la, year=2026, acting_user=None)
    return upns


def test_clean_exits_1_and_reports_each_error_with_its_rule_and_message(world, tmp_path):
    upns = _send(world, bad=True)
    report = tmp_path / "report.csv"

    status = main(["clean", "--la", "330", "--year", "2026", "--collection", "eyfsp",
                   "--report", str(report)])

    assert status == 1
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [(r["rule_code"], r["severity"], r["laestab"], r["upn"], r["field"], r["value"])
            for r in rows] == [("GEN015", "error", world.a.schools[0].laestab, upns[0], "Sex",
                                "X")]
    assert "M or F" in rows[0]["message"]
    assert CleaningRun.objects.get().trigger == "command"


def test_clean_exits_0_with_a_header_only_report_when_the_data_is_clean(world, tmp_path):
    _send(world, bad=False)
    report = tmp_path / "report.csv"

    status = main(["clean", "--la", "330", "--year", "2026", "--report", str(report)])

    assert status == 0
    assert report.read_text(encoding="utf-8").splitlines() == [
        "rule_code,severity,laestab,upn,field,value,message"
    ]


@pytest.mark.parametrize("args", [
    ["--la", "330", "--year", "2026"],                        # nothing loaded
    ["--la", "999", "--year", "2026"],                        # no such LA
    ["--la", "330", "--year", "2026", "--collection", "sats"],  # no such collection
    ["--la", "330"],                                          # no year
])
def test_clean_exits_2_when_asked_for_something_it_cannot_check(world, args, capsys):
    assert main(["clean", *args]) == 2


def test_clean_exits_2_when_the_report_cannot_be_written(world, tmp_path):
    _send(world, bad=False)

    status = main(["clean", "--la", "330", "--year", "2026",
                   "--report", str(tmp_path / "missing" / "report.csv")])

    assert status == 2


def test_a_years_rule_set_is_written_out_and_reads_back_the_same(tmp_path, capsys):
    out = tmp_path / "rules-2025-26.csv"

    assert main(["rules", "export", "--year", "2026", "--out", str(out)]) == 0
    assert main(["rules", "check", str(out)]) == 0

    assert load_rule_set(out) == rule_set_for(2026)
    assert "all valid" in capsys.readouterr().out


def test_rules_check_exits_2_and_names_the_line_of_an_invalid_rule_set(tmp_path, capsys):
    out = tmp_path / "rules.csv"
    main(["rules", "export", "--year", "2026", "--out", str(out)])
    lines = out.read_text(encoding="utf-8").splitlines()
    broken = [line.replace(",error,", ",fatal,", 1) if line.startswith("GEN003") else line
              for line in lines]
    out.write_text("\n".join(broken) + "\n", encoding="utf-8")
    number = next(i for i, line in enumerate(broken, start=1) if line.startswith("GEN003"))

    assert main(["rules", "check", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"line {number}" in error and "fatal" in error


def test_an_invalid_default_rule_set_stops_the_app_at_start_up(monkeypatch, tmp_path):
    from keystage.cleaning import ruleset

    bad = tmp_path / "rules.csv"
    bad.write_text("code,severity\nGEN001,error\n", encoding="utf-8")
    monkeypatch.setattr(ruleset, "DEFAULT_RULES_FILE", bad)
    config = CleaningConfig("keystage.cleaning", keystage.cleaning)

    with pytest.raises(ImproperlyConfigured, match="cleaning rules cannot be used"):
        config.ready()
