"""The checks that validation rules run: a small library of vectorised polars functions; no Django.

A rule (a row of data/rules.csv) names one check, the fields it reads and its parameters, so many
rules share few checks. Each check returns one row per problem found, with the columns of
CHECK_SCHEMA; the engine adds the rule's code, severity and message. Checks never loop over pupils.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TYPE_CHECKING

import polars as pl

from keystage.datasets import threshold
from keystage.formats.assessment_spec import collection_components
from keystage.formats.ks4_subjects import ks4_grades
from keystage.formats.la_codes import la_codes
from keystage.formats.upn import CHECK_ALPHABET
from keystage.years import NC_YEARS, dob_window, ncyear_number

if TYPE_CHECKING:
    from keystage.cleaning.engine import CleaningData
    from keystage.cleaning.ruleset import Rule

CHECK_SCHEMA: dict[str, pl.DataType] = {
    "pupil_id": pl.Int64(),
    "school_id": pl.Int64(),
    "field": pl.String(),
    "value": pl.String(),
}

# CTF field names (as rules name them) and the pupils column holding each as it was sent.
PUPIL_FIELDS = {
    "UPN": "upn",
    "Surname": "surname",
    "Forename": "forename",
    "DOB": "dob_text",
    "Sex": "sex",
    "NCyearActual": "ncyear",
}
SCHOOL_FIELDS = ("LAESTAB",)
# Fields of the context datasets' own rows (named as in their files: encodings.md s.3 and 4):
# field -> (the dataset it belongs to, the CleaningData frame holding it, the frame's column).
CONTEXT_FIELDS = {
    "EnrolStatus": ("census", "census", "enrol_status"),
    "FSMstartDate": ("census", "fsm_periods", "start"),
    "FSMendDate": ("census", "fsm_periods", "end"),
    "PP_REASON": ("pp", "pp", "reason"),
    "READSCORE": ("ks2", "ks2", "read_score"),
    "MATSCORE": ("ks2", "ks2", "mat_score"),
    "GPSSCORE": ("ks2", "ks2", "gps_score"),
    "SUBJECT": ("ks4", "ks4", "subject"),
    "GRADE": ("ks4", "ks4", "grade"),
    "SUBJECTCODE": ("ks5", "ks5", "subject"),
    "PRIORAPS": ("ks5", "ks5", "prior_aps"),
    "FIELD": ("extra", "extra", "field"),
}
FIELD_KINDS = ("pupil", "result", "school", "context")

# National curriculum year codes (CBDS D00020) as years after Reception.
NC_YEAR_NUMBERS = {code: ncyear_number(code) for code in NC_YEARS}

_INTEGER = r"^[+-]?[0-9]+$"
_UPN_LETTERS = f"[{CHECK_ALPHABET}]"
# The shape of a permanent or temporary UPN, as keystage.formats.upn.is_well_formed defines it.
UPN_SHAPE = f"^{_UPN_LETTERS}[0-9]{{11}}(?:[0-9]|{_UPN_LETTERS})$"
_CHARACTER_VALUES = {str(digit): digit for digit in range(10)} | {
    letter: index for index, letter in enumerate(CHECK_ALPHABET)
}


@dataclass(frozen=True)
class Check:
    """A check function and what a rule using it must declare."""

    name: str
    function: Callable[[CleaningData, Rule], pl.DataFrame]
    field_kind: str  # "pupil", "result" or "school"
    fields: tuple[str, ...]  # the fields a rule may list; empty means any field of the kind
    exact_fields: bool  # when true a rule must list exactly `fields`
    params: dict[str, type]  # accepted parameter names and their JSON types
    required: tuple[str, ...]
    doc: str
    # Frames beyond pupils and schools that the check reads, so loading reads only those.
    reads: tuple[str, ...] = ()

    def __call__(self, data: CleaningData, rule: Rule) -> pl.DataFrame:
        return self.function(data, rule)


CHECKS: dict[str, Check] = {}


def check(
    name: str,
    *,
    kind: str,
    fields: tuple[str, ...] = (),
    exact: bool = False,
    params: dict[str, type] | None = None,
    required: tuple[str, ...] = (),
    reads: tuple[str, ...] = (),
) -> Callable[[Callable[[CleaningData, Rule], pl.DataFrame]], Callable]:
    """Register a check function under a name, with the fields and parameters it accepts."""
    accepted = dict(params or {})
    if kind not in FIELD_KINDS or not set(required) <= set(accepted):
        raise ValueError(f"check {name}: bad declaration")

    def register(function: Callable[[CleaningData, Rule], pl.DataFrame]) -> Callable:
        if name in CHECKS:
            raise ValueError(f"check {name} is registered twice")
        doc = (function.__doc__ or "").strip().split("\n")[0]
        CHECKS[name] = Check(name, function, kind, fields, exact, accepted, required, doc, reads)
        return function

    return register


# ---------------------------------------------------------------------------------------------
# Helpers


def empty_check_result() -> pl.DataFrame:
    """A check result with no rows."""
    return pl.DataFrame(schema=CHECK_SCHEMA)


def _found(frame: pl.DataFrame | pl.LazyFrame, field: pl.Expr, value: pl.Expr) -> pl.DataFrame:
    """Shape rows of a frame with pupil_id and school_id into CHECK_SCHEMA."""
    lazy = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    return lazy.select(
        pl.col("pupil_id").cast(pl.Int64),
        pl.col("school_id").cast(pl.Int64),
        field.cast(pl.String).alias("field"),
        value.cast(pl.String).fill_null("").alias("value"),
    ).collect()


def _for_school(frame: pl.DataFrame | pl.LazyFrame, value: pl.Expr) -> pl.DataFrame:
    """Shape rows of a frame with school_id into school-level CHECK_SCHEMA rows."""
    lazy = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    return _found(
        lazy.with_columns(pupil_id=pl.lit(None, dtype=pl.Int64)), pl.lit("LAESTAB"), value
    )


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(frames) if frames else empty_check_result()


def _blank(column: str) -> pl.Expr:
    return pl.col(column).fill_null("").str.strip_chars() == ""


def _is_integer(column: str) -> pl.Expr:
    return pl.col(column).str.contains(_INTEGER)


def _upns(data: CleaningData) -> pl.LazyFrame:
    return data.pupils.lazy().select("pupil_id", "school_id", "upn")


def _well_formed_upns(data: CleaningData) -> pl.LazyFrame:
    return _upns(data).filter(pl.col("upn").str.contains(UPN_SHAPE))


def _collection_ncyears(rule: Rule, collection: str) -> list[str]:
    return list(rule.params["ncyears"].get(collection, []))


def _latest_results(data: CleaningData, rule: Rule) -> pl.LazyFrame:
    """The result that counts per pupil and component, for the rule's fields, when not blank."""
    return data.results.lazy().filter(
        pl.col("is_latest")
        & pl.col("component").is_in(list(rule.fields))
        & ~_blank("result")
    )


def _with_school(results: pl.LazyFrame, data: CleaningData) -> pl.LazyFrame:
    return results.join(
        data.pupils.lazy().select("pupil_id", "school_id"), on="pupil_id", how="inner"
    )


def _allowed_results(data: CleaningData) -> dict[str, frozenset[str]]:
    return {c.component: c.results for c in collection_components(data.collection, data.year)}


def _schools_with_data(data: CleaningData) -> pl.LazyFrame:
    """Schools that sent this collection or that a pupil row points at."""
    pointed_at = data.pupils.lazy().select("school_id").unique()
    schools = data.schools.lazy()
    return pl.concat(
        [
            schools.filter(pl.col("has_submission")),
            schools.join(pointed_at, on="school_id", how="semi"),
        ]
    ).unique("school_id")


def _month_day(text: str) -> tuple[int, int]:
    month, day = text.split("-")
    return int(month), int(day)


def _normalised(column: str) -> pl.Expr:
    # Names typed in capitals or with stray spaces are the same name.
    return pl.col(column).str.to_lowercase().str.replace_all(r"\s+", "")


# ---------------------------------------------------------------------------------------------
# Pupil fields


@check("required", kind="pupil")
def required(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A pupil field is empty."""
    frames = []
    for field in rule.fields:
        column = PUPIL_FIELDS[field]
        frames.append(
            _found(data.pupils.filter(_blank(column)), pl.lit(field), pl.col(column))
        )
    return _concat(frames)


@check("in_values", kind="pupil", params={"values": list}, required=("values",))
def in_values(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A pupil field that is not empty holds a value outside the list."""
    return _outside(data, rule, list(rule.params["values"]))


def _outside(data: CleaningData, rule: Rule, allowed: list[str]) -> pl.DataFrame:
    frames = []
    for field in rule.fields:
        column = PUPIL_FIELDS[field]
        wrong = data.pupils.filter(~_blank(column) & ~pl.col(column).is_in(allowed))
        frames.append(_found(wrong, pl.lit(field), pl.col(column)))
    return _concat(frames)


@check(
    "in_values_for_collection", kind="pupil", params={"values": dict}, required=("values",)
)
def in_values_for_collection(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A pupil field that is not empty holds a value outside the collection's list."""
    return _outside(data, rule, list(rule.params["values"].get(data.collection, [])))


@check(
    "name_characters",
    kind="pupil",
    fields=("Surname", "Forename"),
    params={"allowed": str},
    required=("allowed",),
)
def name_characters(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A name holds characters other than letters and the allowed punctuation."""
    # Escape what is special inside a regex character class; letters include accented ones.
    extra = "".join("\\" + c if c in "\\]^-[&~" else c for c in rule.params["allowed"])
    pattern = rf"^[\p{{L}}\p{{M}}{extra}]*$"
    frames = []
    for field in rule.fields:
        column = PUPIL_FIELDS[field]
        wrong = data.pupils.filter(~pl.col(column).str.contains(pattern))
        frames.append(_found(wrong, pl.lit(field), pl.col(column)))
    return _concat(frames)


@check("max_length", kind="pupil", params={"max": int}, required=("max",))
def max_length(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A pupil field is longer than the maximum number of characters."""
    limit = rule.params["max"]
    frames = []
    for field in rule.fields:
        column = PUPIL_FIELDS[field]
        wrong = data.pupils.filter(pl.col(column).str.len_chars() > limit)
        frames.append(_found(wrong, pl.lit(field), pl.col(column)))
    return _concat(frames)


@check("valid_date", kind="pupil", fields=("DOB",), exact=True)
def valid_date(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """The date of birth is missing or is not a date."""
    return _found(data.pupils.filter(pl.col("dob").is_null()), pl.lit("DOB"), pl.col("dob_text"))


@cache
def _dob_windows(year: int, widen: int) -> tuple[dict[str, date], dict[str, date]]:
    # keystage.years.dob_window of every NC year, widened by `widen` years each way.
    earliest = {code: dob_window(year - widen, code)[0] for code in NC_YEARS}
    latest = {code: dob_window(year + widen, code)[1] for code in NC_YEARS}
    return earliest, latest


def _cohort_start(year: int, widen: int) -> pl.Expr:
    """The earliest date of birth of the pupil's NC year (null for an unknown NC year)."""
    earliest = _dob_windows(year, widen)[0]
    return pl.col("ncyear").replace_strict(earliest, default=None, return_dtype=pl.Date)


def _cohort_end(year: int, widen: int) -> pl.Expr:
    """The latest date of birth of the pupil's NC year (null for an unknown NC year)."""
    latest = _dob_windows(year, widen)[1]
    return pl.col("ncyear").replace_strict(latest, default=None, return_dtype=pl.Date)


@check(
    "dob_outside_year_group",
    kind="pupil",
    fields=("DOB", "NCyearActual"),
    exact=True,
    params={"ncyears": dict, "at_most_years": int, "more_than_years": int},
)
def dob_outside_year_group(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """The date of birth is outside the year group of the pupil's NC year (by at most or by
    more than N years)."""
    # Pupils whose NC year does not belong in the collection are reported by another rule;
    # without `ncyears` (the census) every NC year is the pupil's own, as the registry's empty
    # ncyears means any year group.
    if "ncyears" in rule.params:
        ncyears = _collection_ncyears(rule, data.collection)
    else:
        ncyears = list(NC_YEARS)
    tolerance = rule.params.get("at_most_years")
    pupils = data.pupils.lazy().filter(
        pl.col("dob").is_not_null() & pl.col("ncyear").is_in(ncyears)
    )
    outside = (pl.col("dob") < _cohort_start(data.year, 0)) | (
        pl.col("dob") > _cohort_end(data.year, 0)
    )
    if tolerance is not None:
        outside = outside & pl.col("dob").is_between(
            _cohort_start(data.year, tolerance), _cohort_end(data.year, tolerance)
        )
    beyond = rule.params.get("more_than_years")
    if beyond is not None:
        outside = (pl.col("dob") < _cohort_start(data.year, beyond)) | (
            pl.col("dob") > _cohort_end(data.year, beyond)
        )
    return _found(pupils.filter(outside), pl.lit("DOB"), pl.col("dob_text"))


@check(
    "dob_implausible",
    kind="pupil",
    fields=("DOB",),
    exact=True,
    params={"ncyears": dict, "more_than_years": int},
    required=("ncyears", "more_than_years"),
)
def dob_implausible(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """The date of birth is more than N years outside the collection's year groups."""
    numbers = [NC_YEAR_NUMBERS[n] for n in _collection_ncyears(rule, data.collection)]
    if not numbers:
        return empty_check_result()
    widen = rule.params["more_than_years"]
    earliest = dob_window(data.year - widen, max(numbers))[0]
    latest = dob_window(data.year + widen, min(numbers))[1]
    wrong = data.pupils.filter(
        pl.col("dob").is_not_null() & ~pl.col("dob").is_between(earliest, latest)
    )
    return _found(wrong, pl.lit("DOB"), pl.col("dob_text"))


@check(
    "pvi_funded_window",
    kind="pupil",
    fields=("DOB",),
    exact=True,
    params={"from": str, "to": str, "years_before": int},
    required=("from", "to", "years_before"),
)
def pvi_funded_window(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A child at a PVI setting was born outside the funded window."""
    birth_year = data.year - rule.params["years_before"]
    first = date(birth_year, *_month_day(rule.params["from"]))
    last = date(birth_year, *_month_day(rule.params["to"]))
    pvi = data.schools.lazy().filter(pl.col("is_pvi")).select("school_id")
    wrong = (
        data.pupils.lazy()
        .join(pvi, on="school_id", how="semi")
        .filter(pl.col("dob").is_not_null() & ~pl.col("dob").is_between(first, last))
    )
    return _found(wrong, pl.lit("DOB"), pl.col("dob_text"))


@check(
    "differs_from_other_records",
    kind="pupil",
    fields=("Surname", "Forename", "DOB", "Sex"),
    reads=("others",),
)
def differs_from_other_records(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A field differs from the same UPN's record in another collection or year."""
    columns = {"Surname": "surname", "Forename": "forename", "DOB": "dob", "Sex": "sex"}
    others = data.others.lazy().filter(~_blank("upn"))
    pupils = data.pupils.lazy().filter(~_blank("upn"))
    frames = []
    for field in rule.fields:
        column = columns[field]
        if field == "DOB":
            here, there = pl.col("dob"), pl.col("dob_other")
            present = here.is_not_null() & there.is_not_null()
        else:
            here, there = _normalised(column), _normalised(f"{column}_other")
            present = ~_blank(column) & ~_blank(f"{column}_other")
        paired = pupils.select("pupil_id", "school_id", "upn", column).join(
            others.select(
                "upn",
                pl.col(column).alias(f"{column}_other"),
                pl.col("collection").str.to_uppercase(),
                "year",
            ),
            on="upn",
            how="inner",
        )
        # Name the most recent record that disagrees, so that each pupil gets one issue.
        differing = (
            paired.filter(present & (here != there))
            .sort(["pupil_id", "year", "collection"], descending=[False, True, False])
            .unique("pupil_id", keep="first")
        )
        value = pl.format(
            "{} here; {} in {} {}",
            pl.col(column).cast(pl.String),
            pl.col(f"{column}_other").cast(pl.String),
            pl.col("collection"),
            pl.col("year"),
        )
        frames.append(_found(differing, pl.lit(field), value))
    return _concat(frames)


@check("upn_of_another_pupil", kind="pupil", fields=("UPN",), reads=("upn_owners",))
def upn_of_another_pupil(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """The record's UPN is another pupil's: identity linked the record to a different child
    by name and date of birth, so the UPN was probably typed from the wrong pupil."""
    wrong = data.pupils.lazy().join(data.upn_owners.lazy(), on="pupil_id", how="inner")
    value = pl.format("{} (the UPN of {} {})", pl.col("upn"), pl.col("owner_forename"),
                      pl.col("owner_surname"))
    return _found(wrong, pl.lit("UPN"), value)


@check(
    "duplicate_pupil_details",
    kind="pupil",
    fields=("Surname", "Forename", "DOB"),
    exact=True,
)
def duplicate_pupil_details(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """Two pupils of one school with different UPNs share surname, forename and date of birth."""
    keys = ["school_id", "surname_key", "forename_key", "dob"]
    pupils = (
        data.pupils.lazy()
        .filter(pl.col("dob").is_not_null() & ~_blank("surname") & ~_blank("forename"))
        .with_columns(surname_key=_normalised("surname"), forename_key=_normalised("forename"))
    )
    clashes = pupils.filter(pl.col("upn").n_unique().over(keys) > 1)
    value = pl.format("{}, {}, {}", pl.col("surname"), pl.col("forename"), pl.col("dob_text"))
    return _found(clashes, pl.lit("Surname Forename DOB"), value)


# ---------------------------------------------------------------------------------------------
# UPN


@check("upn_well_formed", kind="pupil", fields=("UPN",), exact=True)
def upn_well_formed(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A UPN that is not empty is not 13 characters of the permanent or temporary shape."""
    wrong = _upns(data).filter(~_blank("upn") & ~pl.col("upn").str.contains(UPN_SHAPE))
    return _found(wrong, pl.lit("UPN"), pl.col("upn"))


def check_letter_expr(column: str = "upn") -> pl.Expr:
    """The check letter of a well-formed UPN: characters 2-13 weighted 2-13, modulo 23."""
    total = pl.sum_horizontal(
        pl.col(column)
        .str.slice(position, 1)
        .replace_strict(_CHARACTER_VALUES, default=0, return_dtype=pl.Int32)
        * (position + 1)
        for position in range(1, 13)
    )
    return (total % 23).replace_strict(dict(enumerate(CHECK_ALPHABET)), return_dtype=pl.String)


@check("upn_check_letter", kind="pupil", fields=("UPN",), exact=True)
def upn_check_letter(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A well-formed UPN's first letter is not the check letter of the rest."""
    wrong = _well_formed_upns(data).filter(pl.col("upn").str.slice(0, 1) != check_letter_expr())
    return _found(wrong, pl.lit("UPN"), pl.col("upn"))


@check("upn_la_code", kind="pupil", fields=("UPN",), exact=True)
def upn_la_code(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """Characters 2-4 of a well-formed UPN are not a known LA code."""
    known = list(la_codes())
    wrong = _well_formed_upns(data).filter(~pl.col("upn").str.slice(1, 3).is_in(known))
    return _found(wrong, pl.lit("UPN"), pl.col("upn"))


@check("upn_temporary", kind="pupil", fields=("UPN",), exact=True)
def upn_temporary(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A well-formed UPN is temporary (a letter in the 13th place)."""
    wrong = _well_formed_upns(data).filter(~pl.col("upn").str.slice(12, 1).str.contains("[0-9]"))
    return _found(wrong, pl.lit("UPN"), pl.col("upn"))


@check("duplicate_upn_in_school", kind="pupil", fields=("UPN",), exact=True)
def duplicate_upn_in_school(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """The same UPN is on more than one pupil record of one school."""
    upns = _upns(data).filter(~_blank("upn"))
    wrong = upns.filter(pl.len().over("school_id", "upn") > 1)
    return _found(wrong, pl.lit("UPN"), pl.col("upn"))


@check("upn_in_several_schools", kind="pupil", fields=("UPN",), exact=True)
def upn_in_several_schools(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """The same UPN is on pupil records of more than one school in this collection."""
    upns = _upns(data).filter(~_blank("upn"))
    wrong = upns.filter(pl.col("school_id").n_unique().over("upn") > 1)
    return _found(wrong, pl.lit("UPN"), pl.col("upn"))


# ---------------------------------------------------------------------------------------------
# Schools and cohorts


@check(
    "school_status_in",
    kind="school",
    fields=("LAESTAB",),
    exact=True,
    params={"values": list},
    required=("values",),
)
def school_status_in(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A school that sent data or has pupils has one of the listed statuses."""
    statuses = [s.lower() for s in rule.params["values"]]
    wrong = _schools_with_data(data).filter(pl.col("status").str.to_lowercase().is_in(statuses))
    return _for_school(wrong, pl.col("laestab"))


@check("school_not_in_register", kind="school", fields=("LAESTAB",), exact=True)
def school_not_in_register(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A school that sent data or has pupils is no longer in the LA's register."""
    wrong = _schools_with_data(data).filter(~pl.col("in_la"))
    return _for_school(wrong, pl.col("laestab"))


@check("pvi_submission", kind="school", fields=("LAESTAB",), exact=True)
def pvi_submission(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A PVI setting sent data or has pupils in this collection."""
    wrong = _schools_with_data(data).filter(pl.col("is_pvi"))
    return _for_school(wrong, pl.col("laestab"))


def _cohorts_of(rule: Rule, collection: str) -> dict[str, list[str]]:
    return dict(rule.params["cohorts"].get(collection, {}))


@check(
    "count_differs_from_cohort",
    kind="school",
    fields=("LAESTAB",),
    exact=True,
    params={"cohorts": dict},
    required=("cohorts",),
)
def count_differs_from_cohort(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A school that sent data has a number of pupils other than its expected cohort."""
    cohorts = _cohorts_of(rule, data.collection)
    submitted = data.schools.lazy().filter(pl.col("has_submission")).select("school_id")
    frames = []
    for cohort, ncyears in cohorts.items():
        pupils = data.pupils.lazy()
        if ncyears:
            pupils = pupils.filter(pl.col("ncyear").is_in(ncyears))
        received = pupils.group_by("school_id").agg(received=pl.len().cast(pl.Int64))
        expected = (
            data.cohorts.lazy()
            .filter(pl.col("cohort") == cohort)
            .group_by("school_id")
            .agg(expected=pl.col("expected").sum())
        )
        differing = (
            expected.join(submitted, on="school_id", how="semi")
            .join(received, on="school_id", how="left")
            .with_columns(pl.col("received").fill_null(0))
            .filter(pl.col("received") != pl.col("expected"))
        )
        label = f"{cohort}: " if len(cohorts) > 1 else ""
        value = pl.format(label + "received {}, expected {}", "received", "expected")
        frames.append(_for_school(differing, value))
    return _concat(frames)


@check(
    "expected_without_submission",
    kind="school",
    fields=("LAESTAB",),
    exact=True,
    params={"cohorts": dict},
    required=("cohorts",),
)
def expected_without_submission(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """An open school of the LA with an expected cohort sent nothing."""
    cohorts = list(_cohorts_of(rule, data.collection))
    expected = (
        data.cohorts.lazy()
        .filter(pl.col("cohort").is_in(cohorts))
        .group_by("school_id")
        .agg(expected=pl.col("expected").sum())
        .filter(pl.col("expected") > 0)
    )
    missing = expected.join(
        data.schools.lazy().filter(
            ~pl.col("has_submission")
            & pl.col("in_la")
            & (pl.col("status").str.to_lowercase() != "closed")
        ),
        on="school_id",
        how="inner",
    )
    return _for_school(missing, pl.format("expected {}", "expected"))


# ---------------------------------------------------------------------------------------------
# Results


@check("component_missing", kind="result")
def component_missing(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A pupil has no result for one of the components (one row per missing component)."""
    # One bit per component: OR-ing a pupil's bits finds the incomplete in one pass, with no
    # pupil-by-component join over every result row.
    bits = {component: 1 << index for index, component in enumerate(rule.fields)}
    complete = (1 << len(bits)) - 1
    present = (
        _latest_results(data, rule)
        .group_by("pupil_id")
        .agg(mask=pl.col("component").replace_strict(bits, return_dtype=pl.Int64).bitwise_or())
    )
    incomplete = (
        data.pupils.lazy()
        .select("pupil_id", "school_id")
        .join(present, on="pupil_id", how="left")
        .with_columns(pl.col("mask").fill_null(0))
        .filter(pl.col("mask") != complete)
    )
    components = pl.LazyFrame({"component": list(bits), "bit": list(bits.values())})
    missing = incomplete.join(components, how="cross").filter(
        (pl.col("mask") & pl.col("bit")) == 0
    )
    return _found(missing, pl.col("component"), pl.lit(""))


@check("all_or_none", kind="result", params={"value": str}, required=("value",))
def all_or_none(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """Some of a pupil's results are the value and others are not (one row per pupil)."""
    value = rule.params["value"]
    results = _latest_results(data, rule)
    counts = results.group_by("pupil_id").agg(
        matching=(pl.col("result") == value).sum(), other=(pl.col("result") != value).sum()
    )
    mixed = counts.filter((pl.col("matching") > 0) & (pl.col("other") > 0))
    listed = (
        results.join(mixed, on="pupil_id", how="semi")
        .filter(pl.col("result") == value)
        .group_by("pupil_id")
        .agg(pl.col("component").sort().str.join(" "), n=pl.len())
    )
    out_of = len(rule.fields)
    return _found(
        _with_school(listed, data),
        pl.col("component"),
        pl.format(f"{value} in {{}} of {out_of}", "n"),
    )


@check("result_unknown_code", kind="result", params={"ignore_integers": bool})
def result_unknown_code(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A result is not valid for any component of the collection in this year."""
    known = sorted(set().union(*_allowed_results(data).values()))
    wrong = _latest_results(data, rule).filter(~pl.col("result").is_in(known))
    if rule.params.get("ignore_integers"):
        # Marks and scores outside their range are reported by a range rule instead.
        wrong = wrong.filter(~_is_integer("result"))
    return _found(_with_school(wrong, data), pl.col("component"), pl.col("result"))


@check("result_wrong_component", kind="result", params={"except": list})
def result_wrong_component(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A result valid for some component of the collection is not valid for this one."""
    allowed = _allowed_results(data)
    known = sorted(set().union(*allowed.values()))
    excepted = list(rule.params.get("except", []))
    pairs = pl.LazyFrame(
        [(component, result) for component, results in allowed.items() for result in results],
        schema={"component": pl.String, "result": pl.String},
        orient="row",
    )
    wrong = (
        _latest_results(data, rule)
        .filter(pl.col("result").is_in(known) & ~pl.col("result").is_in(excepted))
        .join(pairs, on=["component", "result"], how="anti")
    )
    return _found(_with_school(wrong, data), pl.col("component"), pl.col("result"))


@check("result_in_values", kind="result", params={"values": list}, required=("values",))
def result_in_values(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """The result that counts for a component is one of the listed values."""
    values = list(rule.params["values"])
    wrong = _latest_results(data, rule).filter(pl.col("result").is_in(values))
    return _found(_with_school(wrong, data), pl.col("component"), pl.col("result"))


@check(
    "mark_out_of_range", kind="result", params={"min": int, "max": int}, required=("min", "max")
)
def mark_out_of_range(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A whole-number result is outside the range of marks."""
    low, high = rule.params["min"], rule.params["max"]
    marks = _latest_results(data, rule).filter(_is_integer("result"))
    # A number too long for an integer is out of range too: cast gives null for it.
    mark = pl.col("result").cast(pl.Int64, strict=False)
    wrong = marks.filter(mark.is_null() | ~mark.is_between(low, high))
    return _found(_with_school(wrong, data), pl.col("component"), pl.col("result"))


@check(
    "outcome_conflicts_with_mark",
    kind="result",
    params={"threshold": int, "met": str, "not_met": str},
    required=("threshold", "met", "not_met"),
)
def outcome_conflicts_with_mark(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """An outcome sent beside a mark says the opposite of the mark (uses every result row)."""
    threshold, met, not_met = (rule.params[k] for k in ("threshold", "met", "not_met"))
    marks = (
        _latest_results(data, rule)
        .filter(_is_integer("result"))
        .select("pupil_id", "component", mark=pl.col("result").cast(pl.Int64, strict=False))
    )
    outcomes = (
        data.results.lazy()
        .filter(
            pl.col("component").is_in(list(rule.fields))
            & pl.col("result").is_in([met, not_met])
        )
        .select("pupil_id", "component", outcome="result")
        .unique()
    )
    conflicts = outcomes.join(marks, on=["pupil_id", "component"], how="inner").filter(
        ((pl.col("outcome") == met) & (pl.col("mark") < threshold))
        | ((pl.col("outcome") == not_met) & (pl.col("mark") >= threshold))
    )
    value = pl.format("{} with mark {}", "outcome", "mark")
    return _found(_with_school(conflicts, data), pl.col("component"), value)


def _retake_candidates(data: CleaningData, rule: Rule) -> pl.LazyFrame:
    return data.pupils.lazy().filter(
        (pl.col("ncyear") == rule.params["ncyear"]) & ~_blank("upn")
    )


@check(
    "retake_after_met_standard",
    kind="pupil",
    fields=("UPN", "NCyearActual"),
    exact=True,
    params={"threshold": int, "ncyear": str},
    required=("threshold", "ncyear"),
)
def retake_after_met_standard(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A retake pupil's earlier result was a mark at or above the threshold."""
    earlier = (
        data.earlier_phonics.lazy()
        .filter(_is_integer("result"))
        .filter(pl.col("result").cast(pl.Int64, strict=False) >= rule.params["threshold"])
        .select("upn", earlier="result")
        .unique("upn")
    )
    wrong = _retake_candidates(data, rule).join(earlier, on="upn", how="inner")
    return _found(wrong, pl.lit("NCyearActual"), pl.format("Year 1 mark {}", "earlier"))


@check(
    "retake_without_earlier_record",
    kind="pupil",
    fields=("UPN", "NCyearActual"),
    exact=True,
    params={"ncyear": str},
    required=("ncyear",),
)
def retake_without_earlier_record(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A retake pupil has no earlier result (nothing when no earlier results are loaded)."""
    if data.earlier_phonics.height == 0:
        return empty_check_result()
    earlier = data.earlier_phonics.lazy().select("upn")
    wrong = _retake_candidates(data, rule).join(earlier, on="upn", how="anti")
    return _found(wrong, pl.lit("NCyearActual"), pl.col("ncyear"))


# ---------------------------------------------------------------------------------------------
# Context datasets: census, pupil premium, KS2 and KS4 results, extra fields


def _context_values(data: CleaningData, field: str) -> pl.LazyFrame:
    """A context field's values beside the pupil and school of their record."""
    _, frame, column = CONTEXT_FIELDS[field]
    rows = getattr(data, frame).lazy().select("pupil_id", pl.col(column).alias("value"))
    return rows.join(data.pupils.lazy().select("pupil_id", "school_id", "upn"), on="pupil_id",
                     how="inner")


@check(
    "main_registration_at_two_schools",
    kind="context",
    fields=("EnrolStatus",),
    exact=True,
    params={"statuses": list},
    required=("statuses",),
)
def main_registration_at_two_schools(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A UPN is on roll with one of the statuses (single or main registration) at two schools."""
    statuses = list(rule.params["statuses"])
    on_roll = _context_values(data, "EnrolStatus").filter(
        pl.col("value").is_in(statuses) & ~_blank("upn")
    )
    wrong = on_roll.with_columns(schools=pl.col("school_id").n_unique().over("upn")).filter(
        pl.col("schools") > 1
    )
    return _found(wrong, pl.lit("EnrolStatus"), pl.format("{} at {} schools", "value", "schools"))


@check("period_ends_before_start", kind="context", fields=("FSMstartDate", "FSMendDate"),
       exact=True)
def period_ends_before_start(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A free-school-meal period ends before it starts (one row per period)."""
    periods = data.fsm_periods.lazy().filter(pl.col("end") < pl.col("start")).join(
        data.pupils.lazy().select("pupil_id", "school_id"), on="pupil_id", how="inner"
    )
    value = pl.format("{} to {}", pl.col("start").cast(pl.String), pl.col("end").cast(pl.String))
    return _found(periods, pl.lit("FSMendDate"), value)


@check("context_in_values", kind="context", params={"values": list}, required=("values",))
def context_in_values(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A dataset field that is not empty holds a value outside the list."""
    allowed = list(rule.params["values"])
    frames = []
    for field in rule.fields:
        wrong = _context_values(data, field).filter(
            ~_blank("value") & ~pl.col("value").is_in(allowed)
        )
        frames.append(_found(wrong, pl.lit(field), pl.col("value")))
    return _concat(frames)


@check(
    "score_out_of_range",
    kind="context",
    params={"min_threshold": str, "max_threshold": str},
    required=("min_threshold", "max_threshold"),
)
def score_out_of_range(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A score is outside the range of the dataset's named thresholds (keystage.datasets)."""
    low = threshold(data.collection, rule.params["min_threshold"])
    high = threshold(data.collection, rule.params["max_threshold"])
    frames = []
    for field in rule.fields:
        wrong = _context_values(data, field).filter(
            pl.col("value").is_not_null() & ~pl.col("value").is_between(low, high)
        )
        frames.append(_found(wrong, pl.lit(field), pl.col("value")))
    return _concat(frames)


def _ks4_reference(year: int) -> pl.LazyFrame:
    pairs = [(qualification, subject, grade)
             for (qualification, subject), grades in ks4_grades(year).items()
             for grade in grades]
    return pl.LazyFrame(pairs, schema={"qualification": pl.String, "subject": pl.String,
                                       "grade": pl.String}, orient="row")


def _ks4_rows(data: CleaningData) -> pl.LazyFrame:
    return data.ks4.lazy().join(data.pupils.lazy().select("pupil_id", "school_id"),
                                on="pupil_id", how="inner")


@check("ks4_subject_unknown", kind="context", fields=("SUBJECT",), exact=True)
def ks4_subject_unknown(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A KS4 result's qualification and subject are not in the year's KS4 subject list."""
    known = _ks4_reference(data.year).select("qualification", "subject").unique()
    wrong = _ks4_rows(data).join(known, on=["qualification", "subject"], how="anti")
    return _found(wrong, pl.lit("SUBJECT"), pl.format("{} {}", "qualification", "subject"))


@check("ks4_grade_invalid", kind="context", fields=("GRADE",), exact=True)
def ks4_grade_invalid(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A KS4 result of a known subject has a grade that subject's qualification does not use."""
    reference = _ks4_reference(data.year)
    known = _ks4_rows(data).join(reference.select("qualification", "subject").unique(),
                                 on=["qualification", "subject"], how="semi")
    wrong = known.join(reference, on=["qualification", "subject", "grade"], how="anti")
    return _found(wrong, pl.lit("GRADE"), pl.format("{} {}", "subject", "grade"))


def _ks5_rows(data: CleaningData) -> pl.LazyFrame:
    return data.ks5.lazy().join(data.pupils.lazy().select("pupil_id", "school_id"),
                                on="pupil_id", how="inner")


@check("ks5_subject_unknown", kind="context", fields=("SUBJECTCODE",), exact=True)
def ks5_subject_unknown(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """An A or AS level result's subject is not one the DfE estimates value added for (the
    year's list, or the latest earlier one)."""
    from keystage.measures.ks5 import POINTS, subject_list

    known = subject_list(data.year).lazy().select("qualification", "subject")
    wrong = _ks5_rows(data).filter(pl.col("qualification").is_in(list(POINTS))).join(
        known, on=["qualification", "subject"], how="anti")
    return _found(wrong, pl.lit("SUBJECTCODE"), pl.format("{} {}", "qualification", "subject"))


@check("ks5_prior_missing", kind="context", fields=("PRIORAPS",), exact=True)
def ks5_prior_missing(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A student with A or AS level results has no KS4 prior attainment (so no value added)."""
    from keystage.measures.ks5 import POINTS

    rows = _ks5_rows(data).filter(pl.col("qualification").is_in(list(POINTS)))
    missing = rows.group_by("pupil_id", "school_id").agg(
        pl.col("prior_aps").is_null().all().alias("missing")).filter(pl.col("missing"))
    return _found(missing, pl.lit("PRIORAPS"), pl.lit(""))


@check("duplicate_upn_in_dataset", kind="pupil", fields=("UPN",), exact=True)
def duplicate_upn_in_dataset(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """The same UPN is on more than one record of the dataset, at one school or several."""
    upns = _upns(data).filter(~_blank("upn"))
    return _found(upns.filter(pl.len().over("upn") > 1), pl.lit("UPN"), pl.col("upn"))


@check("duplicate_field_for_pupil", kind="context", fields=("FIELD",), exact=True)
def duplicate_field_for_pupil(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """One UPN is given the same extra field on more than one row."""
    rows = _context_values(data, "FIELD").filter(~_blank("upn") & ~_blank("value"))
    return _found(rows.filter(pl.len().over("upn", "value") > 1), pl.lit("FIELD"),
                  pl.col("value"))


@check("not_in_census", kind="pupil", fields=("UPN",), exact=True, reads=("census_upns",))
def not_in_census(data: CleaningData, rule: Rule) -> pl.DataFrame:
    """A UPN is not on the LA's census of the year (nothing when no census is loaded)."""
    if data.census_upns.height == 0:
        return empty_check_result()
    wrong = _upns(data).filter(~_blank("upn")).join(data.census_upns.lazy(), on="upn",
                                                     how="anti")
    return _found(wrong, pl.lit("UPN"), pl.col("upn"))
