"""The one vocabulary of datasets: every file family Keystage loads, declared once.

Pure (no Django): models, forms, rules, returns, measures, the synthetic world and the command
line all read their lists of datasets, cohort codes and thresholds from here. Codes are those of
the command-line contract (design.md): `eyfsp`, `phonics`, `ks1`, `ks2ta`, `mtc` (statutory
collections the LA returns to the DfE), `census`, `pp`, `ks2`, `ks4`, `ks5`, `extra` (context
datasets joined to pupils) and `ssda903`, `cin` (children's social care returns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Family(StrEnum):
    """What a dataset is for, which decides where it appears."""

    COLLECTION = "collection"  # statutory assessment collected from schools and returned to the DfE
    CONTEXT = "context"  # census, pupil premium and results: who the pupils are and how they did
    SOCIAL_CARE = "social_care"  # the LA's own children's social care returns


@dataclass(frozen=True)
class Dataset:
    """One dataset: its code, label, family and everything else the apps need to know of it."""

    code: str
    label: str
    family: Family
    first_year: int  # first assessment year Keystage reads it for
    last_year: int | None = None  # None: still collected
    # Expected-cohort codes (encodings.md section 3) whose counts say what the LA should receive.
    cohort_codes: tuple[str, ...] = ()
    # Prefix of the codes of the cleaning rules that apply to it (keystage/cleaning/data/rules.csv).
    rule_prefix: str = ""
    # The DfE return it is sent in, as named in keystage/returns/data/return_layouts.csv.
    return_layout: str | None = None
    # NC years whose pupils it carries (`R` reception); empty: any year group.
    ncyears: tuple[str, ...] = ()
    # Named thresholds of the dataset's measures, kept here so no module writes its own copy.
    thresholds: dict[str, int] = field(default_factory=dict)
    # Per school (one file a school) or per LA (one file may hold many schools).
    per_school: bool = True
    # The census has terms; every other dataset has one load per year.
    terms: tuple[str, ...] = ()
    # Results a school or LA may load early (August) as provisional, replaced by the DfE's file.
    early_results: bool = False

    def covers(self, year: int) -> bool:
        """True when Keystage reads this dataset for the assessment year."""
        return self.first_year <= year and (self.last_year is None or year <= self.last_year)


EYFSP = Dataset(
    "eyfsp", "EYFSP", Family.COLLECTION, 2022, cohort_codes=("EYFSP",), rule_prefix="EYF",
    return_layout="eyfsp", ncyears=("R",),
)
PHONICS = Dataset(
    "phonics", "Phonics screening check", Family.COLLECTION, 2012,
    cohort_codes=("PHONICS_Y1", "PHONICS_Y2"), rule_prefix="PHO", return_layout="phonics",
    ncyears=("1", "2"),
    # The mark that meets the expected standard: 32 of 40 every year since 2012 (formats.md 2.3).
    thresholds={"pass_mark": 32, "max_mark": 40},
)
KS1 = Dataset(
    "ks1", "KS1 teacher assessment", Family.COLLECTION, 2016, cohort_codes=("KS1",),
    rule_prefix="KS1", return_layout="ks1", ncyears=("2",),
)
KS2TA = Dataset(
    "ks2ta", "KS2 teacher assessment", Family.COLLECTION, 2016, cohort_codes=("KS2TA",),
    rule_prefix="KS2", return_layout="ks2ta", ncyears=("6",),
)
MTC = Dataset(
    "mtc", "Multiplication tables check", Family.COLLECTION, 2022, cohort_codes=("MTC",),
    rule_prefix="MTC", ncyears=("4",),
    # Full marks: 25 questions (formats.md 2.5).
    thresholds={"full_marks": 25},
)
CENSUS = Dataset(
    "census", "School census", Family.CONTEXT, 2016, rule_prefix="CEN",
    terms=("AUT", "SPR", "SUM"),
)
PP = Dataset("pp", "Pupil premium", Family.CONTEXT, 2016, rule_prefix="PPR", per_school=False)
KS2 = Dataset(
    "ks2", "KS2 results", Family.CONTEXT, 2016, rule_prefix="KSR", ncyears=("6",),
    per_school=False,
    # Scaled scores run from 80 to 120; 100 is the expected standard, 110 the high score.
    thresholds={"min_score": 80, "max_score": 120, "expected": 100, "high": 110},
)
KS4 = Dataset(
    "ks4", "KS4 results", Family.CONTEXT, 2016, rule_prefix="KS4", ncyears=("11",),
    per_school=False, early_results=True,
)
KS5 = Dataset(
    "ks5", "KS5 results (A levels)", Family.CONTEXT, 2016, rule_prefix="KS5", ncyears=("13",),
    per_school=False, early_results=True,
)
EXTRA = Dataset("extra", "Extra pupil fields", Family.CONTEXT, 2016, rule_prefix="EXT",
                per_school=False)
SSDA903 = Dataset("ssda903", "Children looked after (SSDA903)", Family.SOCIAL_CARE, 2018,
                  per_school=False)
CIN = Dataset("cin", "Children in need census", Family.SOCIAL_CARE, 2021, per_school=False)

DATASETS: dict[str, Dataset] = {
    d.code: d
    for d in (EYFSP, PHONICS, KS1, KS2TA, MTC, CENSUS, PP, KS2, KS4, KS5, EXTRA, SSDA903,
              CIN)
}


def dataset(code: str) -> Dataset:
    """The dataset of a code; KeyError names the known codes."""
    try:
        return DATASETS[code]
    except KeyError:
        raise KeyError(f"unknown dataset {code!r}; known: {', '.join(DATASETS)}") from None


def of_family(*families: Family) -> tuple[Dataset, ...]:
    """The datasets of the given families, in registry order."""
    return tuple(d for d in DATASETS.values() if d.family in families)


# The statutory assessment collections schools send and the LA returns, in registry order.
COLLECTIONS: tuple[Dataset, ...] = of_family(Family.COLLECTION)
COLLECTION_CODES: tuple[str, ...] = tuple(d.code for d in COLLECTIONS)
# Every expected-cohort code and the collection it counts pupils for.
COHORT_CODES: dict[str, str] = {c: d.code for d in DATASETS.values() for c in d.cohort_codes}


# The collections the LA sends to the DfE as a return file, in registry order.
RETURNS: tuple[Dataset, ...] = tuple(d for d in COLLECTIONS if d.return_layout)
RETURN_CODES: tuple[str, ...] = tuple(d.code for d in RETURNS)


def choices(datasets=None) -> list[tuple[str, str]]:
    """(code, label) pairs for a model or form field: every dataset, or those given."""
    return [(d.code, d.label) for d in (datasets or DATASETS.values())]


def threshold(code: str, name: str) -> int:
    """A named threshold of a dataset's measures, e.g. threshold("phonics", "pass_mark") == 32."""
    try:
        return dataset(code).thresholds[name]
    except KeyError:
        raise KeyError(f"dataset {code!r} has no threshold {name!r}") from None


def cohort_ncyear(cohort_code: str) -> str:
    """The NC year whose pupils an expected-cohort code counts ("PHONICS_Y2" -> "2")."""
    owner = dataset(COHORT_CODES[cohort_code])
    return owner.ncyears[owner.cohort_codes.index(cohort_code)]


def cohort_label(cohort_code: str) -> str:
    """The label of an expected-cohort code: its collection's, with the year group when the
    collection counts more than one ("PHONICS_Y2" -> "Phonics screening check, Year 2")."""
    owner = dataset(COHORT_CODES[cohort_code])
    if len(owner.cohort_codes) == 1:
        return owner.label
    return f"{owner.label}, Year {cohort_ncyear(cohort_code)}"


def cohort_choices() -> list[tuple[str, str]]:
    """(code, label) pairs of every expected-cohort code, for a model or form field."""
    return [(code, cohort_label(code)) for code in COHORT_CODES]


def markdown_table() -> str:
    """docs/datasets.md: the registry as a reference page.

    Regenerate the file with `python -m keystage.datasets > docs/datasets.md`.
    """
    lines = [
        "# Datasets",
        "",
        "Generated from `keystage/datasets.py`: do not edit by hand; regenerate it with",
        "`python -m keystage.datasets > docs/datasets.md`. Years are assessment years",
        "(2026 = the academic year 2025/26).",
        "",
        "| Code | Label | Family | Years | Cohort codes | Rule prefix | Return | NC years "
        "| Thresholds | Files | Terms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in DATASETS.values():
        years = f"{d.first_year}-{d.last_year or ''}"
        thresholds = ", ".join(f"{name} {value}" for name, value in d.thresholds.items())
        cells = (
            f"`{d.code}`", d.label, d.family.value, years, " ".join(d.cohort_codes),
            d.rule_prefix, d.return_layout or "", " ".join(d.ncyears) or "any", thresholds,
            "per school" if d.per_school else "per LA", " ".join(d.terms),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
