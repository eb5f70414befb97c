"""Find the pupils of a lost-pupils register among the pupils a load names, vectorised.

The register's pupils play the part of known pupils in `link_records` (their UPN and former UPN
as identifiers), the load's rows the part of records, so a changed UPN or a name variant is
found exactly as identity links any record. On top of that:
- a row of the school the pupil was lost from is no sighting (the old roll, not a new school);
- a lost pupil named by rows of two different children (two UPNs) on details alone is not
  found but queued, as is every near match;
- on details alone, a row whose UPN was issued (characters 9-10, the academic year of issue:
  formats.md section 3) before the year the pupil left is another child's: a lost pupil who
  is given a new UPN gets it from the school they join after leaving. Such a row is queued.

Frames (extra columns ignored):
- records: record_id Int64, upn, former_upns, surname, forename String, dob Date, sex, laestab
- lost:    lost_id Int64, upn, former_upn, surname, forename String, dob Date, sex, last_laestab,
           and optionally left_on Date
Returns (found, review): found has lost_id, record_id, method, score; review has lost_id,
record_id, score, reason.
"""

from __future__ import annotations

import polars as pl

from keystage.identity.link import link_records

FOUND_SCHEMA = {"lost_id": pl.Int64, "record_id": pl.Int64, "method": pl.String,
                "score": pl.Float64}
REVIEW_SCHEMA = {"lost_id": pl.Int64, "record_id": pl.Int64, "score": pl.Float64,
                 "reason": pl.String}
_METHOD_RANK = {"upn": 0, "former_upn": 1, "details": 2}
# Near matches an officer is asked about. Higher than identity's own review floor (0.80): a
# register is matched against whole national loads, where every lost pupil shares a birthday
# and a common surname with many children; from 0.90 a near match differs from the pupil by a
# typo, a swapped day and month or half a surname, not by being another child.
REVIEW_FROM = 0.90
_UPN_SHAPE = r"^[A-Z]\d{11}[0-9A-Z]$"


def find_lost(records: pl.DataFrame, lost: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The lost pupils the records name (found) and the near matches to review."""
    empty = (pl.DataFrame(schema=FOUND_SCHEMA), pl.DataFrame(schema=REVIEW_SCHEMA))
    if records.is_empty() or lost.is_empty():
        return empty
    lost = lost.with_columns(pl.col("lost_id").cast(pl.Int64))
    pupils = lost.select(pupil_id="lost_id", surname="surname", forename="forename", dob="dob",
                         sex="sex")
    identifiers = pl.concat([
        lost.select(pupil_id="lost_id", kind=pl.lit("upn"), value="upn"),
        lost.select(pupil_id="lost_id", kind=pl.lit("former_upn"), value="former_upn"),
    ])
    result = link_records(records, pupils, identifiers)
    where = records.select(pl.col("record_id").cast(pl.Int64), pl.col("laestab").cast(pl.String),
                           r_upn=pl.col("upn").fill_null("").str.strip_chars().str.to_uppercase())
    left_year = (pl.col("left_on").cast(pl.Date).dt.year() if "left_on" in lost.columns
                 else pl.lit(None, pl.Int32))
    left_from = lost.select("lost_id", pl.col("last_laestab").cast(pl.String),
                            left_year=left_year)

    def elsewhere(frame: pl.DataFrame) -> pl.DataFrame:
        return (frame.rename({"pupil_id": "lost_id"}).join(where, on="record_id")
                .join(left_from, on="lost_id")
                .filter(pl.col("laestab") != pl.col("last_laestab")))

    links = elsewhere(result.links.filter(pl.col("method") != "new"))
    # Two digits of the year: a year after the pupil left cannot have been issued yet, so it
    # is of the last century (UPNs began in 1999).
    yy = pl.col("r_upn").str.slice(8, 2).cast(pl.Int32, strict=False)
    issued = pl.when(yy <= pl.col("left_year") % 100 + 1).then(2000 + yy).otherwise(1900 + yy)
    too_old = ((pl.col("method") == "details") & pl.col("r_upn").str.contains(_UPN_SHAPE)
               & pl.col("left_year").is_not_null() & (issued < pl.col("left_year") - 1))
    earlier_upn = links.filter(too_old).select(
        "lost_id", "record_id", "score",
        reason=pl.lit("names and date of birth match, but the UPN was issued before the pupil "
                      "left: likely another child"))
    links = links.filter(~too_old)
    links = links.with_columns(rank=pl.col("method").replace_strict(_METHOD_RANK,
                                                                    return_dtype=pl.Int8))
    best_rank = links.group_by("lost_id").agg(pl.col("rank").min().alias("best"))
    links = links.join(best_rank, on="lost_id").filter(pl.col("rank") == pl.col("best"))
    # On details alone, rows of two children (two UPNs) naming one lost pupil decide nothing.
    children = links.group_by("lost_id").agg(
        pl.col("r_upn").n_unique().alias("children"), pl.col("best").first())
    doubtful = children.filter((pl.col("best") == _METHOD_RANK["details"])
                               & (pl.col("children") > 1))["lost_id"]
    found = (links.filter(~pl.col("lost_id").is_in(doubtful.implode()))
             .sort(["lost_id", "score", "record_id"], descending=[False, True, False])
             .unique("lost_id", keep="first", maintain_order=True)
             .select(list(FOUND_SCHEMA)).cast(FOUND_SCHEMA))
    ambiguous = (links.filter(pl.col("lost_id").is_in(doubtful.implode()))
                 .select("lost_id", "record_id", "score",
                         reason=pl.lit("several pupils match almost equally well")))
    review = (elsewhere(result.review).filter(pl.col("score") >= REVIEW_FROM)
              .select("lost_id", "record_id", "score", "reason"))
    review = (pl.concat([review.cast(REVIEW_SCHEMA), ambiguous.cast(REVIEW_SCHEMA),
                         earlier_upn.cast(REVIEW_SCHEMA)])
              .join(found.select("lost_id"), on="lost_id", how="anti")
              .sort(["lost_id", "score", "record_id"], descending=[False, True, False])
              .unique(["lost_id", "record_id"], keep="first", maintain_order=True))
    return found, review
