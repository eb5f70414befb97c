"""Every validation rule fires on its own fault, and clean data gives no issue at all."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keystage.cleaning.engine import (
    ISSUES_SCHEMA,
    CleaningData,
    empty_cleaning_data,
    run_rules,
)
from keystage.cleaning.ruleset import CLEANED_DATASETS, load_rules, rule_set_for
from keystage.collection.derive import ELGS
from keystage.formats.ks4_subjects import ks4_grades, ks4_subjects
from keystage.formats.upn import CHECK_ALPHABET, check_letter, is_valid, is_well_formed, make_upn

YEAR = 2026
LAESTAB = "3302001"
SCHOOL = 1
NCYEARS = {
    "eyfsp": ["R", "R", "R"],
    "phonics": ["1", "1", "2"],
    "ks1": ["2", "2", "2"],
    "ks2ta": ["6", "6", "6"],
    "mtc": ["4", "4", "4"],
}
PHONICS_MARKS = ["35", "20", "28"]
CLEAN_RESULTS = {
    "eyfsp": dict.fromkeys(ELGS, "2"),
    "ks1": {"RE": "EXS", "WR": "WTS", "MAT": "GDS", "SCI": "EXS"},
    "ks2ta": {"WR": "EXS", "SCI": "EXS"},
    "mtc": {"MTC": "21"},
}
COHORTS = {
    "eyfsp": {"EYFSP": 3},
    "phonics": {"PHONICS_Y1": 2, "PHONICS_Y2": 1},
    "ks1": {"KS1": 3},
    "ks2ta": {"KS2TA": 3},
    "mtc": {"MTC": 3},
}
NAMES = [("Smith", "Amy", "F"), ("Jones", "Ben", "M"), ("Patel", "Cara", "F")]


def upn(serial: int, la: str = "330") -> str:
    return make_upn(la, "2001", 2021, serial)


def temporary_upn(serial: int) -> str:
    body = f"330200121{serial:02d}A"
    return check_letter(body) + body


def clean_data(collection: str) -> CleaningData:
    """One open school of LA 330 with three clean pupils and their complete results."""
    if collection in CONTEXT_NCYEARS:
        return clean_context_data(collection)
    data = empty_cleaning_data(collection, YEAR)
    ncyears = NCYEARS[collection]
    pupils, results = [], []
    for index, ((surname, forename, sex), ncyear) in enumerate(zip(NAMES, ncyears, strict=True)):
        pupil_id = index + 1
        # Born in May: inside the year group and, for Reception, inside the PVI funded window.
        born = date(YEAR - 5 - (0 if ncyear == "R" else int(ncyear)), 5, 1 + index)
        pupils.append((pupil_id, SCHOOL, upn(pupil_id), surname, forename, born,
                       born.isoformat(), sex, ncyear))
        marks = {"PSC": PHONICS_MARKS[index]} if collection == "phonics" else {}
        for component, result in (CLEAN_RESULTS.get(collection) or marks).items():
            results.append((pupil_id, component, result, True))
    return dataclasses.replace(
        data,
        pupils=pl.DataFrame(pupils, schema=data.pupils.schema, orient="row"),
        results=pl.DataFrame(results, schema=data.results.schema, orient="row"),
        schools=pl.DataFrame(
            [(SCHOOL, LAESTAB, "Example Primary School", False, "open", True, True)],
            schema=data.schools.schema,
            orient="row",
        ),
        cohorts=pl.DataFrame(
            [(SCHOOL, cohort, n) for cohort, n in COHORTS[collection].items()],
            schema=data.cohorts.schema,
            orient="row",
        ),
        # Another collection's record of pupil 1, in capitals as MIS exports often are.
        others=pl.DataFrame(
            [(upn(1), "SMITH ", "AMY", pupils[0][5], "F", "eyfsp", YEAR - 1, LAESTAB)],
            schema=data.others.schema,
            orient="row",
        ),
        earlier_phonics=pl.DataFrame(
            [(upn(3), "25"), (upn(9), "36")] if collection == "phonics" else [],
            schema=data.earlier_phonics.schema,
            orient="row",
        ),
    )


# The context datasets: three pupils of one school with clean rows of the dataset's own.
CONTEXT_NCYEARS = {
    "census": ["R", "3", "6"],
    "pp": ["2", "4", "6"],
    "ks2": ["6", "6", "6"],
    "ks4": ["11", "11", "11"],
    "ks5": ["13", "13", "13"],
    "extra": ["1", "5", "9"],
}
CONTEXT_ROWS = {
    "census": {"census": [(1, "C"), (2, "C"), (3, "M")],
               # A closed period, an open one, and one that starts and ends on one day.
               "fsm_periods": [(1, date(2024, 9, 1), date(2025, 7, 20)),
                               (2, date(2025, 1, 6), None),
                               (3, date(2025, 3, 3), date(2025, 3, 3))]},
    "pp": {"pp": [(1, True, "FSM6"), (2, True, "CLA"), (3, False, "")]},
    "ks2": {"ks2": [(1, 100, 95, 110), (2, 80, 120, 101), (3, None, None, None)]},
    "ks4": {"ks4": [(1, 2, "GCSE", "ENGLANG", "5"), (1, 3, "GCSE", "MATHS", "4"),
                    (2, 4, "GCSE", "COMBSCI", "5-4"), (2, 5, "GCSE", "HISTORY", "U"),
                    (3, 6, "GCSE", "FRENCH", "9")]},
    # Biology, maths and chemistry A levels, and an AS level in economics.
    "ks5": {"ks5": [(1, 2, "111", "11010", "A", 7.0), (1, 3, "111", "12210", "A*", 7.0),
                    (2, 4, "111", "11110", "C", 5.5), (2, 5, "121", "14410", "B", 5.5),
                    (3, 6, "111", "14010", "E", 4.2)]},
    "extra": {"extra": [(1, "YOUNG_CARER", "Y"), (2, "YOUNG_CARER", "N"),
                        (3, "RESOURCE_BASE", "Y")]},
}


def clean_context_data(dataset: str) -> CleaningData:
    """One open school of LA 330 with three clean pupils of a context dataset and their rows;
    every pupil of a pupil premium or results file is on the census."""
    data = empty_cleaning_data(dataset, YEAR, "SPR" if dataset == "census" else "")
    pupils = []
    for index, ((surname, forename, sex), ncyear) in enumerate(
        zip(NAMES, CONTEXT_NCYEARS[dataset], strict=True)
    ):
        number = 0 if ncyear == "R" else int(ncyear)
        born = date(YEAR - 5 - number, 5, 1 + index)
        pupils.append((index + 1, SCHOOL, upn(index + 1), surname, forename, born,
                       born.isoformat(), sex, ncyear))
    frames = {
        name: pl.DataFrame(rows, schema=getattr(data, name).schema, orient="row")
        for name, rows in CONTEXT_ROWS[dataset].items()
    }
    return dataclasses.replace(
        data,
        pupils=pl.DataFrame(pupils, schema=data.pupils.schema, orient="row"),
        schools=pl.DataFrame(
            [(SCHOOL, LAESTAB, "Example School", False, "open", True, True)],
            schema=data.schools.schema,
            orient="row",
        ),
        census_upns=pl.DataFrame({"upn": [upn(n) for n in (1, 2, 3, 40)]}),
        **frames,
    )


# ---------------------------------------------------------------------------------------------
# Changes to clean data


Change = Callable[[CleaningData], CleaningData]


def _set(frame: pl.DataFrame, where: pl.Expr, **values) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(where).then(pl.lit(v, dtype=frame.schema[k])).otherwise(pl.col(k)).alias(k)
        for k, v in values.items()
    )


def pupil(pupil_id: int, **values) -> Change:
    """Change pupil fields; a dob also sets dob_text unless that is given."""
    if isinstance(values.get("dob"), date) and "dob_text" not in values:
        values["dob_text"] = values["dob"].isoformat()

    def change(data: CleaningData) -> CleaningData:
        pupils = _set(data.pupils, pl.col("pupil_id") == pupil_id, **values)
        return dataclasses.replace(data, pupils=pupils)

    return change


def result(pupil_id: int, component: str, value: str | None) -> Change:
    """Set the result that counts for a component (None removes it)."""

    def change(data: CleaningData) -> CleaningData:
        rows = data.results.filter(
            ~((pl.col("pupil_id") == pupil_id) & (pl.col("component") == component))
        )
        if value is not None:
            added = pl.DataFrame([(pupil_id, component, value, True)],
                                 schema=data.results.schema, orient="row")
            rows = pl.concat([rows, added])
        return dataclasses.replace(data, results=rows)

    return change


def earlier_row(pupil_id: int, component: str, value: str) -> Change:
    """Add a result row that does not count (an earlier or outranked row)."""

    def change(data: CleaningData) -> CleaningData:
        added = pl.DataFrame([(pupil_id, component, value, False)],
                             schema=data.results.schema, orient="row")
        return dataclasses.replace(data, results=pl.concat([data.results, added]))

    return change


def school(school_id: int = SCHOOL, **values) -> Change:
    def change(data: CleaningData) -> CleaningData:
        return dataclasses.replace(
            data, schools=_set(data.schools, pl.col("school_id") == school_id, **values)
        )

    return change


def new_school(school_id: int, laestab: str, *, has_submission: bool) -> Change:
    def change(data: CleaningData) -> CleaningData:
        added = pl.DataFrame(
            [(school_id, laestab, "Another School", False, "open", True, has_submission)],
            schema=data.schools.schema,
            orient="row",
        )
        return dataclasses.replace(data, schools=pl.concat([data.schools, added]))

    return change


def cohort(name: str, expected: int, school_id: int = SCHOOL) -> Change:
    def change(data: CleaningData) -> CleaningData:
        rows = data.cohorts.filter(
            ~((pl.col("school_id") == school_id) & (pl.col("cohort") == name))
        )
        added = pl.DataFrame([(school_id, name, expected)], schema=data.cohorts.schema,
                             orient="row")
        return dataclasses.replace(data, cohorts=pl.concat([rows, added]))

    return change


def copy_of_pupil(pupil_id: int, new_id: int, school_id: int, **values) -> Change:
    """Add a pupil copied from another, with their results."""

    def change(data: CleaningData) -> CleaningData:
        copied = data.pupils.filter(pl.col("pupil_id") == pupil_id).with_columns(
            pupil_id=pl.lit(new_id, dtype=pl.Int64), school_id=pl.lit(school_id, dtype=pl.Int64)
        )
        copied = _set(copied, pl.lit(True), **values)
        results = data.results.filter(pl.col("pupil_id") == pupil_id).with_columns(
            pupil_id=pl.lit(new_id, dtype=pl.Int64)
        )
        return dataclasses.replace(
            data,
            pupils=pl.concat([data.pupils, copied]),
            results=pl.concat([data.results, results]),
        )

    return change


def other_record(**values) -> Change:
    def change(data: CleaningData) -> CleaningData:
        return dataclasses.replace(data, others=_set(data.others, pl.lit(True), **values))

    return change


def upn_owner(pupil_id: int, surname: str, forename: str) -> Change:
    """The record's UPN is the UPN of another pupil (named) than the one it is linked to."""

    def change(data: CleaningData) -> CleaningData:
        frame = pl.DataFrame([(pupil_id, surname, forename)], schema=data.upn_owners.schema,
                             orient="row")
        return dataclasses.replace(data, upn_owners=frame)

    return change


def earlier_phonics(rows: list[tuple[str, str]]) -> Change:
    def change(data: CleaningData) -> CleaningData:
        frame = pl.DataFrame(rows, schema=data.earlier_phonics.schema, orient="row")
        return dataclasses.replace(data, earlier_phonics=frame)

    return change


def rows(frame: str, *added: tuple) -> Change:
    """Add rows to one of the context frames (census, fsm_periods, pp, ks2, ks4, extra)."""

    def change(data: CleaningData) -> CleaningData:
        current = getattr(data, frame)
        extra = pl.DataFrame(list(added), schema=current.schema, orient="row")
        return dataclasses.replace(data, **{frame: pl.concat([current, extra])})

    return change


def row_values(frame: str, pupil_id: int, **values) -> Change:
    """Change the values of a pupil's rows in one of the context frames."""

    def change(data: CleaningData) -> CleaningData:
        current = getattr(data, frame)
        return dataclasses.replace(
            data, **{frame: _set(current, pl.col("pupil_id") == pupil_id, **values)}
        )

    return change


def census_upns(*upns: str) -> Change:
    def change(data: CleaningData) -> CleaningData:
        return dataclasses.replace(data, census_upns=pl.DataFrame({"upn": list(upns)},
                                                                  schema={"upn": pl.String}))

    return change


def both(*changes: Change) -> Change:
    def change(data: CleaningData) -> CleaningData:
        for each in changes:
            data = each(data)
        return data

    return change


def unchanged(data: CleaningData) -> CleaningData:
    return data


# ---------------------------------------------------------------------------------------------
# One case per rule code


@dataclasses.dataclass
class Case:
    """A fault that only this rule reports, where, and nearby data it must accept."""

    code: str
    collection: str
    fault: Change
    expected: set[tuple[int | None, str]]  # (pupil_id, or None for the school; field)
    passing: Change = unchanged


SCHOOL_LEVEL = {(None, "LAESTAB")}
PVI = school(is_pvi=True, laestab="512345")

CASES = [
    Case("GEN001", "eyfsp", pupil(1, upn=""), {(1, "UPN")}),
    Case("GEN002", "eyfsp", pupil(2, upn="A12345"), {(2, "UPN")},
         passing=pupil(2, upn=upn(77))),
    Case("GEN003", "eyfsp", pupil(2, upn="Z" + upn(2)[1:]), {(2, "UPN")}),
    Case("GEN004", "eyfsp", pupil(2, upn=upn(2, la="100")), {(2, "UPN")},
         passing=pupil(2, upn=upn(2, la="331"))),
    Case("GEN005", "eyfsp", pupil(2, upn=temporary_upn(2)), {(2, "UPN")}),
    Case("GEN006", "eyfsp", pupil(3, upn=upn(2)), {(2, "UPN"), (3, "UPN")},
         passing=pupil(3, upn=upn(78))),
    Case("GEN007", "eyfsp",
         both(new_school(2, "3302002", has_submission=True),
              copy_of_pupil(2, 4, 2, forename="Bella")),
         {(2, "UPN"), (4, "UPN")},
         passing=both(new_school(2, "3302002", has_submission=True),
                      copy_of_pupil(2, 4, 2, forename="Bella", upn=upn(79)))),
    Case("GEN008", "eyfsp", pupil(2, surname=" "), {(2, "Surname")},
         passing=pupil(2, surname="O'Neil-Smith")),
    Case("GEN009", "eyfsp", pupil(2, forename=""), {(2, "Forename")},
         passing=pupil(2, forename="J.")),
    Case("GEN010", "eyfsp", pupil(2, surname="Jon3s"), {(2, "Surname")},
         passing=pupil(2, surname="Zoë O’Brien-Smith St. John")),
    Case("GEN011", "eyfsp", pupil(2, dob=None, dob_text="2021-02-30"), {(2, "DOB")}),
    Case("GEN012", "eyfsp", pupil(2, dob=date(2021, 9, 1)), {(2, "DOB")},
         passing=pupil(2, dob=date(2021, 8, 31))),
    Case("GEN013", "eyfsp", pupil(2, dob=date(2018, 8, 31)), {(2, "DOB")},
         passing=pupil(2, dob=date(2018, 9, 1))),
    Case("GEN014", "eyfsp", pupil(2, sex=""), {(2, "Sex")}),
    Case("GEN015", "eyfsp", pupil(2, sex="X"), {(2, "Sex")}, passing=pupil(2, sex="F")),
    Case("GEN016", "eyfsp", pupil(2, ncyear=""), {(2, "NCyearActual")}),
    Case("GEN017", "eyfsp", pupil(2, ncyear="1"), {(2, "NCyearActual")}),
    Case("GEN018", "eyfsp", other_record(dob=date(2021, 5, 2)), {(1, "DOB")}),
    Case("GEN025", "eyfsp", upn_owner(2, "Lee", "Sam"), {(2, "UPN")}),
    Case("GEN019", "eyfsp", other_record(sex="M"), {(1, "Sex")}),
    Case("GEN020", "eyfsp", other_record(surname="Smyth"), {(1, "Surname")},
         passing=other_record(surname=" s MITH")),
    Case("GEN021", "eyfsp", pupil(2, forename="B" * 36), {(2, "Forename")},
         passing=pupil(2, forename="B" * 35)),
    Case("GEN022", "eyfsp", pupil(2, surname="SMITH", forename="amy", dob=date(2021, 5, 1)),
         {(1, "Surname Forename DOB"), (2, "Surname Forename DOB")},
         passing=pupil(2, surname="Smith", forename="Alice", dob=date(2021, 5, 1))),
    Case("SCH001", "eyfsp", school(status="closed"), SCHOOL_LEVEL,
         passing=school(status="proposed to close")),
    Case("SCH002", "ks1", school(in_la=False), SCHOOL_LEVEL),
    Case("SCH003", "phonics", cohort("PHONICS_Y2", 2), SCHOOL_LEVEL,
         passing=cohort("PHONICS_Y2", 1)),
    Case("SCH004", "mtc", both(new_school(2, "3302002", has_submission=False),
                               cohort("MTC", 25, school_id=2)),
         SCHOOL_LEVEL,
         passing=both(new_school(2, "3302002", has_submission=False),
                      cohort("MTC", 0, school_id=2))),
    Case("SCH005", "ks2ta", PVI, SCHOOL_LEVEL),
    Case("EYF001", "eyfsp", result(2, "E05", None), {(2, "E05")},
         passing=result(2, "E05", "1")),
    Case("EYF002", "eyfsp", both(result(2, "E03", "A"), result(2, "E11", "A")),
         {(2, "E03 E11")},
         passing=both(*(result(2, elg, "A") for elg in ELGS))),
    Case("EYF003", "eyfsp", result(2, "E07", "3"), {(2, "E07")},
         passing=result(2, "E07", "1")),
    Case("EYF004", "eyfsp", both(PVI, pupil(2, dob=date(2021, 3, 31))), {(2, "DOB")},
         passing=both(PVI, pupil(2, dob=date(2021, 4, 1)))),
    Case("PHO001", "phonics", result(1, "PSC", None), {(1, "PSC")},
         passing=result(1, "PSC", "A")),
    Case("PHO002", "phonics", result(1, "PSC", "41"), {(1, "PSC")},
         passing=result(1, "PSC", "40")),
    Case("PHO003", "phonics", result(1, "PSC", "X"), {(1, "PSC")},
         passing=result(1, "PSC", "D")),
    Case("PHO004", "phonics", earlier_row(1, "PSC", "Wt"), {(1, "PSC")},
         passing=earlier_row(1, "PSC", "Wa")),
    Case("PHO005", "phonics", result(1, "PSC", "Wa"), {(1, "PSC")},
         passing=both(result(1, "PSC", "35"), earlier_row(1, "PSC", "Wa"))),
    Case("PHO006", "phonics", earlier_phonics([(upn(3), "32")]), {(3, "NCyearActual")},
         passing=earlier_phonics([(upn(3), "31")])),
    Case("PHO007", "phonics", earlier_phonics([(upn(9), "36")]), {(3, "NCyearActual")},
         passing=earlier_phonics([])),
    Case("KS1001", "ks1", result(2, "SCI", None), {(2, "SCI")},
         passing=result(2, "SCI", "A")),
    Case("KS1002", "ks1", result(2, "WR", "XYZ"), {(2, "WR")},
         passing=result(2, "WR", "PK4")),
    Case("KS1003", "ks1", result(2, "SCI", "GDS"), {(2, "SCI")},
         passing=result(2, "SCI", "HNM")),
    Case("KS1004", "ks1", result(2, "WR", "HNM"), {(2, "WR")},
         passing=result(2, "SCI", "HNM")),
    Case("KS2001", "ks2ta", result(2, "WR", None), {(2, "WR")},
         passing=result(2, "RE", None)),
    Case("KS2002", "ks2ta", result(2, "SCI", "PK7"), {(2, "SCI")},
         passing=result(2, "RE", "PK6")),
    Case("KS2003", "ks2ta", result(2, "RE", "EXS"), {(2, "RE")},
         passing=result(2, "MAT", "PK3")),
    Case("KS2004", "ks2ta", result(2, "MAT", "HNM"), {(2, "MAT")},
         passing=result(2, "SCI", "HNM")),
    Case("MTC001", "mtc", result(2, "MTC", None), {(2, "MTC")},
         passing=result(2, "MTC", "NAA")),
    Case("MTC002", "mtc", result(2, "MTC", "26"), {(2, "MTC")},
         passing=result(2, "MTC", "25")),
    Case("MTC003", "mtc", result(2, "MTC", "C"), {(2, "MTC")},
         passing=result(2, "MTC", "Z")),
    # The context datasets.
    Case("GEN023", "pp", pupil(3, upn=upn(2)), {(2, "UPN"), (3, "UPN")},
         passing=pupil(3, upn=upn(40))),
    Case("GEN024", "ks2", pupil(2, upn=upn(50)), {(2, "UPN")},
         passing=both(pupil(2, upn=upn(50)), census_upns())),
    Case("CEN001", "census",
         both(new_school(2, "3302002", has_submission=True), copy_of_pupil(2, 4, 2),
              rows("census", (4, "M"))),
         {(2, "EnrolStatus"), (4, "EnrolStatus")},
         passing=both(new_school(2, "3302002", has_submission=True), copy_of_pupil(2, 4, 2),
                      rows("census", (4, "S")))),
    Case("CEN002", "census", row_values("fsm_periods", 1, end=date(2024, 8, 31)),
         {(1, "FSMendDate")},
         passing=row_values("fsm_periods", 1, end=date(2024, 9, 1))),
    Case("CEN003", "census", pupil(2, dob=date(2018, 9, 1)), {(2, "DOB")},
         passing=pupil(2, dob=date(2018, 8, 31))),
    Case("CEN004", "census", pupil(2, dob=date(2020, 9, 1)), {(2, "DOB")},
         passing=pupil(2, dob=date(2020, 8, 31))),
    Case("PPR001", "pp", row_values("pp", 1, reason="FSM"), {(1, "PP_REASON")},
         passing=row_values("pp", 1, reason="POSTLAC")),
    Case("KSR001", "ks2", row_values("ks2", 2, mat_score=121), {(2, "MATSCORE")},
         passing=row_values("ks2", 2, mat_score=120)),
    Case("KS4001", "ks4", rows("ks4", (3, 7, "GCSE", "ENGLISH", "6")), {(3, "SUBJECT")},
         passing=rows("ks4", (3, 7, "GCSE", "ENGLIT", "6"))),
    Case("KS4002", "ks4", rows("ks4", (3, 7, "GCSE", "COMBSCI", "5-3")), {(3, "GRADE")},
         passing=rows("ks4", (3, 7, "GCSE", "COMBSCI", "6-5"))),
    Case("KS5001", "ks5", rows("ks5", (3, 7, "111", "99999", "B", 4.2)), {(3, "SUBJECTCODE")},
         passing=rows("ks5", (3, 7, "111", "13910", "B", 4.2))),
    Case("KS5002", "ks5", row_values("ks5", 3, prior_aps=None), {(3, "PRIORAPS")},
         passing=row_values("ks5", 3, prior_aps=3.9)),
    Case("EXT001", "extra",
         both(copy_of_pupil(1, 4, SCHOOL), rows("extra", (4, "YOUNG_CARER", "N"))),
         {(1, "FIELD"), (4, "FIELD")},
         passing=both(copy_of_pupil(1, 4, SCHOOL), rows("extra", (4, "SEN_UNIT", "N")))),
]


@pytest.mark.parametrize("collection", NCYEARS)
def test_clean_data_gives_no_issues(collection):
    assert run_rules(clean_data(collection)).to_dicts() == []


@pytest.mark.parametrize("dataset", CONTEXT_NCYEARS)
def test_clean_context_data_gives_no_issues(dataset):
    assert run_rules(clean_data(dataset)).to_dicts() == []


def test_a_clean_pvi_setting_in_the_eyfsp_return_gives_no_issues():
    assert run_rules(PVI(clean_data("eyfsp"))).to_dicts() == []


@pytest.mark.parametrize("case", [pytest.param(c, id=c.code) for c in CASES])
def test_a_rule_fires_on_its_own_fault_and_on_nothing_else(case):
    issues = run_rules(case.fault(clean_data(case.collection)))
    assert set(issues["rule_code"]) == {case.code}
    assert {(row["pupil_id"], row["field"]) for row in issues.iter_rows(named=True)} == (
        case.expected
    )


@pytest.mark.parametrize("case", [pytest.param(c, id=c.code) for c in CASES])
def test_a_rule_stays_silent_on_nearby_valid_data(case):
    issues = run_rules(case.passing(clean_data(case.collection)))
    assert case.code not in set(issues["rule_code"])


def test_every_rule_code_in_the_catalogue_has_a_test_case():
    assert {rule.code for rule in load_rules()} == {case.code for case in CASES}


# ---------------------------------------------------------------------------------------------
# What an issue says


def test_issues_carry_the_school_pupil_severity_and_message():
    data = pupil(2, sex="X")(school(status="closed")(clean_data("eyfsp")))
    issues = run_rules(data)
    assert issues.schema == pl.Schema(ISSUES_SCHEMA)
    rules = rule_set_for(YEAR)
    assert issues.select("rule_code", "severity", "laestab", "upn", "value").rows() == [
        ("SCH001", "error", LAESTAB, "", LAESTAB),
        ("GEN015", "error", LAESTAB, upn(2), "X"),
    ]
    assert issues["message"].to_list() == [
        rules.by_code("SCH001").message,
        rules.by_code("GEN015").message,
    ]
    assert issues["pupil_id"].to_list() == [None, 2]


def test_issues_are_sorted_by_laestab_then_upn_and_never_repeated():
    data = both(
        new_school(2, "3300001", has_submission=True),
        copy_of_pupil(1, 4, 2, upn="", sex=""),
        pupil(3, upn=""),
        pupil(2, sex="X"),
    )(clean_data("eyfsp"))
    issues = run_rules(data)
    assert issues.select("laestab", "upn", "rule_code").rows() == [
        ("3300001", "", "GEN001"),
        ("3300001", "", "GEN014"),
        ("3302001", "", "GEN001"),
        ("3302001", upn(2), "GEN015"),
    ]


def test_count_differences_name_the_cohort_when_a_collection_has_two():
    data = cohort("PHONICS_Y1", 5)(clean_data("phonics"))
    assert run_rules(data)["value"].to_list() == ["PHONICS_Y1: received 2, expected 5"]
    data = cohort("EYFSP", 30)(clean_data("eyfsp"))
    assert run_rules(data)["value"].to_list() == ["received 3, expected 30"]


def test_a_disagreeing_record_is_named_in_the_value():
    data = other_record(dob=date(2021, 5, 2))(clean_data("eyfsp"))
    assert run_rules(data)["value"].to_list() == [
        f"2021-05-01 here; 2021-05-02 in EYFSP {YEAR - 1}"
    ]


def test_a_partial_a_record_gives_one_issue_listing_the_goals_that_are_a():
    data = both(result(2, "E09", "A"), result(2, "E01", "A"))(clean_data("eyfsp"))
    issues = run_rules(data)
    assert issues.select("field", "value").rows() == [("E01 E09", "A in 2 of 17")]


@pytest.mark.parametrize("code", ["A", "D", "L", "Q"])
def test_a_phonics_code_without_a_mark_is_accepted(code):
    assert run_rules(result(1, "PSC", code)(clean_data("phonics"))).to_dicts() == []


@pytest.mark.parametrize("mark", ["-1", "41", "99999999999999999999"])
def test_a_phonics_mark_out_of_range_is_only_a_range_error(mark):
    issues = run_rules(result(1, "PSC", mark)(clean_data("phonics")))
    assert issues["rule_code"].to_list() == ["PHO002"]


@pytest.mark.parametrize(
    ("collection", "component", "value", "code"),
    [
        ("ks1", "SCI", "WTS", "KS1003"),
        ("ks1", "RE", "HNM", "KS1004"),
        ("ks1", "MAT", "PK5", "KS1002"),
        ("ks2ta", "RE", "GDS", "KS2003"),
        ("ks2ta", "WR", "HNM", "KS2004"),
        ("ks2ta", "SCI", "PK1", "KS2003"),
        ("ks2ta", "MAT", "BLW", "KS2002"),
    ],
)
def test_a_teacher_assessment_code_gets_exactly_one_issue(collection, component, value, code):
    issues = run_rules(result(2, component, value)(clean_data(collection)))
    assert issues["rule_code"].to_list() == [code]


def test_a_pvi_setting_outside_the_eyfsp_return_is_one_school_issue():
    issues = run_rules(PVI(clean_data("phonics")))
    assert issues.select("rule_code", "laestab", "value").rows() == [
        ("SCH005", "512345", "512345")
    ]


def test_nothing_is_checked_against_year_1_when_no_earlier_phonics_is_loaded():
    data = earlier_phonics([])(pupil(3, upn=upn(55))(clean_data("phonics")))
    assert run_rules(data).to_dicts() == []


def test_rules_of_other_collections_do_not_run():
    # An EYFSP-only fault in KS1 data is not an EYFSP issue.
    data = result(1, "E01", "3")(clean_data("ks1"))
    assert run_rules(data).to_dicts() == []


def test_data_with_a_missing_column_is_refused():
    data = clean_data("mtc")
    data = dataclasses.replace(data, pupils=data.pupils.drop("ncyear"))
    with pytest.raises(ValueError, match="pupils has no column ncyear"):
        run_rules(data)


def test_a_rule_set_for_another_year_is_refused():
    with pytest.raises(ValueError, match="2024/25"):
        run_rules(clean_data("mtc"), rule_set_for(2025))


def test_empty_data_gives_no_issues():
    for collection in NCYEARS:
        assert run_rules(empty_cleaning_data(collection, YEAR)).to_dicts() == []


# The vectorised UPN checks must say exactly what keystage.formats.upn says.
UPN_TEXT = st.text(alphabet=CHECK_ALPHABET + "0123456789IOS", min_size=12, max_size=14)
REAL_UPNS = st.builds(
    lambda la, estab, year, serial, letter: (
        letter + make_upn(la, estab, year, serial)[1:]
    ),
    st.sampled_from(["330", "100", "941"]),
    st.from_regex(r"\A[0-9]{4}\Z"),
    st.integers(2000, 2030),
    st.integers(0, 999),
    st.sampled_from(CHECK_ALPHABET),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(UPN_TEXT, REAL_UPNS), min_size=1, max_size=20))
def test_the_vectorised_upn_checks_agree_with_the_upn_module(upns):
    data = clean_data("mtc")
    pupils = pl.DataFrame(
        {"pupil_id": range(100, 100 + len(upns)), "upn": upns}, schema_overrides={
            "pupil_id": pl.Int64}
    ).join(data.pupils.drop("pupil_id", "upn").head(1), how="cross").select(
        data.pupils.columns)
    data = dataclasses.replace(data, pupils=pupils)
    every_rule = rule_set_for(YEAR)
    upn_rules = [every_rule.by_code("GEN002"), every_rule.by_code("GEN003")]
    issues = run_rules(data, dataclasses.replace(every_rule, rules=tuple(upn_rules)))

    def fired(code: str) -> list[str]:
        return sorted(issues.filter(pl.col("rule_code") == code)["upn"])

    assert fired("GEN002") == sorted(u for u in upns if not is_well_formed(u))
    assert fired("GEN003") == sorted(u for u in upns if is_well_formed(u) and not is_valid(u))


def test_rules_run_over_frames_that_arrive_in_several_chunks_as_database_copies_do():
    data = clean_data("eyfsp")
    # Ten pupils, then two with one name and birthday (GEN022), held in three chunks per
    # column as a database COPY read back gives them: polars 2.1 panicked on this shape until
    # the engine made one chunk of each frame.
    rows = [(i, SCHOOL, upn(i), f"Name{chr(96 + i)}", "Kim", date(YEAR - 5, 1, i),
             f"{YEAR - 5}-01-{i:02d}", "M", "R") for i in range(1, 11)]
    rows += [(i, SCHOOL, upn(i), "Thompson", "Jacob", date(YEAR - 5, 3, 11),
              f"{YEAR - 5}-03-11", "M", "R") for i in (11, 12)]
    pupils = pl.DataFrame(rows, schema=data.pupils.schema, orient="row")
    chunked = dataclasses.replace(
        data, pupils=pl.concat([pupils.slice(i * 4, 4) for i in range(3)], rechunk=False)
    )
    assert chunked.pupils.n_chunks() == 3

    issues = run_rules(chunked)

    assert set(issues.filter(pl.col("rule_code") == "GEN022")["pupil_id"]) == {11, 12}


# ---------------------------------------------------------------------------------------------
# The context datasets


@pytest.mark.parametrize(
    ("field", "score", "flagged"),
    [("READSCORE", 79, True), ("READSCORE", 80, False), ("GPSSCORE", 120, False),
     ("GPSSCORE", 121, True), ("MATSCORE", 0, True), ("MATSCORE", None, False)],
)
def test_ks2_scores_are_checked_against_the_registry_thresholds(field, score, flagged):
    column = {"READSCORE": "read_score", "MATSCORE": "mat_score", "GPSSCORE": "gps_score"}[field]
    issues = run_rules(row_values("ks2", 1, **{column: score})(clean_data("ks2")))
    expected = [("KSR001", field, str(score))] if flagged else []
    assert issues.select("rule_code", "field", "value").rows() == expected


@pytest.mark.parametrize(
    ("subject", "grade", "code"),
    [("MATHS", "5-4", "KS4002"), ("COMBSCI", "5", "KS4002"), ("COMBSCI", "4-5", "KS4002"),
     ("HISTORY", "A*", "KS4002"), ("HISTORY", "", "KS4002"), ("LATIN", "7", "KS4001"),
     ("COMBSCI", "1-1", None), ("ENGLIT", "U", None), ("COMBSCI", "U", None)],
)
def test_a_ks4_result_gets_one_issue_for_an_unknown_subject_or_a_wrong_grade(subject, grade,
                                                                             code):
    issues = run_rules(rows("ks4", (3, 9, "GCSE", subject, grade))(clean_data("ks4")))
    assert issues["rule_code"].to_list() == ([code] if code else [])


def test_a_subsidiary_registration_beside_a_main_one_is_not_a_dual_main_registration():
    data = both(new_school(2, "3302002", has_submission=True), copy_of_pupil(3, 4, 2),
                rows("census", (4, "S")))(clean_data("census"))
    assert run_rules(data).to_dicts() == []


def test_a_dual_main_registration_names_the_status_and_the_number_of_schools():
    data = both(new_school(2, "3302002", has_submission=True), copy_of_pupil(1, 4, 2),
                rows("census", (4, "C")))(clean_data("census"))
    assert run_rules(data).select("laestab", "value").rows() == [
        ("3302001", "C at 2 schools"), ("3302002", "C at 2 schools"),
    ]


def test_an_fsm_period_ending_before_it_starts_shows_both_dates():
    data = row_values("fsm_periods", 2, end=date(2024, 12, 31))(clean_data("census"))
    assert run_rules(data).select("rule_code", "value").rows() == [
        ("CEN002", "2025-01-06 to 2024-12-31")
    ]


def test_a_census_dob_is_checked_against_each_pupils_own_nc_year():
    # Born in the Year 6 window but recorded in Reception: implausible, an error.
    data = pupil(1, dob=date(YEAR - 11, 5, 1))(clean_data("census"))
    assert run_rules(data).select("rule_code", "pupil_id").rows() == [("CEN004", 1)]


def test_the_general_rules_check_context_upns_but_not_collection_year_groups():
    data = both(pupil(1, upn="Z" + upn(1)[1:]), pupil(2, ncyear="10"))(clean_data("pp"))
    census = census_upns("Z" + upn(1)[1:], upn(2), upn(3))
    assert run_rules(census(data)).select("rule_code", "pupil_id").rows() == [("GEN003", 1)]


def test_a_pupil_premium_reason_left_empty_is_not_an_unknown_reason():
    data = row_values("pp", 2, eligible=False, reason="")(clean_data("pp"))
    assert run_rules(data).to_dicts() == []


def test_a_ks4_candidate_at_two_schools_is_a_duplicate_upn():
    data = both(new_school(2, "3302002", has_submission=True), copy_of_pupil(3, 4, 2),
                rows("ks4", (4, 20, "GCSE", "MATHS", "3")))(clean_data("ks4"))
    issues = run_rules(data)
    assert issues.select("rule_code", "laestab").rows() == [
        ("GEN023", "3302001"), ("GEN023", "3302002"),
    ]


def test_the_ks4_subject_list_has_gcse_grades_and_double_grades_for_combined_science():
    grades = ks4_grades(YEAR)
    assert grades[("GCSE", "MATHS")] == ("9", "8", "7", "6", "5", "4", "3", "2", "1", "U")
    assert {"9-9", "5-4", "1-1", "U"} <= set(grades[("GCSE", "COMBSCI")])
    assert "4-5" not in grades[("GCSE", "COMBSCI")]
    assert {"ENGLANG", "ENGLIT", "BIOLOGY", "COMPSCI", "GERMAN", "ART"} <= {
        subject for _, subject in grades}
    assert {s.subject for s in ks4_subjects(2019)} == set()


def test_every_dataset_with_a_rule_prefix_has_rules_under_it():
    codes = {rule.code[:3] for rule in load_rules()}
    assert {d.rule_prefix for d in CLEANED_DATASETS} <= codes
