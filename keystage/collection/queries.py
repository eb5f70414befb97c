"""Reads of committed collection data: exports and completeness."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.db import connection
from django.db.models import FilteredRelation, Q

from keystage.collection.models import (
    ExpectedCohort,
    PupilRecord,
    Submission,
    SubmissionStatus,
)
from keystage.datasets import dataset
from keystage.formats.assessment_spec import collection_components
from keystage.schools.models import Establishment, LocalAuthority

DERIVED_COLUMNS = {
    "eyfsp": (("gld", "gld"), ("elgs_expected", "elgs_expected")),
    "phonics": (("met_standard", "phonics_met"),),
    "mtc": (("full_marks", "mtc_full_marks"),),
}
PUPIL_COLUMNS = ("laestab", "upn", "surname", "forename", "dob", "sex", "ncyear")


def result_columns(collection: str, year: int) -> list[str]:
    """The export's header: pupil columns, one per component, then the derived measures."""
    components = [c.component for c in collection_components(collection, year)]
    derived = [name for name, _ in DERIVED_COLUMNS.get(collection, ())]
    return [*PUPIL_COLUMNS, *components, *derived]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def iter_results(
    la: LocalAuthority, collection: str, year: int, *, schools=None, chunk: int = 5000
) -> Iterator[list[str]]:
    """One row per pupil of the current submissions, in school then UPN order, from one query.

    The pupils and their latest results come back joined (a left join, so a pupil with no
    result still has its row) and sorted by pupil; consecutive rows of one pupil are folded into
    its export row. One query, streamed, whatever the number of pupils.
    """
    components = [c.component for c in collection_components(collection, year)]
    derived = [field for _, field in DERIVED_COLUMNS.get(collection, ())]
    pupils = PupilRecord.objects.filter(
        la=la, collection=collection, year=year, submission__status=SubmissionStatus.CURRENT
    )
    if schools is not None:
        pupils = pupils.filter(school__in=schools)
    joined = pupils.annotate(
        latest=FilteredRelation("results", condition=Q(results__is_latest=True)),
    ).order_by("school__laestab", "school__urn", "upn", "line", "id").values_list(
        "id", "school__laestab", "school__urn", "upn", "surname", "forename", "dob", "sex",
        "ncyear", *derived, "latest__component", "latest__result",
    )

    def row_of(head: tuple, results: dict[str, str]) -> list[str]:
        _, laestab, urn, *details = head
        return [
            laestab or urn, *(_cell(v) for v in details[:6]),
            *(results.get(c, "") for c in components),
            *(_cell(v) for v in details[6:]),
        ]

    current_id = None
    head: tuple = ()
    results: dict[str, str] = {}
    # The joined rows repeat each pupil's fields once per result (17 for EYFSP): read them as
    # the database gives them, skipping the ORM's per-row converters, which cost more than the
    # query itself; `_cell` writes a date or a flag the same whichever form it arrives in.
    sql, params = joined.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk):
            for *pupil, component, result in rows:
                if pupil[0] != current_id:
                    if current_id is not None:
                        yield row_of(head, results)
                    current_id, head, results = pupil[0], tuple(pupil), {}
                if component is not None:
                    results[component] = result
    if current_id is not None:
        yield row_of(head, results)


def completeness(la: LocalAuthority, collection: str, year: int, schools=None) -> list[dict]:
    """Every school expected or received for a collection: expected against received."""
    expected_counts: dict[int, int] = defaultdict(int)
    for row in ExpectedCohort.objects.filter(
        la=la, year=year, collection__in=dataset(collection).cohort_codes
    ).values_list("school_id", "expected_count"):
        expected_counts[row[0]] += row[1]
    received = {
        row["school_id"]: row
        for row in Submission.objects.filter(
            la=la, collection=collection, year=year, status=SubmissionStatus.CURRENT
        ).values("school_id", "pupil_count", "submitted_at", "id")
    }
    school_ids = set(expected_counts) | set(received)
    schools_qs = Establishment.objects.filter(pk__in=school_ids)
    if schools is not None:
        schools_qs = schools_qs.filter(pk__in=schools.values("pk"))
    rows = []
    for school in schools_qs.order_by("name"):
        got = received.get(school.pk)
        exp = expected_counts.get(school.pk)
        rows.append({
            "school": school, "expected": exp, "received": got["pupil_count"] if got else 0,
            "last_submission": got["submitted_at"] if got else None,
            "submission_id": got["id"] if got else None,
            "missing": got is None, "differs": got is not None and exp is not None
            and got["pupil_count"] != exp,
        })
    return rows


def completeness_totals(rows: list[dict]) -> dict:
    """LA totals of a completeness table."""
    return {
        "schools_expected": sum(1 for r in rows if r["expected"] is not None),
        "schools_received": sum(1 for r in rows if not r["missing"]),
        "schools_missing": sum(1 for r in rows if r["missing"]),
        "pupils_expected": sum(r["expected"] or 0 for r in rows),
        "pupils_received": sum(r["received"] for r in rows),
    }



def uploads_in_flight(la) -> int:
    """Bytes of the LA's uploads on disk: queued, being imported or waiting for confirmation."""
    from pathlib import Path

    from django.conf import settings

    from keystage.jobs.models import Job

    root = Path(settings.MEDIA_ROOT)
    folders = set(
        Job.objects.filter(la=la, kind="import-files").values_list("params__folder", flat=True)
    )
    total = 0
    for relative in folders:
        folder = root / str(relative)
        if relative and folder.is_dir():
            total += sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return total


def lock_uploads_of(la) -> None:
    """Hold the LA's row until the transaction ends, so its uploads are checked one at a time."""
    from keystage.schools.models import LocalAuthority

    LocalAuthority.objects.select_for_update().filter(pk=la.pk).first()


# `export results --collection ks2`: the KS2 results file's columns (design.md), as stored.
KS2_RESULT_COLUMNS = ("READSCORE", "READOUTCOME", "MATSCORE", "MATOUTCOME", "GPSSCORE",
                      "GPSOUTCOME", "WRITTAOUTCOME", "SCITAOUTCOME")
_KS2_FIELDS = ("ks2__read_score", "ks2__read_outcome", "ks2__mat_score", "ks2__mat_outcome",
               "ks2__gps_score", "ks2__gps_outcome", "ks2__writ_ta_outcome",
               "ks2__sci_ta_outcome")


def ks2_result_columns() -> list[str]:
    """The header of the KS2 results export."""
    return [*PUPIL_COLUMNS, *KS2_RESULT_COLUMNS]


def iter_ks2_results(la: LocalAuthority, year: int) -> Iterator[list[str]]:
    """One row per pupil of the LA's current KS2 results, in school then UPN order."""
    rows = (PupilRecord.objects.filter(la=la, collection="ks2", year=year,
                                       submission__status=SubmissionStatus.CURRENT)
            .order_by("school__laestab", "school__urn", "upn", "line", "id")
            .values_list("school__laestab", "school__urn", "upn", "surname", "forename", "dob",
                         "sex", "ncyear", *_KS2_FIELDS))
    for laestab, urn, *rest in rows.iterator(chunk_size=5000):
        yield [laestab or urn, *(_cell(v) for v in rest)]
