"""One vocabulary: every dataset code, cohort code, threshold and year comes from
keystage.datasets and keystage.years, and the pure packages import without Django."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps

from keystage import datasets, years
from keystage.analysis.models import LaSummary, NationalSummary, ReportSharing, StoredReport
from keystage.cleaning.models import CleaningRun, Issue, LaEdit
from keystage.cleaning.ruleset import load_rules
from keystage.collection.forms import CollectionYearForm
from keystage.collection.models import (
    Collection,
    ExpectedCohort,
    PupilRecord,
    RetiredPupilRecord,
    Submission,
)
from keystage.formats.assessment_spec import components
from keystage.measures.primary import DATASETS as REPORTED
from keystage.returns.layout import LAYOUTS_FILE, RETURN_COLLECTIONS
from keystage.returns.models import ReturnFile
from keystage.socialcare.models import CareReturn

ROOT = Path(__file__).resolve().parents[3]
DATASET_FILE = ROOT / "docs" / "datasets.md"

D = dt.date

# ---------------------------------------------------------------------------------------------
# Model fields that hold a dataset or cohort code take their choices from the registry


ALL = datasets.choices()
STATUTORY = datasets.choices(datasets.COLLECTIONS)
WITH_RETURN = datasets.choices(datasets.RETURNS)
COHORTS = datasets.cohort_choices()
CLEANED = datasets.choices(datasets.of_family(datasets.Family.COLLECTION, datasets.Family.CONTEXT))
CODE_FIELDS = {
    (Submission, "collection"): ALL,
    (PupilRecord, "collection"): ALL,
    (RetiredPupilRecord, "collection"): ALL,
    (ExpectedCohort, "collection"): COHORTS,
    (CleaningRun, "collection"): CLEANED,
    (Issue, "collection"): CLEANED,
    (LaEdit, "collection"): STATUTORY,
    (ReturnFile, "collection"): WITH_RETURN,
    (CareReturn, "dataset"): datasets.choices(datasets.of_family(datasets.Family.SOCIAL_CARE)),
    (ReportSharing, "dataset"): datasets.choices([datasets.dataset(c) for c in REPORTED]),
    (StoredReport, "dataset"): datasets.choices([datasets.dataset(c) for c in REPORTED]),
    (NationalSummary, "dataset"): datasets.choices([datasets.dataset(c) for c in REPORTED]),
    (LaSummary, "dataset"): datasets.choices([datasets.dataset(c) for c in REPORTED]),
}
# Field names that hold a dataset or cohort code wherever they appear.
CODE_FIELD_NAMES = {"collection", "dataset", "cohort", "cohort_code"}


@pytest.mark.parametrize(
    ("model", "name"), list(CODE_FIELDS), ids=[f"{m.__name__}.{n}" for m, n in CODE_FIELDS]
)
def test_a_code_field_has_exactly_the_registry_choices(model, name):
    field = model._meta.get_field(name)
    assert list(field.choices) == CODE_FIELDS[(model, name)]
    assert field.max_length >= max(len(code) for code, _ in field.choices)


def test_every_model_field_named_for_a_dataset_or_cohort_is_checked_above():
    found = {
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.name in CODE_FIELD_NAMES
    }
    assert found <= set(CODE_FIELDS), f"add these fields to CODE_FIELDS: {found - set(CODE_FIELDS)}"


def test_pages_about_statutory_collections_offer_only_the_collections():
    assert Collection.choices == STATUTORY
    assert list(CollectionYearForm().fields["collection"].choices) == STATUTORY
    assert RETURN_COLLECTIONS == datasets.RETURN_CODES


# ---------------------------------------------------------------------------------------------
# The pure packages import with Django absent

PURE_FOLDERS = ("formats", "identity", "synth", "measures", "rules")
# Modules of Django apps that hold pure logic and say so in their docstring.
PURE_MODULES = (
    "keystage.datasets",
    "keystage.years",
    "keystage.collection.derive",
    "keystage.cleaning.checks",
    "keystage.cleaning.engine",
    "keystage.cleaning.ruleset",
    "keystage.returns.layout",
    "keystage.returns.reader",
    "keystage.returns.writer",
)
_BLOCK_DJANGO = """
import importlib, sys
class NoDjango:
    def find_spec(self, name, path=None, target=None):
        if name == "django" or name.startswith("django."):
            raise ImportError(f"{name} imported by a pure module")
sys.meta_path.insert(0, NoDjango())
failed = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError as error:
        failed.append(f"{name}: {error}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def pure_modules() -> list[str]:
    names = list(PURE_MODULES)
    for folder in PURE_FOLDERS:
        for path in sorted((ROOT / "keystage" / folder).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "management" in parts or parts[-1] in ("apps", "models"):
                continue
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_pure_packages_import_with_django_absent():
    modules = pure_modules()
    assert {"keystage.datasets", "keystage.years", "keystage.identity.link"} <= set(modules)
    result = subprocess.run(
        [sys.executable, "-c", _BLOCK_DJANGO, *modules],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------
# years.py


@pytest.mark.parametrize(
    ("year", "term", "expected"),
    [
        (2026, "SPR", D(2026, 1, 15)),
        (2025, "SPR", D(2025, 1, 16)),
        (2024, "SPR", D(2024, 1, 18)),
        (2026, "AUT", D(2025, 10, 2)),
        (2026, "SUM", D(2026, 5, 21)),
    ],
)
def test_census_reference_dates_are_the_usual_thursdays(year, term, expected):
    assert years.census_reference_date(year, term) == expected
    assert expected.weekday() == years.THURSDAY
    assert years.census_term_of(expected) == (year, term)
    first, last = years.census_window(year, term)
    assert first <= expected <= last


def test_an_unknown_census_term_is_refused():
    with pytest.raises(ValueError, match="AUT, SPR, SUM"):
        years.census_reference_date(2026, "WIN")
    with pytest.raises(ValueError, match="AUT, SPR, SUM"):
        years.census_window(2026, "WIN")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2025, 9, 1), (2026, "AUT")),
        (D(2025, 12, 31), (2026, "AUT")),
        (D(2026, 1, 1), (2026, "SPR")),
        (D(2026, 3, 31), (2026, "SPR")),
        (D(2026, 4, 1), (2026, "SUM")),
        (D(2026, 8, 31), (2026, "SUM")),
    ],
)
def test_a_census_date_belongs_to_one_year_and_term(day, expected):
    assert years.census_term_of(day) == expected
    first, last = years.census_window(*expected)
    assert first <= day <= last


@pytest.mark.parametrize(
    ("year", "ncyear", "earliest", "latest"),
    [
        (2026, "R", D(2020, 9, 1), D(2021, 8, 31)),
        (2026, 0, D(2020, 9, 1), D(2021, 8, 31)),
        (2026, "1", D(2019, 9, 1), D(2020, 8, 31)),
        (2026, "2", D(2018, 9, 1), D(2019, 8, 31)),
        (2026, "6", D(2014, 9, 1), D(2015, 8, 31)),
        (2026, "11", D(2009, 9, 1), D(2010, 8, 31)),
        (2026, "N2", D(2021, 9, 1), D(2022, 8, 31)),
        (2026, "N1", D(2022, 9, 1), D(2023, 8, 31)),
        (2025, "r", D(2019, 9, 1), D(2020, 8, 31)),
    ],
)
def test_dob_windows_follow_the_national_curriculum_age_rule(year, ncyear, earliest, latest):
    assert years.dob_window(year, ncyear) == (earliest, latest)


@pytest.mark.parametrize("ncyear", ["X", "", "15", "0", "Y1"])
def test_an_nc_year_with_no_age_has_no_dob_window(ncyear):
    with pytest.raises(ValueError, match="no date-of-birth window"):
        years.dob_window(2026, ncyear)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025/26", 2026),
        ("2025-26", 2026),
        ("2025-2026", 2026),
        ("2025/2026", 2026),
        ("2025", 2026),
        (" 2025 / 26 ", 2026),
        ("1999/00", 2000),
        ("2099/00", 2100),
        ("2025/27", None),
        ("2025-2027", None),
        ("2025/6", None),
        ("2025/026", None),
        ("25/26", None),
        ("2025/26/27", None),
        ("twenty", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_academic_year_reads_every_way_las_write_it(text, expected):
    assert years.parse_academic_year(text) == expected


@pytest.mark.parametrize("year", [2000, 2012, 2026, 2099])
def test_an_academic_year_label_parses_back_to_its_year(year):
    assert years.parse_academic_year(years.academic_year_label(year)) == year


@pytest.mark.parametrize(
    ("year", "academic", "financial"),
    [(2026, "2025/26", "2025-26"), (2000, "1999/00", "1999-00"), (2010, "2009/10", "2009-10")],
)
def test_year_labels(year, academic, financial):
    assert years.academic_year_label(year) == academic
    assert years.financial_year_label(year) == financial


@pytest.mark.parametrize(
    ("day", "year"),
    [(D(2025, 8, 31), 2025), (D(2025, 9, 1), 2026), (D(2026, 1, 15), 2026), (D(2026, 7, 1), 2026)],
)
def test_a_day_belongs_to_the_assessment_year_whose_academic_year_holds_it(day, year):
    assert years.assessment_year_of(day) == year
    assert years.academic_year_start(year) <= day <= years.academic_year_end(year)


@pytest.mark.parametrize(
    ("ncyear", "number"),
    [("N1", -2), ("N2", -1), ("R", 0), ("r", 0), (" 1 ", 1), ("6", 6), ("14", 14),
     ("15", None), ("0", None), ("X", None), ("", None), (None, None)],
)
def test_nc_year_numbers(ncyear, number):
    assert years.ncyear_number(ncyear) == number


def test_every_nc_year_code_has_a_number_youngest_first():
    numbers = [years.ncyear_number(code) for code in years.NC_YEARS]
    assert numbers == sorted(numbers) == list(range(-2, 15))


def test_social_care_years_end_on_31_march():
    assert years.social_care_year(2026) == (D(2025, 4, 1), D(2026, 3, 31))


@pytest.mark.parametrize(
    ("dob", "summer"),
    [(D(2020, 4, 30), False), (D(2020, 5, 1), True), (D(2020, 8, 31), True),
     (D(2020, 9, 1), False)],
)
def test_summer_born_is_may_to_august(dob, summer):
    assert years.is_summer_born(dob) is summer


def test_ages_and_recent_years():
    assert years.age_on(D(2015, 3, 1), D(2026, 2, 28)) == 10
    assert years.age_on(D(2015, 3, 1), D(2026, 3, 1)) == 11
    assert years.recent_years(2026, 3) == [2024, 2025, 2026]
    assert years.MIN_YEAR <= 2026 <= years.MAX_YEAR


# ---------------------------------------------------------------------------------------------
# datasets.py


def test_the_registry_holds_the_command_line_contract_codes_in_order():
    assert list(datasets.DATASETS) == [
        "eyfsp", "phonics", "ks1", "ks2ta", "mtc", "census", "pp", "ks2", "ks4", "ks5",
        "extra", "ssda903", "cin",
    ]
    assert datasets.COLLECTION_CODES == ("eyfsp", "phonics", "ks1", "ks2ta", "mtc")
    assert datasets.RETURN_CODES == ("eyfsp", "phonics", "ks1", "ks2ta")
    assert all(d.code == code for code, d in datasets.DATASETS.items())
    assert len({d.label for d in datasets.DATASETS.values()}) == len(datasets.DATASETS)


@pytest.mark.parametrize(
    ("cohort", "collection", "ncyear", "label"),
    [
        ("EYFSP", "eyfsp", "R", "EYFSP"),
        ("PHONICS_Y1", "phonics", "1", "Phonics screening check, Year 1"),
        ("PHONICS_Y2", "phonics", "2", "Phonics screening check, Year 2"),
        ("KS1", "ks1", "2", "KS1 teacher assessment"),
        ("KS2TA", "ks2ta", "6", "KS2 teacher assessment"),
        ("MTC", "mtc", "4", "Multiplication tables check"),
    ],
)
def test_cohort_codes_count_one_collection_and_year_group(cohort, collection, ncyear, label):
    assert datasets.COHORT_CODES[cohort] == collection
    assert datasets.cohort_ncyear(cohort) == ncyear
    assert datasets.cohort_label(cohort) == label


def test_only_the_statutory_collections_have_cohort_codes():
    assert set(datasets.COHORT_CODES.values()) == set(datasets.COLLECTION_CODES)
    assert [code for code, _ in datasets.cohort_choices()] == list(datasets.COHORT_CODES)


@pytest.mark.parametrize(
    ("code", "name", "value"),
    [
        ("phonics", "pass_mark", 32),
        ("phonics", "max_mark", 40),
        ("mtc", "full_marks", 25),
        ("ks2", "min_score", 80),
        ("ks2", "max_score", 120),
        ("ks2", "expected", 100),
        ("ks2", "high", 110),
    ],
)
def test_thresholds(code, name, value):
    assert datasets.threshold(code, name) == value


def test_an_unknown_dataset_or_threshold_names_what_is_known():
    with pytest.raises(KeyError, match="known: eyfsp, phonics"):
        datasets.dataset("ks3")
    with pytest.raises(KeyError, match="'mtc' has no threshold 'pass_mark'"):
        datasets.threshold("mtc", "pass_mark")


@pytest.mark.parametrize(
    ("code", "year", "covered"),
    [("eyfsp", 2021, False), ("eyfsp", 2022, True), ("phonics", 2012, True),
     ("mtc", 2026, True), ("ssda903", 2017, False)],
)
def test_a_dataset_covers_the_years_keystage_reads_it_for(code, year, covered):
    assert datasets.dataset(code).covers(year) is covered


def test_the_families_partition_the_registry():
    families = [datasets.of_family(family) for family in datasets.Family]
    assert sum(len(f) for f in families) == len(datasets.DATASETS)
    assert datasets.of_family(datasets.Family.COLLECTION) == datasets.COLLECTIONS
    assert [d.code for d in datasets.of_family(datasets.Family.SOCIAL_CARE)] == ["ssda903", "cin"]


def test_the_data_files_name_only_registry_collections():
    assert {c.collection for c in components()} == set(datasets.COLLECTION_CODES)
    with LAYOUTS_FILE.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        layouts = {row["collection"] for row in rows}
    assert layouts == {d.return_layout for d in datasets.RETURNS}


def test_the_rules_year_groups_are_the_registry_ones():
    expected = {d.code: list(d.ncyears) for d in datasets.COLLECTIONS}
    with_ncyears = [rule for rule in load_rules() if "ncyears" in rule.params]
    assert with_ncyears
    for rule in with_ncyears:
        assert rule.params["ncyears"] == expected, rule.code


def test_the_datasets_reference_page_is_generated_from_the_registry():
    assert DATASET_FILE.read_text(encoding="utf-8") == datasets.markdown_table(), (
        "docs/datasets.md is out of step with keystage/datasets.py: regenerate it with "
        "`python -m keystage.datasets > docs/datasets.md`"
    )


def test_the_reference_page_has_a_row_per_dataset():
    rows = [line for line in datasets.markdown_table().splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(datasets.DATASETS)
