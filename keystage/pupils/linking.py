"""Link newly stored dataset rows to the LA's pupils, a whole batch at a time.

Called inside the import's transaction, after its pupil records are written: one read of the
new records, one of the LA's pupils and identifiers, the pure matcher
(keystage.identity.link_records), then one bulk insert each of new pupils, new identifiers and
review items, and one bulk update of the records' links. The import's own audit event covers
the links it makes; an LA officer's confirm, split and merge are audited actions of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl
from django.db import transaction
from django.utils import timezone

from keystage.collection.models import PupilRecord, Submission
from keystage.context.models import CensusDetail
from keystage.core.bulk import (
    allocate_ids,
    bulk_insert,
    bulk_insert_frame,
    bulk_update_by_pk,
    ids_param,
    one_of,
    read_frame,
    read_frame_in,
)
from keystage.identity.link import link_records
from keystage.pupils.locks import hold_pupil_identity
from keystage.pupils.models import LinkReview, Pupil, PupilIdentifier

# The columns the matcher reads of each record (also of records about to be written).
RECORD_SCHEMA = {"record_id": pl.Int64, "la_id": pl.Int64, "upn": pl.String,
            "former_upns": pl.String, "surname": pl.String, "forename": pl.String,
            "dob": pl.Date, "sex": pl.String, "slot": pl.String}
_OCCUPIED = {"pupil_id": pl.Int64, "slot": pl.String, "upn": pl.String}


def _slot_sql(record: str, submission: str) -> str:
    """A record's dataset, year and census term as one text key."""
    return (f"({record}.collection || ':' || CAST({record}.year AS TEXT) || ':' || "
            f"{submission}.term)")
_PUPILS = {"pupil_id": pl.Int64, "upn": pl.String, "surname": pl.String, "forename": pl.String,
           "dob": pl.Date, "sex": pl.String}
_IDENTIFIERS = {"pupil_id": pl.Int64, "kind": pl.String, "value": pl.String}


def _t(model) -> str:
    return model._meta.db_table


def _records(submission_ids: Sequence[int]) -> pl.DataFrame:
    return read_frame_in(
        f"SELECT p.id, p.la_id, p.upn, COALESCE(c.former_upn, ''), p.surname, "  # noqa: S608
        f"p.forename, CAST(p.dob AS TEXT), p.sex, {_slot_sql('p', 's')} "
        f"FROM {_t(PupilRecord)} p "
        f"JOIN {_t(Submission)} s ON s.id = p.submission_id "
        f"LEFT JOIN {_t(CensusDetail)} c ON c.record_id = p.id "
        "WHERE p.submission_id IN ({values}) AND p.pupil_id IS NULL",
        submission_ids, RECORD_SCHEMA)


def link_submissions(submission_ids: Sequence[int]) -> int:
    """Link the unlinked records of these submissions to pupils; returns records linked."""
    records = _records(submission_ids)
    total = 0
    for (la_id,), rows in records.group_by(["la_id"]):
        total += _link_la(la_id, rows)
    return total


LINKS = {"record_id": pl.Int64, "pupil_id": pl.Int64, "method": pl.String,
         "score": pl.Float64}


def link_new_records(records: pl.DataFrame) -> tuple[pl.DataFrame, Callable[[], None]]:
    """Link records about to be written, before they are: the pupil each is (new pupils and
    identifiers written now), so the records go in once, linked, with no update afterwards.

    `records` has the columns of RECORD_SCHEMA, `record_id` being the keys allocated for them.
    Returns the links (LINKS) and a function that writes the review queue once the records
    exist (its rows point at them).
    """
    links, reviews = [], []
    for (la_id,), rows in records.group_by(["la_id"]):
        la_links, review = _match_la(la_id, rows.cast(RECORD_SCHEMA))
        links.append(la_links.select(list(LINKS)).cast(LINKS))
        reviews.append((la_id, review))

    def write_reviews() -> None:
        for la_id, review in reviews:
            _write_review(la_id, review)

    return (pl.concat(links) if links else pl.DataFrame(schema=LINKS)), write_reviews


def link_unlinked_records(la) -> int:
    """Link every record of the LA that has no pupil yet (data loaded before identity existed)."""
    with transaction.atomic():
        hold_pupil_identity(la.pk)
        ids = list(PupilRecord.objects.filter(la=la, pupil__isnull=True)
                   .values_list("submission_id", flat=True).distinct())
        return link_submissions(ids)


def _link_la(la_id: int, records: pl.DataFrame) -> int:
    links, review = _match_la(la_id, records)
    bulk_update_by_pk(PupilRecord, ["pupil", "link_method", "link_score"],
                      links.select("record_id", "pupil_id", "method", "score").iter_rows())
    _write_review(la_id, review)
    return links.height


def _write_review(la_id: int, review: pl.DataFrame) -> None:
    if review.height:
        now = timezone.now()
        bulk_insert(LinkReview, ["la", "record", "candidate", "score", "reason", "status",
                                 "created_at"],
                    ((la_id, r, p, s, why[:200], "open", now)
                     for r, p, s, why in review.iter_rows()))


def _match_la(la_id: int, records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The pupil of each of an LA's records (links) and the matches left for an officer
    (review); new pupils, their identifiers and known pupils' newest details are written."""
    pupils = read_frame(
        f"SELECT id, upn, surname, forename, CAST(dob AS TEXT), sex "  # noqa: S608
        f"FROM {_t(Pupil)} WHERE la_id = %s", [la_id], _PUPILS)
    identifiers = read_frame(
        f"SELECT pupil_id, kind, value FROM {_t(PupilIdentifier)} WHERE la_id = %s",  # noqa: S608
        [la_id], _IDENTIFIERS)
    # The records pupils already have in the batch's slots: another child's record there under
    # another UPN keeps a details match off (identity.link_records). Read only for the pupils a
    # record might match on details: the slots of a whole LA hold tens of thousands.
    wanted = records["slot"].unique().to_list()
    marks = ", ".join(["%s"] * len(wanted))

    def occupied(pupil_ids: list[int] | None) -> pl.DataFrame:
        # The LA's current submissions of those slots first (a few hundred), then their records
        # of these pupils (tens of thousands of candidates in a large LA's chunk; None: of every
        # pupil) by two id lists, joined here: with no join in the SQL, PostgreSQL cannot choose
        # a nested loop over tables just loaded and not yet analysed (see core.bulk.one_of).
        submissions = read_frame(
            f"SELECT s.id, {_slot_sql('s', 's')} FROM {_t(Submission)} s "  # noqa: S608
            f"WHERE s.la_id = %s AND s.status = 'current' AND {_slot_sql('s', 's')} "
            f"IN ({marks})", [la_id, *wanted], {"submission_id": pl.Int64, "slot": pl.String})
        if pupil_ids is None:
            which, params = "p.pupil_id IS NOT NULL", []
        else:
            which, params = one_of("p.pupil_id"), [ids_param(pupil_ids)]
        found = read_frame(
            f"SELECT p.pupil_id, p.submission_id, p.upn FROM {_t(PupilRecord)} p "  # noqa: S608
            f"WHERE {one_of('p.submission_id')} AND {which}",
            [ids_param(submissions["submission_id"]), *params],
            {"pupil_id": pl.Int64, "submission_id": pl.Int64, "upn": pl.String})
        return found.join(submissions, on="submission_id").select(list(_OCCUPIED))

    result = link_records(records, pupils, identifiers, occupied)
    links = result.links

    # One new pupil per new_key, with the details of the record that started it.
    new = links.filter(pl.col("pupil_id").is_null())
    keys = new["new_key"].unique().sort()
    ids = allocate_ids(Pupil, keys.len())
    key_ids = pl.DataFrame({"new_key": keys, "new_id": pl.Series(ids, dtype=pl.Int64)})
    starters = records.join(key_ids, left_on="record_id", right_on="new_key", how="inner")
    now = timezone.now()
    # One CSV COPY a table, written by polars: no Python loop over a national year's pupils.
    bulk_insert_frame(Pupil, ["id", "la", "upn", "surname", "forename", "dob", "sex",
                              "created_at"],
                      starters.select("new_id", pl.lit(la_id, pl.Int64).alias("la"), "upn",
                                      "surname", "forename", "dob", "sex",
                                      pl.lit(now).alias("created_at")))
    links = links.join(key_ids, on="new_key", how="left").with_columns(
        pupil_id=pl.coalesce("pupil_id", "new_id"))
    linked = links.join(records, on="record_id", how="inner")

    # Identifiers the pupils do not have yet: the records' UPNs and former UPNs.
    current = linked.select("pupil_id", kind=pl.lit("upn"), value=pl.col("upn"))
    former = linked.select("pupil_id", pl.col("former_upns").str.split(" ").alias("value")
                           ).explode("value").select("pupil_id", kind=pl.lit("former_upn"),
                                                     value="value")
    wanted = (pl.concat([current, former]).with_columns(pl.col("value").str.strip_chars()
                                                        .str.to_uppercase())
              .filter(pl.col("value") != "").unique(maintain_order=True))
    fresh = wanted.join(identifiers, on=["pupil_id", "kind", "value"], how="anti")
    # A UPN another pupil already has (or another new pupil of this batch takes) is not given to
    # a pupil a record was linked to by details: it is that other child's, and GEN025 says so.
    taken = pl.concat([
        identifiers.filter(pl.col("kind") == "upn").select("pupil_id", "value"),
        linked.filter(pl.col("method") != "details").select("pupil_id", value="upn"),
    ]).unique()
    by_details = linked.filter(pl.col("method") == "details").select("pupil_id", value="upn")
    clashing = by_details.join(taken, on="value", suffix="_owner").filter(
        pl.col("pupil_id") != pl.col("pupil_id_owner")).select("pupil_id", "value").unique()
    fresh = fresh.join(clashing.with_columns(kind=pl.lit("upn")),
                       on=["pupil_id", "kind", "value"], how="anti")
    bulk_insert_frame(PupilIdentifier, ["pupil", "la", "kind", "value"],
                      fresh.select("pupil_id", pl.lit(la_id, pl.Int64).alias("la"), "kind",
                                   pl.col("value").str.slice(0, 40)))

    # Known pupils take the details of their newest record, so search finds them as they are now;
    # a detail the record leaves empty (a pupil premium file has no sex, a results row may have
    # no UPN) keeps the pupil's own.
    known = linked.filter(pl.col("new_id").is_null()).sort("record_id").unique(
        "pupil_id", keep="last")
    details = ["upn", "surname", "forename", "dob", "sex"]
    known = known.select("pupil_id", *details).join(
        pupils, on="pupil_id", how="left", suffix="_own").with_columns(
        pl.when(pl.col(c).cast(pl.String).fill_null("").str.strip_chars() == "")
        .then(pl.col(f"{c}_own")).otherwise(pl.col(c)).alias(c) for c in details)
    # Only the pupils whose details change: PostgreSQL writes a new version of every row an
    # UPDATE touches, changed or not (a CTF of known pupils changes almost none).
    known = known.filter(pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_own"))
                                           for c in details))
    bulk_update_by_pk(Pupil, details, known.select("pupil_id", *details).iter_rows())
    return links, result.review
