"""Read what the rules need from the database into polars frames, a whole collection at once."""

from __future__ import annotations

import polars as pl

from keystage.cleaning.engine import (
    COHORTS_SCHEMA,
    EARLIER_PHONICS_SCHEMA,
    OTHERS_SCHEMA,
    PUPILS_SCHEMA,
    RESULTS_SCHEMA,
    SCHOOLS_SCHEMA,
    CleaningData,
)
from keystage.collection.models import AssessmentResult, ExpectedCohort, PupilRecord, Submission
from keystage.core.bulk import read_frame
from keystage.datasets import dataset
from keystage.schools.models import Establishment


def _table(model) -> str:
    return model._meta.db_table


_UPNS_PER_QUERY = 900  # under SQLite's oldest limit of 999 parameters per statement


def load_cleaning_data(la, collection: str, year: int) -> CleaningData:
    """Everything the rules read for one LA, collection and year."""
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
        f"SELECT e.id, COALESCE(CASE WHEN e.is_pvi THEN e.urn ELSE e.laestab END, e.urn), "  # noqa: S608
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
    # The UPNs go in as lists of constants, which both databases look up through the UPN index
    # whatever their statistics say (joins and subqueries were planned as whole-table scans
    # straight after a bulk load); skipped when the LA has no other records at all.
    upns = pupils.filter(pl.col("upn") != "")["upn"].unique().sort().to_list()
    has_others = PupilRecord.objects.filter(la=la).exclude(collection=collection,
                                                           year=year).exists()
    parts = [pl.DataFrame(schema=OTHERS_SCHEMA)]
    for start in range(0, len(upns) if has_others else 0, _UPNS_PER_QUERY):
        batch = upns[start:start + _UPNS_PER_QUERY]
        parts.append(read_frame(
            f"SELECT o.upn, o.surname, o.forename, CAST(o.dob AS TEXT), o.sex, "  # noqa: S608
            f"o.collection, o.year, "
            f"COALESCE(CASE WHEN e.is_pvi THEN e.urn ELSE e.laestab END, e.urn) "
            f"FROM {pupil} o JOIN {school} e ON e.id = o.school_id "
            f"WHERE o.upn IN ({', '.join(['%s'] * len(batch))}) AND o.la_id = %s "
            f"AND NOT (o.collection = %s AND o.year = %s)",
            (*batch, *scope), OTHERS_SCHEMA,
        ))
    others = pl.concat(parts)
    earlier = pl.DataFrame(schema=EARLIER_PHONICS_SCHEMA)
    if collection == "phonics":
        earlier = read_frame(
            f"SELECT p.upn, r.result FROM {result} r JOIN {pupil} p ON p.id = r.pupil_id "  # noqa: S608
            f"WHERE p.la_id = %s AND p.collection = 'phonics' AND p.year = %s "
            f"AND r.is_latest AND r.component = 'PSC' AND p.upn <> ''",
            (la.pk, year - 1), EARLIER_PHONICS_SCHEMA,
        )
    return CleaningData(
        collection=collection, year=year, pupils=pupils, results=results, schools=schools,
        cohorts=cohorts, others=others, earlier_phonics=earlier,
    )
