"""Read what the rules need from the database into polars frames, a whole dataset at once.

A statutory collection is read as it always was. A context dataset reads its pupil records and
schools, then only the frames its rules declare (engine.frames_needed), each in one SQL read over
the whole dataset: never a query per pupil. The census is read one term at a time
(census_term_to_clean: the spring census unless another term is asked for).
"""

from __future__ import annotations

import polars as pl

from keystage import datasets
from keystage.cleaning.engine import (
    CENSUS_SCHEMA,
    CENSUS_UPNS_SCHEMA,
    COHORTS_SCHEMA,
    EARLIER_PHONICS_SCHEMA,
    EXTRA_SCHEMA,
    FSM_PERIODS_SCHEMA,
    KS2_SCHEMA,
    KS4_SCHEMA,
    KS5_SCHEMA,
    OTHERS_SCHEMA,
    PP_SCHEMA,
    PUPILS_SCHEMA,
    RESULTS_SCHEMA,
    SCHOOLS_SCHEMA,
    UPN_OWNERS_SCHEMA,
    CleaningData,
    empty_cleaning_data,
    frames_needed,
)
from keystage.cleaning.ruleset import rule_set_for
from keystage.collection.models import AssessmentResult, ExpectedCohort, PupilRecord, Submission
from keystage.context.models import (
    CensusDetail,
    ExtraValue,
    FsmPeriod,
    Ks2Result,
    Ks4Result,
    Ks5Result,
    PupilPremium,
)
from keystage.core.bulk import ids_param, one_of, read_frame
from keystage.datasets import dataset
from keystage.schools.models import Establishment
from keystage.schools.queries import laestab_sql

# The census term the rules check unless asked for another: the spring census is the one the
# DfE's characteristics and the LA's reports use (keystage.datasets CENSUS.terms).
DEFAULT_CENSUS_TERM = "SPR"


def _table(model) -> str:
    return model._meta.db_table


_UPNS_PER_QUERY = 900  # under SQLite's oldest limit of 999 parameters per statement


def census_term_to_clean(la, year: int, term: str | None = None) -> str:
    """The census term to check: the one asked for, else spring, else the latest term loaded."""
    if term:
        if term not in datasets.CENSUS.terms:
            raise ValueError(f"unknown census term {term!r}; use one of "
                             f"{', '.join(datasets.CENSUS.terms)}")
        return term
    loaded = set(Submission.objects.filter(la=la, collection="census", year=year,
                                           status="current").values_list("term", flat=True))
    if DEFAULT_CENSUS_TERM in loaded or not loaded:
        return DEFAULT_CENSUS_TERM
    return [t for t in datasets.CENSUS.terms if t in loaded][-1]


def load_cleaning_data(la, collection: str, year: int, term: str = "") -> CleaningData:
    """Everything the rules read for one LA, dataset and year (and census term)."""
    if collection not in datasets.COLLECTION_CODES:
        return _load_context_data(la, collection, year, term)
    pupil = _table(PupilRecord)
    result = _table(AssessmentResult)
    school = _table(Establishment)
    submission = _table(Submission)
    cohort = _table(ExpectedCohort)
    scope = (la.pk, collection, year)
    pupils = read_frame(
        f"SELECT p.id, p.school_id, p.upn, p.surname, p.forename, CAST(p.dob AS TEXT), "  # noqa: S608
        f"p.dob_text, p.sex, p.ncyear FROM {pupil} p "
        f"WHERE p.la_id = %s AND p.collection = %s AND p.year = %s",
        scope, PUPILS_SCHEMA,
    )
    results = read_frame(
        f"SELECT r.pupil_id, r.component, r.result, CASE WHEN r.is_latest THEN 1 ELSE 0 END "  # noqa: S608
        f"FROM {result} r JOIN {pupil} p ON p.id = r.pupil_id "
        f"WHERE p.la_id = %s AND p.collection = %s AND p.year = %s AND r.status = 'R'",
        scope, RESULTS_SCHEMA,
    )
    # The LA's open schools, every school with a current submission, and any school a pupil
    # row points at (one since moved to another LA, say).
    schools = read_frame(
        f"SELECT e.id, {laestab_sql('e')}, "  # noqa: S608
        f"e.name, CASE WHEN e.is_pvi THEN 1 ELSE 0 END, LOWER(e.status), "
        f"CASE WHEN e.la_id = %s THEN 1 ELSE 0 END, "
        f"CASE WHEN EXISTS (SELECT 1 FROM {submission} s WHERE s.school_id = e.id "
        f"AND s.la_id = %s AND s.collection = %s AND s.year = %s AND s.status = 'current') "
        f"THEN 1 ELSE 0 END "
        f"FROM {school} e WHERE (e.la_id = %s AND LOWER(e.status) NOT LIKE 'closed%%') "
        f"OR e.id IN (SELECT s.school_id FROM {submission} s WHERE s.la_id = %s "
        f"AND s.collection = %s AND s.year = %s AND s.status = 'current')",
        (la.pk, *scope, la.pk, *scope), SCHOOLS_SCHEMA,
    )
    names = dataset(collection).cohort_codes
    marks = ", ".join(["%s"] * len(names))
    cohorts = read_frame(
        f"SELECT c.school_id, c.collection, c.expected_count FROM {cohort} c "  # noqa: S608
        f"WHERE c.la_id = %s AND c.year = %s AND c.collection IN ({marks})",
        (la.pk, year, *names), COHORTS_SCHEMA,
    )
    # Other records are found through the pupil each record is linked to (keystage.pupils), so
    # a pupil whose UPN changed is still compared with their earlier records, and by UPN. Either
    # way the keys go in as lists of constants, which both databases look up through an index
    # whatever their statistics say (joins and subqueries were planned as whole-table scans
    # straight after a bulk load); skipped when the LA has no other records at all.
    linked = read_frame(
        f"SELECT p.upn, p.pupil_id FROM {pupil} p "  # noqa: S608
        f"WHERE p.la_id = %s AND p.collection = %s AND p.year = %s AND p.upn <> '' "
        f"AND p.pupil_id IS NOT NULL", scope, {"upn": pl.String, "person": pl.Int64},
    ).unique()
    # By UPN as well: a record carrying another child's UPN (linked to its own pupil by name
    # and date of birth) is then compared with that child's records, and the clash shows.
    upns = sorted(set(pupils.filter(pl.col("upn") != "")["upn"].to_list()))
    persons = linked["person"].unique().sort().to_list()
    has_others = PupilRecord.objects.filter(la=la).exclude(collection=collection,
                                                           year=year).exists()
    columns = (f"o.surname, o.forename, CAST(o.dob AS TEXT), o.sex, o.collection, o.year, "
               f"{laestab_sql('e')} "
               f"FROM {pupil} o JOIN {school} e ON e.id = o.school_id")
    parts = [pl.DataFrame(schema=OTHERS_SCHEMA)]
    by_person = {"person": pl.Int64, **{k: v for k, v in OTHERS_SCHEMA.items() if k != "upn"}}
    for start in range(0, len(persons) if has_others else 0, _UPNS_PER_QUERY):
        batch = persons[start:start + _UPNS_PER_QUERY]
        found = read_frame(
            f"SELECT o.pupil_id, {columns} "  # noqa: S608
            f"WHERE o.pupil_id IN ({', '.join(['%s'] * len(batch))}) AND o.la_id = %s "
            f"AND NOT (o.collection = %s AND o.year = %s)",
            (*batch, *scope), by_person,
        )
        parts.append(found.join(linked, on="person").select(list(OTHERS_SCHEMA)))
    for start in range(0, len(upns) if has_others else 0, _UPNS_PER_QUERY):
        batch = upns[start:start + _UPNS_PER_QUERY]
        parts.append(read_frame(
            f"SELECT o.upn, {columns} "  # noqa: S608
            f"WHERE o.upn IN ({', '.join(['%s'] * len(batch))}) AND o.la_id = %s "
            f"AND NOT (o.collection = %s AND o.year = %s)",
            (*batch, *scope), OTHERS_SCHEMA,
        ))
    others = pl.concat(parts).unique(maintain_order=True)
    earlier = pl.DataFrame(schema=EARLIER_PHONICS_SCHEMA)
    if collection == "phonics":
        last_year = read_frame(
            f"SELECT p.upn, p.pupil_id, r.result FROM {result} r "  # noqa: S608
            f"JOIN {pupil} p ON p.id = r.pupil_id "
            f"WHERE p.la_id = %s AND p.collection = 'phonics' AND p.year = %s "
            f"AND r.is_latest AND r.component = 'PSC'",
            (la.pk, year - 1), {"upn": pl.String, "person": pl.Int64, "result": pl.String},
        )
        # Last year's result under this year's UPN of the same pupil, else under its own UPN.
        through_pupil = last_year.join(linked.rename({"upn": "now"}), on="person",
                                       how="left")
        earlier = (through_pupil.select(upn=pl.coalesce("now", "upn"), result="result")
                   .filter(pl.col("upn") != "").unique(maintain_order=True)
                   .cast(EARLIER_PHONICS_SCHEMA))
    upn_owners = _upn_owners(scope)
    return CleaningData(
        collection=collection, year=year, pupils=pupils, results=results, schools=schools,
        cohorts=cohorts, others=others, earlier_phonics=earlier, upn_owners=upn_owners,
    )


def _upn_owners(scope) -> pl.DataFrame:
    """Records in scope whose UPN is the UPN of a pupil other than the one they are linked to."""
    from keystage.pupils.models import Pupil, PupilIdentifier

    return read_frame(
        f"SELECT p.id, o.surname, o.forename FROM {_table(PupilRecord)} p "  # noqa: S608
        f"JOIN {_table(PupilIdentifier)} i ON i.la_id = p.la_id AND i.value = p.upn "
        f"AND i.kind = 'upn' JOIN {_table(Pupil)} o ON o.id = i.pupil_id "
        f"WHERE p.la_id = %s AND p.collection = %s AND p.year = %s AND p.upn <> '' "
        f"AND p.pupil_id IS NOT NULL AND i.pupil_id <> p.pupil_id",
        scope, UPN_OWNERS_SCHEMA,
    )


# The context frames: each one SQL read of the dataset's own table for every record in scope.
_CONTEXT_READS = {
    "census": (CensusDetail, "d.enrol_status", CENSUS_SCHEMA),
    "fsm_periods": (FsmPeriod, "CAST(d.start AS TEXT), CAST(d.\"end\" AS TEXT)",
                    FSM_PERIODS_SCHEMA),
    "pp": (PupilPremium, "CASE WHEN d.eligible IS NULL THEN NULL WHEN d.eligible THEN 1 "
           "ELSE 0 END, d.reason", PP_SCHEMA),
    "ks2": (Ks2Result, "d.read_score, d.mat_score, d.gps_score", KS2_SCHEMA),
    "ks4": (Ks4Result, "d.row, d.qualification, d.subject, d.grade", KS4_SCHEMA),
    "ks5": (Ks5Result, "d.row, d.qualification, d.subject, d.grade, d.prior_aps", KS5_SCHEMA),
    "extra": (ExtraValue, "d.field, d.value", EXTRA_SCHEMA),
}


def _load_context_data(la, collection: str, year: int, term: str) -> CleaningData:
    """A context dataset's records, schools and the frames its rules read."""
    if collection == "census":
        term = census_term_to_clean(la, year, term or None)
    else:
        term = ""
    pupil, submission = _table(PupilRecord), _table(Submission)
    school = _table(Establishment)
    # Records of current submissions only (a replaced file's records are gone already), of the
    # census term being checked. The submissions are read first (a few hundred at most): see
    # one_of for why they are not a subquery.
    current = Submission.objects.filter(la=la, collection=collection, year=year, term=term,
                                        status="current").values_list("pk", flat=True)
    in_scope = (f"p.la_id = %s AND p.collection = %s AND p.year = %s AND "
                f"{one_of('p.submission_id')}")
    scope = (la.pk, collection, year, ids_param(current))
    data = empty_cleaning_data(collection, year, term)
    frames = {}
    frames["pupils"] = read_frame(
        f"SELECT p.id, p.school_id, p.upn, p.surname, p.forename, CAST(p.dob AS TEXT), "  # noqa: S608
        f"p.dob_text, p.sex, p.ncyear FROM {pupil} p WHERE {in_scope}",
        scope, PUPILS_SCHEMA,
    )
    frames["schools"] = read_frame(
        f"SELECT e.id, {laestab_sql('e')}, "  # noqa: S608
        f"e.name, CASE WHEN e.is_pvi THEN 1 ELSE 0 END, LOWER(e.status), "
        f"CASE WHEN e.la_id = %s THEN 1 ELSE 0 END, "
        f"CASE WHEN EXISTS (SELECT 1 FROM {submission} s WHERE s.school_id = e.id "
        f"AND s.la_id = %s AND s.collection = %s AND s.year = %s AND s.term = %s "
        f"AND s.status = 'current') THEN 1 ELSE 0 END "
        f"FROM {school} e WHERE e.id IN (SELECT p.school_id FROM {pupil} p WHERE {in_scope})",
        (la.pk, la.pk, collection, year, term, *scope), SCHOOLS_SCHEMA,
    )
    needed = frames_needed(rule_set_for(year).for_collection(collection))
    for name in sorted(needed & set(_CONTEXT_READS)):
        model, columns, schema = _CONTEXT_READS[name]
        frames[name] = read_frame(
            f"SELECT d.record_id, {columns} FROM {_table(model)} d "  # noqa: S608
            f"JOIN {pupil} p ON p.id = d.record_id WHERE {in_scope}",
            scope, schema,
        )
    if "census_upns" in needed:
        # Any term's census of the year: a pupil on roll in autumn or summer is the LA's too.
        frames["census_upns"] = read_frame(
            f"SELECT DISTINCT p.upn FROM {pupil} p WHERE p.la_id = %s "  # noqa: S608
            f"AND p.collection = 'census' AND p.year = %s AND p.upn <> ''",
            (la.pk, year), CENSUS_UPNS_SCHEMA,
        )
    for name, frame in frames.items():
        setattr(data, name, frame)
    return data
