"""A season's files with planted errors: `keystage clean` flags every one, and nothing else."""

from __future__ import annotations

import csv

import polars as pl
import pytest
from django.db import transaction

from keystage.cleaning.models import CleaningRun, Issue
from keystage.cli import main
from keystage.schools.actions import do_add_pvi_setting
from keystage.schools.models import LocalAuthority

# What the synthetic writer plants (synth.ctf_writer ERROR_MENU) and the rules that must flag it.
FLAGGED_BY = {
    "UPN_CHECK_LETTER": {"GEN003"},
    "UPN_TEMPORARY": {"GEN005"},
    "UPN_MISSING": {"GEN001"},
    # In one collection a duplicate; across two (a file may carry EYFSP and phonics), the
    # two records of the UPN disagree on date of birth.
    "UPN_DUPLICATE": {"GEN006", "GEN018"},
    "DOB_OUT_OF_YEAR": {"GEN012", "EYF004"},
    "SEX_MISSING": {"GEN014"},
    "SEX_INVALID": {"GEN015"},
    "NCYEAR_MISMATCH": {"GEN017"},
    "ELG_MISSING": {"EYF001"},
    "ELG_PARTIAL_A": {"EYF002"},
    "ELG_INVALID_RESULT": {"EYF003"},
    "PHONICS_MARK_OUT_OF_RANGE": {"PHO002"},
    "PHONICS_WT_CONFLICT": {"PHO004"},
    "PHONICS_RETAKE_MET_Y1": {"PHO006"},
    "KS2_HNM_WRITING": {"KS2004"},
    "TA_SUBJECT_MISSING": {"KS1001", "KS2001"},
    "MTC_SCORE_OUT_OF_RANGE": {"MTC002"},
    "MTC_CODE_UNKNOWN": {"MTC003"},
}
# Rules about the school's count: a planted error that moves a pupil out of its year group, or
# adds a bad retake, changes the count the school sent.
COUNT_RULES = {"SCH003"}


def _load_season(folder, seed: int, schools: int, errors: float) -> dict:
    """Synthesise a season with planted errors, load it and clean it from the command line."""
    assert main(["synth", str(folder), "--la", "999", "--schools", str(schools),
                 "--errors", str(errors), "--seed", str(seed)]) == 0
    assert main(["import-gias", str(folder / "gias_establishments.csv")]) == 0
    la = LocalAuthority.objects.get(code="999")
    with transaction.atomic():
        for row in csv.DictReader((folder / "pvi_settings.csv").open(encoding="utf-8")):
            do_add_pvi_setting(la, urn=row["URN"], name=row["EstablishmentName"],
                               acting_user=None)
    # Last year's phonics first, then the season; the import runs the rules itself.
    assert main(["import", str(folder / "previous" / "ctf"), "--la", "999",
                 "--year", "2025"]) == 0
    assert main(["import", str(folder / "ctf_batch.zip"), str(folder / "expected_cohorts.csv"),
                 "--la", "999", "--year", "2026"]) == 0
    automatic = CleaningRun.objects.filter(trigger="import", year=2026).count()
    report = folder / "report.csv"
    status = main(["clean", "--la", "999", "--year", "2026", "--report", str(report)])
    return {
        "status": status, "automatic": automatic, "issues": Issue.objects.count(),
        "lines": report.read_text(encoding="utf-8").splitlines(),
        "rows": list(csv.DictReader(report.open(encoding="utf-8"))),
        "planted": pl.read_csv(folder / "truth" / "planted_errors.csv", infer_schema_length=0),
    }


@pytest.mark.django_db(transaction=True)  # the command line closes connections
@pytest.mark.parametrize(("seed", "schools", "errors"), [(7, 10, 0.06), (3, 25, 0.12)])
def test_clean_flags_every_planted_error_of_a_season_and_leaves_clean_pupils_alone(
    tmp_path, seed, schools, errors
):
    season = _load_season(tmp_path, seed, schools, errors)

    # The import ran the rules for each of the five collections it loaded.
    assert season["automatic"] == 5
    # Errors were found: exit status 1, and the report in the documented layout.
    assert season["status"] == 1
    assert season["lines"][0] == "rule_code,severity,laestab,upn,field,value,message"
    assert len(season["rows"]) == season["issues"] > 0
    planted = season["planted"]
    assert planted.height > 50
    assert _missed(planted, season["rows"]) == []
    assert _flagged_clean_pupils(planted, season["rows"]) == []


def _file_upn(row: dict) -> str:
    """The UPN the file carries for a planted error: a planted UPN error changed it."""
    return (row["value"] if row["field"] == "UPN" else row["upn"]) or ""


def _missed(planted: pl.DataFrame, rows: list[dict]) -> list[tuple]:
    """Planted errors that no report row of the rules meant for them flags."""
    found = {(r["laestab"], r["upn"], r["rule_code"]) for r in rows}
    return [
        (row["error_code"], row["laestab"], row["upn"], row["field"], row["value"])
        for row in planted.iter_rows(named=True)
        if not any((row["laestab"], _file_upn(row), code) in found
                   for code in FLAGGED_BY[row["error_code"]])
    ]


def _flagged_clean_pupils(planted: pl.DataFrame, rows: list[dict]) -> list[tuple]:
    """Report rows about pupils who carry no planted error."""
    planted_pupils = {(r["laestab"], _file_upn(r)) for r in planted.iter_rows(named=True)}
    # A planted duplicate makes the pupil who really has that UPN look duplicated too.
    shared_upns = set(planted.filter(pl.col("error_code") == "UPN_DUPLICATE")["value"])
    schools_with_errors = {laestab for laestab, _ in planted_pupils}
    return [
        (r["rule_code"], r["laestab"], r["upn"], r["field"], r["value"])
        for r in rows
        if (r["laestab"], r["upn"]) not in planted_pupils and r["upn"] not in shared_upns
        and not (r["upn"] == "" and r["rule_code"] in COUNT_RULES
                 and r["laestab"] in schools_with_errors)
    ]
