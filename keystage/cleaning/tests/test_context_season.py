"""A year of context files with planted errors: the import runs each dataset's rules, which flag
every planted error exactly, and `keystage clean` checks one census term at a time.

The readers of the real files are built elsewhere; these tests load the files through the one
intake (keystage.collection.intake) with a stand-in file kind whose "file" is the DatasetFile
itself written as JSON, so that what is stored is what a reader would hand over.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keystage.accounts.models import Role
from keystage.cleaning.actions import EditRefused, do_edit_pupil, do_run_cleaning
from keystage.cleaning.loading import census_term_to_clean, load_cleaning_data
from keystage.cleaning.models import CleaningRun, Issue
from keystage.cli import main
from keystage.collection.actions import do_import_batch
from keystage.formats.kinds import KINDS, DatasetFile, FileKind
from keystage.formats.upn import make_upn

YEAR = 2026
MAGIC = b"#keystage-cleaning-test-file\n"
DATE_COLUMNS = {"dob", "start", "end", "entry_date"}


def sniff_test_file(head: bytes) -> bool:
    """The stand-in kind's sniff: the magic first line."""
    return head.startswith(MAGIC)


def read_test_file(source, *, filename: str, year: int | None = None, **options) -> DatasetFile:
    """The stand-in kind's reader: a DatasetFile written as JSON after the magic line."""
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    spec = json.loads(raw[len(MAGIC):])
    frames = {}
    for name, rows in spec.pop("frames").items():
        frame = pl.DataFrame(rows, infer_schema_length=None)
        frames[name] = frame.with_columns(
            pl.col(c).cast(pl.String).str.to_date() for c in frame.columns if c in DATE_COLUMNS
        )
    reference = spec.pop("reference_date", None)
    return DatasetFile(filename=filename, frames=frames, year=year,
                       reference_date=date.fromisoformat(reference) if reference else None,
                       **spec)


@pytest.fixture
def stand_in_kinds():
    """Stand-in file kinds for the context datasets, removed again after the test."""
    codes = []
    for dataset in ("census", "pp", "ks2", "ks4", "extra"):
        code = f"cleaning_test_{dataset}"
        KINDS[code] = FileKind(code, dataset, f"test {dataset}",
                               f"{__name__}:sniff_test_file", f"{__name__}:read_test_file",
                               priority=0)
        codes.append(code)
    yield
    for code in codes:
        KINDS.pop(code, None)


def stand_in_file(dataset: str, frames: dict, **header) -> bytes:
    """The bytes of a stand-in file; the kind is chosen by the reader from `dataset`."""
    spec = {"kind": f"cleaning_test_{dataset}", "dataset": dataset, "frames": frames, **header}
    return MAGIC + json.dumps(spec, default=str).encode()


def upn(serial: int) -> str:
    return make_upn("330", "2001", 2015, serial)


def bad_check_letter(serial: int) -> str:
    good = upn(serial)
    return ("Z" if good[0] != "Z" else "A") + good[1:]


def census(laestab: str, term: str, pupils: list[dict], fsm: list[dict]) -> bytes:
    reference = {"AUT": "2025-10-02", "SPR": "2026-01-15", "SUM": "2026-05-21"}[term]
    rows = [{"line": 10 + i, "surname": _surname(p["upn"]), "forename": "Sam",
             "sex": "F", "ncyear": "6", "dob": "2014-12-01", "enrol_status": "C", **p}
            for i, p in enumerate(pupils)]
    frames = {"pupils": rows}
    if fsm:
        frames["fsm"] = [{"line": 10 + row["pupil"], "start": row["start"], "end": row["end"]}
                         for row in fsm]
    return stand_in_file("census", frames, laestab=laestab, term=term, reference_date=reference)


def _surname(text: str) -> str:
    # Letters only, one surname per UPN, so that no name rule fires on a clean pupil.
    return "Pupil" + "".join(chr(ord("a") + int(d)) if d.isdigit() else d.lower()
                             for d in text[-3:])


def la_file(dataset: str, frame: str, rows: list[dict]) -> bytes:
    rows = [{"row": 2 + i, "surname": "Pupil", "forenames": "Sam", "dob": "2014-12-01",
             "sex": "F", **r} for i, r in enumerate(rows)]
    return stand_in_file(dataset, {frame: rows})


@pytest.fixture
def season(world, stand_in_kinds):
    """Spring and autumn censuses of two schools, pupil premium, KS2 and KS4 files, each with
    planted errors; returns the schools' LAESTABs and the errors planted, by rule."""
    one, two = (s.laestab for s in world.a.schools[:2])
    clean = [{"upn": upn(n)} for n in range(1, 9)]
    spring_one = [
        *clean[:6],
        {"upn": upn(20)},  # also on roll at school two as main registration
        {"upn": upn(21), "dob": "2015-09-01"},  # born 1 year after the Year 6 window
        {"upn": upn(22), "dob": "2017-09-01"},  # born more than 2 years after it
        {"upn": bad_check_letter(23)},
        {"upn": upn(24)}, {"upn": upn(24), "forename": "Alex"},  # one UPN twice in a school
    ]
    spring_two = [*clean[6:], {"upn": upn(20), "enrol_status": "M"},
                  {"upn": upn(25), "enrol_status": "S"}]  # dual registered: subsidiary here
    fsm = [{"pupil": 0, "start": "2024-09-02", "end": "2025-07-18"},
           {"pupil": 1, "start": "2025-09-01", "end": "2025-03-31"}]  # ends before it starts
    autumn_one = [*clean[:6]]
    # An autumn fault: not reported while the spring census is the one checked.
    autumn_fsm = [{"pupil": 0, "start": "2025-09-01", "end": "2025-08-01"}]
    pp = [{"upn": upn(1), "laestab": one, "pp_eligible": "Y", "pp_reason": "FSM6"},
          {"upn": upn(2), "laestab": one, "pp_eligible": "Y", "pp_reason": "FSM"},
          {"upn": upn(7), "laestab": two, "pp_eligible": "Y", "pp_reason": "CLA"},
          {"upn": upn(30), "laestab": two, "pp_eligible": "Y", "pp_reason": "SERVICE"},
          {"upn": upn(3), "laestab": one, "pp_eligible": "Y", "pp_reason": "POSTLAC"},
          {"upn": upn(3), "laestab": two, "pp_eligible": "N", "pp_reason": ""}]
    ks2 = [{"upn": upn(n), "laestab": one, "readscore": 100 + n, "matscore": 99,
            "gpsscore": 105, "readoutcome": "", "matoutcome": "", "gpsoutcome": "",
            "writtaoutcome": "EXS", "scitaoutcome": "EXS"} for n in (1, 2, 4)]
    ks2[1]["matscore"] = 125
    ks2.append({**ks2[0], "upn": upn(31), "laestab": two})
    ks4 = [{"upn": upn(5), "laestab": one, "qualtype": "GCSE", "subject": s, "grade": g}
           for s, g in (("ENGLANG", "6"), ("MATHS", "5"), ("COMBSCI", "5-4"))]
    ks4 += [{"upn": upn(6), "laestab": one, "qualtype": "GCSE", "subject": "ENGLISH",
             "grade": "4"},
            {"upn": upn(6), "laestab": one, "qualtype": "GCSE", "subject": "COMBSCI",
             "grade": "6"},
            {"upn": upn(8), "laestab": two, "qualtype": "GCSE", "subject": "HISTORY",
             "grade": "U"}]
    files = [
        ("spring-one.xml", census(one, "SPR", spring_one, fsm)),
        ("spring-two.xml", census(two, "SPR", spring_two, [])),
        ("autumn-one.xml", census(one, "AUT", autumn_one, autumn_fsm)),
        ("pp.csv", la_file("pp", "pupils", pp)),
        ("ks2.csv", la_file("ks2", "results", ks2)),
        ("ks4.csv", la_file("ks4", "results", ks4)),
    ]
    batch = do_import_batch(files, la=world.a.la, year=YEAR, acting_user=None)
    assert [o.status for o in batch.outcomes] == ["committed"] * len(files), [
        o.message for o in batch.outcomes]
    planted = {
        ("CEN001", one, upn(20)), ("CEN001", two, upn(20)),
        ("CEN002", one, upn(2)),
        ("CEN003", one, upn(21)),
        ("CEN004", one, upn(22)),
        ("GEN003", one, bad_check_letter(23)),
        ("GEN006", one, upn(24)),
        ("PPR001", one, upn(2)),
        ("GEN024", two, upn(30)),
        ("GEN023", one, upn(3)), ("GEN023", two, upn(3)),
        ("KSR001", one, upn(2)),
        ("GEN024", two, upn(31)),
        ("KS4001", one, upn(6)),
        ("KS4002", one, upn(6)),
    }
    return {"la": world.a.la, "one": one, "two": two, "planted": planted, "batch": batch}


def _found() -> set[tuple[str, str, str]]:
    return set(Issue.objects.values_list("rule_code", "laestab", "upn"))


@pytest.mark.django_db
def test_an_import_of_context_files_runs_their_rules_which_flag_every_planted_error_exactly(
    season
):
    runs = {(run.collection, run.term, run.trigger) for run in CleaningRun.objects.all()}
    assert runs == {("census", "SPR", "import"), ("pp", "", "import"), ("ks2", "", "import"),
                    ("ks4", "", "import")}
    assert _found() == season["planted"]
    # The GEN006 pair are two records of one UPN: both are flagged.
    assert Issue.objects.filter(rule_code="GEN006").count() == 2
    assert Issue.objects.get(rule_code="CEN002").value == "2025-09-01 to 2025-03-31"
    assert Issue.objects.get(rule_code="KSR001").field == "MATSCORE"
    assert set(Issue.objects.filter(rule_code="KS4001").values_list("value", flat=True)) == {
        "GCSE ENGLISH"}


@pytest.mark.django_db
def test_the_census_is_checked_one_term_at_a_time_spring_by_default(season):
    la = season["la"]
    assert census_term_to_clean(la, YEAR) == "SPR"
    run = do_run_cleaning(la, "census", YEAR, acting_user=None, term="AUT")
    assert run.term == "AUT"
    assert "autumn census" in " ".join(run.changes["notes"])
    # The autumn census has only its own fault; its issues replace the spring census's.
    assert set(Issue.objects.filter(collection="census").values_list("rule_code", "upn")) == {
        ("CEN002", upn(1))}
    again = do_run_cleaning(la, "census", YEAR, acting_user=None)
    assert again.term == "SPR"
    assert Issue.objects.filter(collection="census", rule_code="CEN001").count() == 2


@pytest.mark.django_db
def test_without_a_spring_census_the_latest_term_loaded_is_checked(world, stand_in_kinds):
    school = world.a.schools[0]
    batch = do_import_batch(
        [("autumn.xml", census(school.laestab, "AUT", [{"upn": upn(1)}], []))],
        la=world.a.la, year=YEAR, acting_user=None)
    assert batch.outcomes[0].status == "committed"
    assert census_term_to_clean(world.a.la, YEAR) == "AUT"
    assert CleaningRun.objects.get(collection="census").term == "AUT"


@pytest.mark.django_db
def test_pupils_are_not_checked_against_a_census_that_is_not_loaded(world, stand_in_kinds):
    school = world.a.schools[0]
    rows = [{"upn": upn(40), "laestab": school.laestab, "pp_eligible": "Y",
             "pp_reason": "CLA"}]
    do_import_batch([("pp.csv", la_file("pp", "pupils", rows))], la=world.a.la, year=YEAR,
                    acting_user=None)
    run = CleaningRun.objects.get(collection="pp")
    assert run.errors == run.queries == 0
    assert any("census" in note for note in run.changes["notes"])


@pytest.mark.django_db
def test_a_context_dataset_is_read_in_a_handful_of_whole_dataset_queries(season):
    la = season["la"]
    for dataset, frames in [("census", ("census", "fsm_periods")), ("pp", ("pp",)),
                            ("ks2", ("ks2",)), ("ks4", ("ks4",))]:
        with CaptureQueriesContext(connection) as queries:
            data = load_cleaning_data(la, dataset, YEAR)
        assert len(queries) <= 6, dataset
        assert data.pupils.height > 0
        for frame in frames:
            assert getattr(data, frame).height > 0, (dataset, frame)
    assert load_cleaning_data(la, "pp", YEAR).census_upns.height == 14


@pytest.mark.django_db(transaction=True)  # the command line closes connections
def test_keystage_clean_checks_a_census_term_and_writes_its_report(season, tmp_path):
    report = tmp_path / "census.csv"
    status = main(["clean", "--la", "330", "--year", str(YEAR), "--collection", "census",
                   "--term", "SPR", "--report", str(report)])
    assert status == 1
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert {(r["rule_code"], r["laestab"], r["upn"]) for r in rows} == {
        p for p in season["planted"] if p[0].startswith(("CEN", "GEN003", "GEN006"))}
    assert main(["clean", "--la", "330", "--year", str(YEAR), "--collection", "pp",
                 "--term", "AUT"]) == 2


# -- The pages ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_overview_and_issue_grid_show_a_context_datasets_issues(season, login, world):
    client = login(world.a.users[Role.LA_DATA_OFFICER])

    overview = client.get(f"/cleaning/?collection=census&year={YEAR}")
    grid = client.get(f"/cleaning/issues/?collection=ks4&year={YEAR}&format=csv")

    assert overview.status_code == 200
    assert {r["rule_code"]: r["issues"] for r in overview.context["rules"]} == {
        "CEN001": 2, "CEN002": 1, "CEN003": 1, "CEN004": 1, "GEN003": 1, "GEN006": 2}
    assert ("census", "School census") in overview.context["collections"]
    lines = b"".join(grid.streaming_content).decode().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["KS4001", "KS4002"]


@pytest.mark.django_db
def test_the_rules_catalogue_lists_a_datasets_rules(world, login):
    client = login(world.a.users[Role.LA_ANALYST])

    response = client.get(f"/cleaning/rules/?year={YEAR}&collection=pp")

    codes = [r["code"] for r in response.context["rules"]]
    assert codes == ["GEN001", "GEN002", "GEN003", "GEN004", "GEN005", "GEN023", "GEN024",
                     "PPR001"]
    collections = [r["collections"] for r in response.context["rules"]]
    assert collections[0] == ("eyfsp, phonics, ks1, ks2ta, mtc, census, pp, ks2, ks4, ks5, "
                              "extra")
    assert collections[-1] == "pp"


@pytest.mark.django_db
def test_a_context_pupil_has_a_page_with_its_issues_but_is_not_edited_in_keystage(season, login,
                                                                                    world):
    client = login(world.a.users[Role.LA_DATA_OFFICER])
    issue = Issue.objects.get(rule_code="PPR001")

    response = client.get(f"/cleaning/pupils/{issue.pupil_id}/", follow=True)

    assert response.status_code == 200
    assert response.context["can_edit"] is False
    assert "PPR001" in response.content.decode()
    with pytest.raises(EditRefused, match="statutory collections"):
        do_edit_pupil(issue.pupil, {"Surname": "Smith"}, reason="typo",
                      acting_user=world.a.users[Role.LA_DATA_OFFICER])
