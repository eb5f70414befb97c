"""Reads of the context datasets for one LA and year, as frames keyed by pupil.

What methods.md 11.1 needs to derive a year's characteristics: the pupils with a census row or
a result that year, every census of theirs over the six years to the spring census (for FSM6),
their FSM periods and SEN needs, the pupil premium file and the results. A handful of whole-LA
reads (COPY out on PostgreSQL), never a query per pupil. Characteristics are derived from these
when they are read and kept (KeptCharacteristics) with the fingerprint of what they came from,
so a census, pupil premium or results file arriving or being replaced, in any order, is
reflected at once, with nothing to re-import, and an unchanged LA's are not derived again.
"""

from __future__ import annotations

import hashlib
import io

import polars as pl
from django.db import IntegrityError, transaction
from django.utils import timezone

from keystage.collection.models import PupilRecord, Submission
from keystage.context.models import (
    CensusDetail,
    FsmPeriod,
    KeptCharacteristics,
    PupilPremium,
    SenNeed,
)
from keystage.core.bulk import read_frame
from keystage.core.versions import source_digest
from keystage.pupils.models import Pupil, PupilIdentifier
from keystage.schools.queries import with_school_codes

# How many years of censuses FSM6 looks back over (methods.md 11.1).
FSM_LOOKBACK_YEARS = 6


def _t(model) -> str:
    return model._meta.db_table


def characteristic_sources(la, year: int, *, pupil_id: int | None = None
                           ) -> dict[str, pl.DataFrame]:
    """The frames methods.md 11.1 reads for an LA's pupils (or one pupil) in a year."""
    record, submission = _t(PupilRecord), _t(Submission)
    census, fsm, sen, pp = _t(CensusDetail), _t(FsmPeriod), _t(SenNeed), _t(PupilPremium)
    current = "s.status = 'current' AND s.la_id = %s" + (
        "" if pupil_id is None else " AND p.pupil_id = %s")
    scope = (la.pk,) if pupil_id is None else (la.pk, pupil_id)
    first = year - FSM_LOOKBACK_YEARS
    # A record's dataset and year are its submission's: said of both, so the planner picks the
    # LA's submissions of those datasets and years first (index on la, collection, year,
    # status) instead of every current submission of the LA (about 2x faster on a national
    # database with statistics).

    def of_dataset(code: str) -> str:
        return (f"p.collection = '{code}' AND s.collection = '{code}' "
                "AND p.year = %s AND s.year = %s")

    # Only the year's spring census and the columns derive_characteristics reads: the earlier
    # censuses count for FSM6 through their FSM periods alone (read below), and a pupil's
    # names and date of birth come from the pupil.
    censuses = with_school_codes(read_frame(
        f"SELECT p.id, p.pupil_id, p.school_id, p.year, s.term, p.ncyear, "  # noqa: S608
        f"c.enrol_status, c.ethnicity, c.first_language, c.sen_provision, c.adopted_from_care "
        f"FROM {record} p JOIN {submission} s ON s.id = p.submission_id "
        f"LEFT JOIN {census} c ON c.record_id = p.id "
        f"WHERE {current} AND {of_dataset('census')} AND s.term = 'SPR'", (*scope, year, year),
        {"record_id": pl.Int64, "pupil_id": pl.Int64, "school_id": pl.Int64, "year": pl.Int64,
         "term": pl.String, "ncyear": pl.String, "enrol_status": pl.String,
         "ethnicity": pl.String, "first_language": pl.String, "sen_provision": pl.String,
         "adopted_from_care": pl.String},
    ), la=None)
    fsm_periods = read_frame(
        f"SELECT f.record_id, p.pupil_id, CAST(f.start AS TEXT), CAST(f.\"end\" AS TEXT), "  # noqa: S608
        f"CAST(s.reference_date AS TEXT) FROM {fsm} f "
        f"JOIN {record} p ON p.id = f.record_id JOIN {submission} s ON s.id = p.submission_id "
        f"WHERE {current} AND p.collection = 'census' AND s.collection = 'census' "
        f"AND p.year BETWEEN %s AND %s AND s.year BETWEEN %s AND %s",
        (*scope, first, year, first, year),
        {"record_id": pl.Int64, "pupil_id": pl.Int64, "start": pl.Date, "end": pl.Date,
         "reference_date": pl.Date},
    )
    sen_needs = read_frame(
        f"SELECT n.record_id, p.pupil_id, n.sen_type, n.rank FROM {sen} n "  # noqa: S608
        f"JOIN {record} p ON p.id = n.record_id JOIN {submission} s ON s.id = p.submission_id "
        f"WHERE {current} AND {of_dataset('census')}", (*scope, year, year),
        {"record_id": pl.Int64, "pupil_id": pl.Int64, "sen_type": pl.String, "rank": pl.Int64},
    )
    premium = read_frame(
        f"SELECT p.pupil_id, CASE WHEN x.eligible THEN 1 WHEN NOT x.eligible THEN 0 END, "  # noqa: S608
        f"x.reason FROM {pp} x JOIN {record} p ON p.id = x.record_id "
        f"JOIN {submission} s ON s.id = p.submission_id "
        f"WHERE {current} AND {of_dataset('pp')}", (*scope, year, year),
        {"pupil_id": pl.Int64, "eligible": pl.Boolean, "reason": pl.String},
    )
    # Every other record of the year: results and assessments place a pupil with no census row.
    results = with_school_codes(read_frame(
        f"SELECT p.pupil_id, p.collection, p.school_id, p.ncyear, "  # noqa: S608
        f"CAST(s.submitted_at AS TEXT) "
        f"FROM {record} p JOIN {submission} s ON s.id = p.submission_id "
        f"WHERE {current} AND p.collection NOT IN ('census', 'pp', 'extra') "
        f"AND s.collection NOT IN ('census', 'pp', 'extra') AND p.year = %s AND s.year = %s",
        (*scope, year, year),
        {"pupil_id": pl.Int64, "dataset": pl.String, "school_id": pl.Int64,
         "ncyear": pl.String, "submitted": pl.String},
    ), la=None)
    pupils = read_frame(
        f"SELECT id, upn, surname, forename, CAST(dob AS TEXT), sex FROM {_t(Pupil)} "  # noqa: S608
        f"WHERE la_id = %s" + ("" if pupil_id is None else " AND id = %s"), scope,
        {"pupil_id": pl.Int64, "upn": pl.String, "surname": pl.String, "forename": pl.String,
         "dob": pl.Date, "sex": pl.String},
    )
    former = read_frame(
        f"SELECT pupil_id, value FROM {_t(PupilIdentifier)} "  # noqa: S608
        f"WHERE la_id = %s AND kind = 'former_upn'"
        + ("" if pupil_id is None else " AND pupil_id = %s") + " ORDER BY value", scope,
        {"pupil_id": pl.Int64, "value": pl.String},
    ).group_by("pupil_id").agg(former_upns=pl.col("value").str.join(" "))
    pupils = pupils.join(former, on="pupil_id", how="left").with_columns(
        pl.col("former_upns").fill_null(""))
    sources = {"pupils": pupils, "census": censuses, "fsm_periods": fsm_periods,
               "sen_needs": sen_needs, "pp": premium, "results": results}
    from keystage.socialcare.queries import care_sources

    for name, frame in care_sources(la, year).items():
        if pupil_id is not None and "pupil_id" in frame.columns:
            frame = frame.filter(pl.col("pupil_id") == pupil_id)
        sources[name] = frame
    return sources


def pupil_characteristics(la, year: int, *, pupil_id: int | None = None,
                          edits: dict | None = None) -> pl.DataFrame:
    """The LA's pupils of the year (or one pupil) with their characteristics (methods 11.1);
    the LA's whole year as kept while its files, edits and this code are unchanged.
    `edits`: figure_edits(), when the caller has read it."""
    from keystage.measures.characteristics import derive_characteristics

    if pupil_id is not None:
        return derive_characteristics(characteristic_sources(la, year, pupil_id=pupil_id), year)
    fingerprint = characteristics_fingerprint(la, year, edits=edits)
    kept = (KeptCharacteristics.objects.filter(la=la, year=year, fingerprint=fingerprint)
            .values_list("frame", flat=True).first())
    if kept is not None:
        return pl.read_parquet(io.BytesIO(bytes(kept)))
    frame = derive_characteristics(characteristic_sources(la, year), year)
    _keep(la, year, fingerprint, frame)
    return frame


def characteristics_fingerprint(la, year: int, *, edits: dict | None = None) -> str:
    """What an LA's characteristics of a year are derived from: its current files of the year
    (every dataset: results place a pupil with no census row) and censuses of the FSM6 years,
    its social care returns of the year, the edits that change figures without a file (its own
    and the register's), and the source of the code that derives them."""
    from django.db.models import Q

    from keystage.analysis.stored import figure_edits
    from keystage.socialcare.models import CareReturn

    files = sorted(Submission.objects.filter(
        Q(year=year) | Q(collection="census", year__gte=year - FSM_LOOKBACK_YEARS,
                         year__lte=year), la=la, status="current").values_list("pk", flat=True))
    care = sorted(CareReturn.objects.filter(la=la, year=year, status="current")
                  .values_list("pk", flat=True))
    edits = figure_edits() if edits is None else edits
    code = characteristics_code_digest()
    return hashlib.sha256(
        f"{year}:{files}:{care}:{edits.get(la.pk, 0)}:{edits.get(None, 0)}:{code}"
        .encode()).hexdigest()


# The modules that read and derive characteristics (their source is part of the fingerprint).
CHARACTERISTICS_CODE = ("keystage.context.queries", "keystage.measures.characteristics",
                        "keystage.socialcare.queries", "keystage.schools.queries")


def characteristics_code_digest() -> str:
    """The source of the code that reads and derives characteristics."""
    return source_digest(CHARACTERISTICS_CODE)


def _keep(la, year: int, fingerprint: str, frame: pl.DataFrame) -> None:
    """Keep an LA's characteristics; derived from files its audited loads wrote, so no audit
    row of their own (as the kept reports and national parts)."""
    buffer = io.BytesIO()
    # Parquet: half the bytes of compressed Arrow IPC for these text columns (dictionaries), so
    # it is written and read back faster through the database (LA 879: 91 against 128 ms to
    # keep, 15 against 40 ms to read).
    frame.write_parquet(buffer, compression="zstd")
    values = {"fingerprint": fingerprint, "frame": buffer.getvalue(),
              "computed_at": timezone.now()}
    try:
        with transaction.atomic():
            KeptCharacteristics.objects.update_or_create(la=la, year=year, defaults=values)
    except IntegrityError:
        # Another process kept the same LA's at the same moment: theirs serves.
        pass
