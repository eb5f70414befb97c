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

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from keystage.identity.normalise import name_key, swapped_day_month

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
    records: pl.DataFrame, pupils: pl.DataFrame, identifiers: pl.DataFrame,
    occupied: pl.DataFrame | Callable[[list[int]], pl.DataFrame] | None = None,
) -> LinkResult:
    """Link every record to a known pupil or a new one, vectorised over the whole frame.

    With `occupied` (pupil_id, slot, upn: the records pupils already have, by dataset, year and
    term) and a `slot` column in records, a record is never linked on details to a pupil who
    already has a record of the same slot under another UPN: two children on the same census
    (or in the same results file) with the same names and birthday are two children. `occupied`
    may instead be a function giving those records of the pupils whose ids it is passed (or of
    every pupil, passed None): it is asked only about the pupils some record might match on
    details, or, for a large batch (HELD_FIRST_FROM), about every pupil before pairing.
    """
    slots = (records.select("record_id", slot=pl.col("slot").cast(pl.String))
             if occupied is not None and "slot" in records.columns else None)
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
    linked = pl.concat([by_upn, former])
    # 3. Names, date of birth and sex, for records no identifier placed.
    rest = records.join(linked.select("record_id"), on="record_id", how="anti")
    apart = None
    if slots is not None:
        def occupied_by(pupil_ids: list[int] | None) -> pl.DataFrame:
            found = occupied(pupil_ids) if callable(occupied) else occupied
            return found.select(pl.col("pupil_id").cast(pl.Int64),
                                pl.col("slot").cast(pl.String), o_upn=_clean_upn("upn"))
        apart = (slots, occupied_by)
    details, review = _match_details(rest, pupils.select(list(PUPIL_SCHEMA)).cast(PUPIL_SCHEMA),
                                     ids, apart)
    linked = pl.concat([linked, details]).with_columns(new_key=pl.lit(None, pl.Int64))
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
    return LinkResult(links.sort("record_id"), review.cast(REVIEW_SCHEMA).sort("record_id"))


# How sure a details match must be. Scores weigh surname 0.35, forename 0.30, date of birth
# 0.25 and sex 0.10 (names by Jaro-Winkler similarity of their normalised forms, the better of
# as given and swapped; a date exact 1, day and month transposed 0.9, one part different 0.6).
# Chosen on the synthetic world's planted variants (keystage/identity/tests): one typo or one
# half of a double-barrelled surname with everything else agreeing scores about 0.95-0.98; twins
# (same surname and date, another forename) about 0.75-0.85; so links are made from AUTO_LINK and
# anything from REVIEW_FROM waits for an officer.
AUTO_LINK = 0.93
REVIEW_FROM = 0.80
# A record that has a UPN of its own that no pupil has is linked on details only when they all
# agree: two children with the same name and birthday are likelier than a changed UPN.
AUTO_LINK_WITH_OTHER_UPN = 0.99
# The best candidate must beat the next by this much, or the record is ambiguous.
CLEAR_LEAD = 0.04
# Each name's similarity (or both, swapped) from which a pair can be a near match at all. The
# planted typos' names score 0.82 and more; two different forenames mostly score under it.
NAMES_NEAR = 0.80


def _similarity(left: pl.Series, right: pl.Series) -> pl.Series:
    from rapidfuzz.distance import JaroWinkler
    from rapidfuzz.process import cpdist

    if left.len() == 0:
        return pl.Series([], dtype=pl.Float64)
    scores = cpdist(left.to_list(), right.to_list(), scorer=JaroWinkler.normalized_similarity,
                    workers=1)
    return pl.Series(scores, dtype=pl.Float64)


SCORE_SLICE = 50_000
RECORD_SLICE = 10_000


def _near_matches(pairs: pl.DataFrame, r: pl.DataFrame, p: pl.DataFrame) -> pl.DataFrame:
    """The pairs (record_id, pupil_id) scored on names, date of birth and sex that could be
    linked or reviewed, with the record's UPN."""
    pairs = pairs.join(r, on="record_id").join(p, on="pupil_id")
    # A near match is one child written two ways: at most one of the names, the date of birth
    # and the sex not the same (counted first: it drops most pairs before any is scored), and
    # names that nearly agree as given or swapped. A child with the same surname and birthday
    # and another forename is a twin or a sibling; one with a like forename born a few days
    # apart is a classmate.
    names_same = (((pl.col("s0") == pl.col("p_s0")) & (pl.col("f0") == pl.col("p_f0")))
                  | ((pl.col("s0") == pl.col("p_f0")) & (pl.col("f0") == pl.col("p_s0"))))
    sex_differs = ((pl.col("sex") != "") & (pl.col("p_sex") != "")
                   & (pl.col("sex") != pl.col("p_sex")))
    pairs = pairs.filter((names_same.not_().cast(pl.Int8)
                          + (pl.col("dob") != pl.col("p_dob")).fill_null(True).cast(pl.Int8)
                          + sex_differs.fill_null(False).cast(pl.Int8)) <= 1)
    surname = _similarity(pairs["s0"], pairs["p_s0"])
    forename = _similarity(pairs["f0"], pairs["p_f0"])
    crossed = (_similarity(pairs["s0"], pairs["p_f0"])
               + _similarity(pairs["f0"], pairs["p_s0"])) / 2
    half = ((pairs["s"].str.split(" ").list.set_intersection(pairs["p_s"].str.split(" "))
             .list.len() > 0) & (pairs["s0"] != pairs["p_s0"])).cast(pl.Float64) * 0.97
    pairs = pairs.with_columns(
        surname=pl.max_horizontal(surname, half), forename=forename, crossed=crossed).filter(
        ((pl.col("surname") >= NAMES_NEAR) & (pl.col("forename") >= NAMES_NEAR))
        | (pl.col("crossed") >= NAMES_NEAR))
    dob = (pl.when(pl.col("dob") == pl.col("p_dob")).then(1.0)
           .when(pl.col("swapped") == pl.col("p_dob")).then(0.9)
           .when(((pl.col("dob").dt.year() == pl.col("p_dob").dt.year()).cast(pl.Int8)
                  + (pl.col("dob").dt.month() == pl.col("p_dob").dt.month()).cast(pl.Int8)
                  + (pl.col("dob").dt.day() == pl.col("p_dob").dt.day()).cast(pl.Int8)) == 2)
           .then(0.6).otherwise(0.0))
    sex = (pl.when((pl.col("sex") == "") | (pl.col("p_sex") == "")).then(0.5)
           .when(pl.col("sex") == pl.col("p_sex")).then(1.0).otherwise(0.0))
    names = pl.max_horizontal(0.35 * pl.col("surname") + 0.30 * pl.col("forename"),
                              0.65 * pl.col("crossed"))
    # A pair scoring under REVIEW_FROM - CLEAR_LEAD changes nothing below: as its record's
    # best it is neither linked nor reviewed, and as a runner-up it is more than CLEAR_LEAD
    # behind any best that could be. Dropping such pairs first leaves _match_details' clash
    # check (a database read of the candidates' records) to the near matches.
    return pairs.select("record_id", "pupil_id", "upn",
                        score=(names + 0.25 * dob + 0.10 * sex).round(4)).filter(
        pl.col("score") >= REVIEW_FROM - CLEAR_LEAD)


# From this many records left for details (a census chunk's new children, against the pupils
# the LA's earlier chunks made) the records the pupils already have in the batch's slots are
# read for every pupil, before pairing, not only for the near matches after scoring: a pupil
# whose record in a slot has another UPN than every record of that slot is no candidate for any
# of them, and in a large LA's first census that is nearly every pupil.
HELD_FIRST_FROM = 2_000


def _candidate_groups(r: pl.DataFrame, p: pl.DataFrame, slots: pl.DataFrame,
                      held: pl.DataFrame):
    """The records in groups, each with the pupils that can be its records' candidates: without
    those that another child's record in the slot (`held`: pupil_id, slot, o_upn) rules out for
    every record of the group. The clash check after scoring would drop those pairs anyway, so
    the links are the same; only fewer pairs are made."""
    in_slot = r.join(slots, on="record_id", how="left")
    # Records without a UPN (or a slot) clash with no one: every pupil is a candidate.
    open_records = in_slot.filter((pl.col("upn") == "") | pl.col("slot").is_null())
    if not open_records.is_empty():
        yield open_records.drop("slot"), p
    named = in_slot.filter((pl.col("upn") != "") & pl.col("slot").is_not_null())
    upns = held.filter(pl.col("o_upn") != "").group_by("pupil_id", "slot").agg(
        pl.col("o_upn").unique())
    for (slot,), group in named.group_by(["slot"], maintain_order=True):
        # Ruled out for every record of the group: another child's record in the slot under
        # two UPNs, or under one that no record of the group has.
        theirs = set(group["upn"].to_list())
        ruled_out = upns.filter(pl.col("slot") == slot).filter(
            (pl.col("o_upn").list.len() > 1)
            | ~pl.col("o_upn").list.first().is_in(list(theirs)))["pupil_id"]
        yield group.drop("slot"), p.filter(~pl.col("pupil_id").is_in(ruled_out.implode()))


def _match_details(records: pl.DataFrame, pupils: pl.DataFrame, ids: pl.DataFrame,
                   apart: tuple[pl.DataFrame, Callable[[list[int] | None], pl.DataFrame]]
                   | None = None
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Links by names, date of birth and sex, and the near matches to review."""
    empty_links = pl.DataFrame(schema={"record_id": pl.Int64, "pupil_id": pl.Int64,
                                       "method": pl.String, "score": pl.Float64})
    empty_review = pl.DataFrame(schema=REVIEW_SCHEMA)
    records = records.filter(pl.col("dob").is_not_null() & (pl.col("surname") != ""))
    if records.is_empty() or pupils.is_empty():
        return empty_links, empty_review

    def keyed(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            s=name_key("surname"), f=name_key("forename"),
            swapped=swapped_day_month("dob"), year=pl.col("dob").dt.year(),
        ).with_columns(s0=pl.col("s").str.replace_all(" ", ""),
                       f0=pl.col("f").str.replace_all(" ", ""),
                       sfirst=pl.col("s").str.split(" ").list.first(),
                       slast=pl.col("s").str.split(" ").list.last())

    r = keyed(records).select("record_id", "upn", "sex", "dob", "swapped", "year", "s", "f",
                              "s0", "f0", "sfirst", "slast")
    p = keyed(pupils).select("pupil_id", p_sex="sex", p_dob="dob", p_year="year", p_s="s",
                             p_f="f", p_s0="s0", p_f0="f0", p_sfirst="sfirst", p_slast="slast")
    # Blocks, narrow enough for a national year (3 million pupils share about 1,200 a birthday):
    # the same date of birth and surname or forename initial (or one's surname initial the
    # other's forename initial, for swapped names); day and month transposed; either half of a
    # double-barrelled surname with the date; the same surname with a date one part wrong.
    r = r.with_columns(si=pl.col("s0").str.slice(0, 1), fi=pl.col("f0").str.slice(0, 1),
                       month=pl.col("dob").dt.month(), day=pl.col("dob").dt.day())
    p = p.with_columns(p_si=pl.col("p_s0").str.slice(0, 1), p_fi=pl.col("p_f0").str.slice(0, 1),
                       p_month=pl.col("p_dob").dt.month(), p_day=pl.col("p_dob").dt.day())
    blocks = [
        (["dob", "si"], ["p_dob", "p_si"]), (["dob", "fi"], ["p_dob", "p_fi"]),
        (["dob", "si"], ["p_dob", "p_fi"]), (["swapped", "si"], ["p_dob", "p_si"]),
        (["dob", "sfirst"], ["p_dob", "p_sfirst"]), (["dob", "slast"], ["p_dob", "p_slast"]),
        (["s0", "year", "month"], ["p_s0", "p_year", "p_month"]),
        (["s0", "year", "day"], ["p_s0", "p_year", "p_day"]),
    ]
    # Paired and scored a slice of records at a time, and each slice's pairs a slice at a
    # time: a census chunk against a large LA's pupils gives millions of pairs before they
    # are made unique, and each slice keeps only its near matches (narrow).
    found = []
    r_scored = r.drop("si", "fi", "month", "day")
    p_scored = p.drop("p_si", "p_fi", "p_month", "p_day")
    held = None
    if apart is not None and r.height >= HELD_FIRST_FROM:
        held = apart[1](None)
    groups = [(r, p)] if held is None else _candidate_groups(r, p, apart[0], held)
    for some_records, some_pupils in groups:
        if some_pupils.is_empty():
            continue
        for start in range(0, some_records.height, RECORD_SLICE):
            some = some_records.slice(start, RECORD_SLICE)
            pairs = pl.concat([
                some.join(some_pupils, left_on=left, right_on=right, how="inner")
                .select("record_id", "pupil_id")
                for left, right in blocks
            ]).unique()
            found.extend(_near_matches(pairs.slice(first, SCORE_SLICE), r_scored, p_scored)
                         for first in range(0, pairs.height, SCORE_SLICE))
    if not found:
        return empty_links, empty_review
    scored = pl.concat(found)
    if apart is not None and not scored.is_empty():
        slots, occupied_by = apart
        candidates = scored["pupil_id"].unique().sort()
        occupied = (occupied_by(candidates.to_list()) if held is None
                    else held.filter(pl.col("pupil_id").is_in(candidates.implode())))
        clash = (scored.select("record_id", "pupil_id", "upn").join(slots, on="record_id")
                 .join(occupied, on=["pupil_id", "slot"])
                 .filter((pl.col("upn") != "") & (pl.col("o_upn") != "")
                         & (pl.col("upn") != pl.col("o_upn")))
                 .select("record_id", "pupil_id").unique())
        scored = scored.join(clash, on=["record_id", "pupil_id"], how="anti")
    known_upns = ids.select(pl.col("value").alias("upn")).unique()
    scored = scored.with_columns(
        other_upn=(pl.col("upn") != "")
        & ~pl.col("upn").is_in(known_upns["upn"].implode()))
    # The pupil's id breaks ties, so the candidate an officer sees does not vary run to run.
    ranked = scored.sort(["record_id", "score", "pupil_id"],
                         descending=[False, True, False]).with_columns(
        rank=pl.col("score").rank("ordinal", descending=True).over("record_id"),
        runner_up=pl.col("score").sort(descending=True).slice(1, 1).first().over("record_id"),
    )
    best = ranked.filter(pl.col("rank") == 1).with_columns(pl.col("runner_up").fill_null(0.0))
    clear = (pl.col("score") - pl.col("runner_up")) >= CLEAR_LEAD
    threshold = pl.when(pl.col("other_upn")).then(AUTO_LINK_WITH_OTHER_UPN).otherwise(AUTO_LINK)
    links = best.filter((pl.col("score") >= threshold) & clear).select(
        "record_id", "pupil_id", method=pl.lit("details"), score="score")
    # A record's own UPN that no pupil has is a difference in itself: with it, only a match
    # that would link without it (one near name, or the date or sex, apart) is worth a look.
    review_from = pl.when(pl.col("other_upn")).then(AUTO_LINK).otherwise(REVIEW_FROM)
    review = best.join(links.select("record_id"), on="record_id", how="anti").filter(
        pl.col("score") >= review_from
    ).select("record_id", "pupil_id", "score", reason=pl.when(~clear).then(
        pl.lit("two pupils match almost equally well")).when(pl.col("other_upn")).then(
        pl.lit("names and date of birth nearly match a pupil with another UPN")).otherwise(
        pl.lit("names, date of birth and sex nearly match")))
    return links, review


SOCIAL_CARE_LINK_SCHEMA = {"id": pl.Int64, "pupil_id": pl.Int64, "method": pl.String,
                           "score": pl.Float64}
# A UPN is a letter and 12 characters (formats.md section 3); anything else (the 903's UN1-UN10
# reason codes, blanks) never links.
_UPN_SHAPE = r"^[A-Z]\d{11}[0-9A-Z]$"


def link_social_care(children: pl.DataFrame, identifiers: pl.DataFrame, *,
                     child_kind: str) -> pl.DataFrame:
    """Link social care children to pupils by exact identifiers only, vectorised.

    children: id, child_id, upn, former_upn. identifiers: pupil_id, kind, value. In order: the
    child id kept from an earlier return of the same kind (`child_id`), the UPN (`upn`), the
    UPN as a pupil's former UPN or the child's former UPN as a pupil's UPN (`former_upn`). A
    value that names two pupils links no one. Returns id, pupil_id, method, score for the
    children linked.
    """
    # One lazy plan, collected once (polars has a fixed cost a call, most of the time here).
    ids = identifiers.lazy().select(list(IDENTIFIER_SCHEMA)).cast(IDENTIFIER_SCHEMA).with_columns(
        value=_clean_upn("value"))
    # Values that name exactly one pupil, by kind.
    unique = (ids.unique(["pupil_id", "kind", "value"])
              .group_by(["kind", "value"]).agg(pl.col("pupil_id").first(),
                                               pl.len().alias("_n"))
              .filter(pl.col("_n") == 1).drop("_n"))
    frame = children.lazy().select(
        pl.col("id").cast(pl.Int64),
        child=pl.col("child_id").cast(pl.String).fill_null("").str.strip_chars()
        .str.to_uppercase(),
        upn=_clean_upn("upn"), former=_clean_upn("former_upn"))
    frame = frame.with_columns(
        upn=pl.when(pl.col("upn").str.contains(_UPN_SHAPE)).then("upn").otherwise(pl.lit("")),
        former=pl.when(pl.col("former").str.contains(_UPN_SHAPE)).then("former")
        .otherwise(pl.lit("")))

    def by(column: str, kind: str, method: str) -> pl.LazyFrame:
        values = unique.filter(pl.col("kind") == kind).select("value", "pupil_id")
        return (frame.filter(pl.col(column) != "")
                .join(values, left_on=column, right_on="value", how="inner")
                .select("id", "pupil_id", method=pl.lit(method)))

    passes = [by("child", child_kind, "child_id"), by("upn", "upn", "upn"),
              by("upn", "former_upn", "former_upn"), by("former", "upn", "former_upn")]
    links = pl.concat(passes).unique("id", keep="first", maintain_order=True)
    return links.with_columns(score=pl.lit(1.0)).select(list(SOCIAL_CARE_LINK_SCHEMA)).cast(
        SOCIAL_CARE_LINK_SCHEMA).collect(engine="in-memory")
