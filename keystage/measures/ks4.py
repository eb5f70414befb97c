"""KS4 measures (methods.md sections 1, 2 and 11.3) as pure polars over a year's results; no Django.

Input frames:
- results: one row per pupil and qualification: pupil_id, la, laestab, subject, grade (as the
  KS4 results file gives them; `slot` is read from keystage/formats/data/ks4_subjects.csv);
- priors: pupil_id, read, maths: KS2 reading and maths scaled scores of five years before.

`pupil_scores` gives, per pupil, the Attainment 8 slots (English, maths, three EBacc, three open,
with the subjects that filled them), A8, the KS2 prior and its group (PAG), the estimates, P8 and
its elements, the capped P8, EBacc entry and APS and the English and maths thresholds: the
working a pupil page shows. `ks4` turns it into the report's long rows (primary.PUPIL_SCHEMA).

Rules where the sources leave a choice are methods.md 11.3's: a subject entered twice counts once
at its better grade; U is an entry worth 0; English counts double only when both language and
literature are entered (the other may fill an open slot); combined science fills two slots at the
mean of its two grades; EBacc science entry is combined science or three of biology, chemistry,
physics and computer science.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from keystage.formats.ks4_subjects import ks4_subjects

DATA = Path(__file__).with_name("data")
ENGLISH = ("ENGLANG", "ENGLIT")
SINGLE_SCIENCES = ("BIOLOGY", "CHEMISTRY", "PHYSICS", "COMPSCI")
COMBINED_SCIENCE = "COMBSCI"
P8_MEASURES = ("p8", "p8_eng", "p8_mat", "p8_ebacc", "p8_open")
# Elements: the points of the element's slots, their estimate column and the divisor (1.5).
ELEMENTS = {"p8_eng": ("english_points", "english", 2), "p8_mat": ("maths_points", "maths", 2),
            "p8_ebacc": ("ebacc_points", "ebacc", 3), "p8_open": ("open_points", "open", 3)}
BANDS = (("well above", 0.5), ("above", 0.0))
# The columns of pupil_scores that name the subjects filling the slots.
NAMING = ("english_subject", "english_other_subject", "ebacc_subjects", "open_subjects")
# A national year (five million entries) is worked on in slices of this many results rows,
# and scored in batches of this many entries (each pupil's in one batch), so that the
# working copies stay a fraction of the whole.
SLICE = BATCH = 1 << 20


@dataclass(frozen=True)
class Estimates:
    """One year's Progress 8 reference data: the PAG table and the national SDs."""

    year: int
    version: str
    table: pl.DataFrame  # pag, ks2_low, ks2_high, a8, english, maths, ebacc, open
    sd: dict[str, float]  # p8, p8_eng, p8_mat, p8_ebacc, p8_open


def _rows(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


@cache
def estimates(year: int) -> Estimates | None:
    """The year's estimates, revised where the DfE revised them; None for a year with none
    (no P8 for 2025 and 2026: methods.md 1.8)."""
    versions = {r["version"] for r in _rows("ks4_p8_estimates.csv") if int(r["year"]) == year}
    if not versions:
        return None
    version = "revised" if "revised" in versions else "provisional"
    table = pl.DataFrame([
        {"pag": int(r["pag"]), **{k: float(r[k]) for k in ("ks2_low", "ks2_high", "a8",
                                                            "english", "maths", "ebacc", "open")}}
        for r in _rows("ks4_p8_estimates.csv")
        if int(r["year"]) == year and r["version"] == version]).sort("pag")
    [sd] = [r for r in _rows("ks4_p8_sd.csv") if int(r["year"]) == year
            and r["version"] == version]
    return Estimates(year, version, table, {k: float(sd[k]) for k in P8_MEASURES})


def _slots(year: int) -> dict[str, str]:
    return {s.subject: s.slot for s in ks4_subjects(year)}


def _lookup(column: pl.Series, worked: pl.Expr, dtype: pl.DataType) -> pl.Series:
    """`worked` (an expression on the column `value`) of every value of the column, worked out
    once per distinct value and looked up by the value's place among them: a national file
    repeats a few dozen subjects and grades five million times."""
    values = column.cast(pl.String)
    distinct = values.unique().drop_nulls()
    if distinct.is_empty():
        return pl.repeat(None, len(values), dtype=dtype, eager=True)
    found = pl.DataFrame({"value": distinct}).select(worked.cast(dtype)).to_series()
    return found.gather(values.cast(pl.Enum(distinct.to_list())).to_physical())


def _pools(year: int) -> dict[str, str]:
    """subject -> the pool whose slots it can fill: its slot, the EBacc ones as one."""
    return {s: "ebacc" if slot.startswith("ebacc") else slot for s, slot in _slots(year).items()}


def _slot_entries(results: pl.DataFrame, year: int) -> pl.DataFrame:
    """One row per slot-able entry: pupil (_pupil_key; 0 for no pupil), subject, points,
    pool (combined science twice), in order of pupil, points (best first) and subject.
    Subject and pool are enums, the subjects' in name order (as they sort).

    A national year's five million rows are worked on as one integer each, in numpy with
    its operations in place: the pupil above 24 bits that hold the subject (its enum place,
    16 bits) and the entry's place from the best (points are 0 to 9 in halves: 18 - 2 x
    points, 8 bits), in one order or the other. Sorting those integers orders the entries;
    numpy gives its large temporary arrays back as soon as they are freed, which keeps the
    peak low (issue 14: a national cohort in under 1 GB)."""
    slots = _slots(year)
    names = sorted(slots)
    pools = _pools(year)
    pool_names = list(dict.fromkeys(["english", "maths", "ebacc", "open", *pools.values()]))
    subject = pl.col("value").str.strip_chars().str.to_uppercase()
    grade = pl.col("value").str.strip_chars().str.to_uppercase()
    pair = grade.str.extract_all(r"\d")
    points = (pl.when(grade == "U").then(0.0)
              .when(grade.str.contains(r"^\d-\d$"))
              .then(pair.list.eval(pl.element().cast(pl.Float64)).list.mean())
              .when(grade.str.contains(r"^\d$")).then(grade.cast(pl.Float64))
              .otherwise(None))
    none = 2**16 - 1  # no subject of the year, or no grade that scores
    subjects = _lookup(results.get_column("subject"),
                       pl.when(subject.is_in(names)).then(subject).cast(pl.Enum(names)),
                       pl.Enum(names)).to_physical().cast(pl.UInt16).fill_null(none).to_numpy()
    places = _lookup(results.get_column("grade"), 18 - 2 * points, pl.UInt16).fill_null(
        none).to_numpy()
    scored = (subjects != none) & (places != none)
    subjects, places = subjects[scored], places[scored]
    key = _pupil_array(results)[scored]
    del scored
    # By pupil, subject and place: the same subject twice counts once, at the better grade.
    key <<= 24
    part = subjects.astype(np.uint64)
    part <<= 8
    key |= part
    key |= places
    del subjects, places, part
    key.sort()
    pupil_subject = key >> 8
    first = np.ones(len(key), dtype=bool)
    np.not_equal(pupil_subject[1:], pupil_subject[:-1], out=first[1:])
    del pupil_subject
    key = key[first]
    del first
    # By pupil, place and subject; combined science twice, side by side.
    ordered = key >> 24
    ordered <<= 24
    part = key & 0xFF
    part <<= 16
    ordered |= part
    np.right_shift(key, 8, out=part)
    part &= 0xFFFF
    ordered |= part
    del key, part
    if COMBINED_SCIENCE in names:
        ordered = np.concatenate(
            [ordered, ordered[(ordered & 0xFFFF) == names.index(COMBINED_SCIENCE)]])
    ordered.sort()
    subject_index = pl.Series((ordered & 0xFFFF).astype(np.uint32))
    place = pl.Series((ordered >> 16 & 0xFF).astype(np.uint8))
    ordered >>= 24
    return pl.DataFrame({
        "pupil": ordered,
        "subject": pl.Series(names, dtype=pl.Enum(names)).gather(subject_index),
        "points": (18 - place.cast(pl.Float64)) / 2,
        "pool": pl.Series([pools[n] for n in names], dtype=pl.Enum(pool_names)).gather(
            subject_index)})


def _pupil_key(results: pl.DataFrame) -> tuple[pl.Expr, bool]:
    """Each row's pupil as an integer below 2**40 (null for no pupil_id), and whether that is
    worked out row by row: pupil_id + 1 where the ids allow it (database ids do), else the
    ids' dense rank (the same on any rows that hold every pupil)."""
    ids = results.get_column("pupil_id")
    if ids.dtype.is_integer() and (ids.null_count() == len(ids)
                                   or (ids.min() >= 0 and ids.max() < 2**39)):
        return (pl.col("pupil_id").cast(pl.UInt64) + 1).alias("pupil"), True
    return pl.col("pupil_id").rank("dense").cast(pl.UInt64).alias("pupil"), False


def _pupil_array(results: pl.DataFrame) -> np.ndarray:
    """_pupil_key of every row (0 for no pupil) as a numpy array, made a slice at a time
    where it can be."""
    key, local = _pupil_key(results)
    key = key.fill_null(0)
    if not local:
        return results.select(key).to_series().to_numpy()
    out = np.empty(results.height, dtype=np.uint64)
    for start in range(0, results.height, SLICE):
        out[start:start + SLICE] = results.slice(start, SLICE).select(key).to_series().to_numpy()
    return out


def _entries(results: pl.DataFrame, year: int) -> pl.DataFrame:
    """_slot_entries with each row's pupil_id in place of its pupil."""
    key, _ = _pupil_key(results)
    ids = results.select(key.fill_null(0), "pupil_id").unique("pupil")
    entries = _slot_entries(results, year)
    return entries.join(ids, on="pupil", how="left", maintain_order="left").select(
        "pupil_id", "subject", "points", "pool")


def _rank(among: pl.Expr | None = None) -> pl.Expr:
    """Each row's place (0, 1, ...) among its pupil's rows (where `among` holds), in the
    frame's order; the frame has each pupil's rows together (as _slot_entries gives them)."""
    if among is None:
        before = pl.int_range(pl.len(), dtype=pl.UInt32)
    else:
        hits = among.cast(pl.UInt32)
        before = hits.cum_sum() - hits
    first = pl.col("pupil").ne_missing(pl.col("pupil").shift()) | (pl.int_range(pl.len()) == 0)
    return before - pl.when(first).then(before).forward_fill()


def _best(frame: pl.DataFrame, label: str, subjects: bool) -> pl.DataFrame:
    """Points, subjects (when asked for) and count per pupil of the rows given (a slot's best
    entries)."""
    named = [pl.col("subject").alias(f"{label}_subjects")] if subjects else []
    return frame.group_by("pupil").agg(
        pl.col("points").sum().alias(f"{label}_points"), *named,
        pl.len().alias(f"{label}_filled"))


def pupil_scores(results: pl.DataFrame, priors: pl.DataFrame | None, year: int, *,
                 subjects: bool = True) -> pl.DataFrame:
    """Every pupil's A8 slots, A8, EBacc and threshold measures, and (where the year has
    estimates and the pupil a KS2 prior) PAG, estimates, P8 and elements; one row per pupil.
    `subjects=False` leaves out the subjects that filled the slots (the four columns that
    name them), which the report's rows do not need."""
    pupils = results.select("pupil_id", "la", "laestab").filter(
        pl.col("pupil_id").is_first_distinct()).with_columns(_pupil_key(results)[0])
    entries = _slot_entries(results, year)
    order = entries["pupil"].to_numpy()
    cuts = sorted({0, len(order), *(int(np.searchsorted(order, order[at]))
                                    for at in range(BATCH, len(order), BATCH))})
    bounds = list(zip(cuts, cuts[1:], strict=False)) or [(0, 0)]
    slots = _ebacc_measures(pl.concat([
        _slot_scores(entries.slice(start, end - start), year, subjects)
        for start, end in bounds]))
    del entries, order
    both = pl.col("english_entries").fill_null(0) >= 2
    english, maths = pl.col("english_best"), pl.col("maths_best")
    scores = pupils.join(slots, on="pupil", how="left").with_columns(
        english_points=(pl.col("english_best").fill_null(0.0)
                        * pl.when(both).then(2.0).otherwise(1.0)),
        maths_points=pl.col("maths_best").fill_null(0.0) * 2.0,
        ebacc_points=pl.col("ebacc_points").fill_null(0.0),
        open_points=pl.col("open_points").fill_null(0.0),
        english_double=both,
        ebacc_entry=pl.col("ebacc_entry").fill_null(False),
        ebacc_aps=pl.col("ebacc_aps").fill_null(0.0),
        # Grade 4+ and 5+ in English (language or literature) and maths.
        em_4plus=((english >= 4) & (maths >= 4)).fill_null(False),
        em_5plus=((english >= 5) & (maths >= 5)).fill_null(False),
        **({"english_subject": pl.col("english_subject").cast(pl.String),
            "english_other_subject": pl.col("english_other_subject").cast(pl.String),
            "ebacc_subjects": pl.col("ebacc_subjects").cast(pl.List(pl.String)),
            "open_subjects": pl.col("open_subjects").cast(pl.List(pl.String))}
           if subjects else {}),
    )
    columns = [c for c in ("pupil_id", "la", "laestab", "english_entries", "english_best",
                           "english_subject", "english_other", "english_other_subject",
                           "maths_best", "ebacc_points", "ebacc_subjects", "ebacc_filled",
                           "open_points", "open_subjects", "open_filled", "english_points",
                           "maths_points", "english_double") if subjects or c not in NAMING]
    scores = scores.select(
        *columns, a8=pl.col("english_points") + pl.col("maths_points")
        + pl.col("ebacc_points") + pl.col("open_points"),
        ebacc_entry=pl.col("ebacc_entry"), ebacc_aps=pl.col("ebacc_aps"),
        em_4plus=pl.col("em_4plus"), em_5plus=pl.col("em_5plus"))
    return _progress(scores, priors, year)


def _slot_scores(entries: pl.DataFrame, year: int, subjects: bool) -> pl.DataFrame:
    """The slots of the pupils of some of _slot_entries's rows (all of each pupil's): one
    row per pupil with the English, maths, EBacc and open slots and the EBacc pillars."""
    pool = pl.col("pool")
    ranked = entries.with_columns(
        english_rank=_rank(pool == "english"), ebacc_rank=_rank(pool == "ebacc"))
    named = {"english_subject": pl.col("subject").first(),
             "english_other_subject": pl.when(pl.len() > 1).then(pl.col("subject").last())}
    eng = ranked.filter(pool == "english").group_by("pupil").agg(
        english_entries=pl.len(), english_best=pl.col("points").max(),
        english_other=pl.when(pl.len() > 1).then(pl.col("points").min()),
        **(named if subjects else {}))
    maths = entries.filter(pool == "maths").group_by("pupil").agg(
        maths_best=pl.col("points").max())
    ebacc_best = _best(ranked.filter((pool == "ebacc") & (pl.col("ebacc_rank") < 3)), "ebacc",
                       subjects)
    # The open slots: open subjects, EBacc ones beyond the best three and the English not
    # counted in the English slot (the second of two), already in order.
    open_pool = ranked.filter(
        (pool == "open") | ((pool == "ebacc") & (pl.col("ebacc_rank") >= 3))
        | ((pool == "english") & (pl.col("english_rank") == 1)))
    open_best = _best(open_pool.filter(_rank() < 3), "open", subjects)
    del ranked, open_pool
    return (entries.select(pl.col("pupil").unique(maintain_order=True))
            .join(eng, on="pupil", how="left").join(maths, on="pupil", how="left")
            .join(ebacc_best, on="pupil", how="left").join(open_best, on="pupil", how="left")
            .join(_ebacc(entries, year), on="pupil", how="left"))


def _ebacc(entries: pl.DataFrame, year: int) -> pl.DataFrame:
    """What EBacc entry and average point score (methods.md 2) are worked out from, per pupil
    with an English, maths or EBacc entry: _ebacc_measures."""
    slots = _slots(year)
    humanities = [s for s, slot in slots.items() if slot == "ebacc_humanities"]
    languages = [s for s, slot in slots.items() if slot == "ebacc_language"]
    subject, points = pl.col("subject"), pl.col("points")
    science = subject.is_in([*SINGLE_SCIENCES, COMBINED_SCIENCE])
    return entries.filter(pl.col("pool") != "open").with_columns(
        lang=pl.when(subject == "ENGLANG").then(points),
        lit=pl.when(subject == "ENGLIT").then(points),
        maths=pl.when(pl.col("pool") == "maths").then(points),
        humanity=pl.when(subject.is_in(humanities)).then(points),
        language=pl.when(subject.is_in(languages)).then(points),
        combined=subject == COMBINED_SCIENCE,
        single=science & (subject != COMBINED_SCIENCE),
        # The best two science entries (combined science is two).
        best_two=pl.when(science & (_rank(science) < 2)).then(points),
    ).group_by("pupil").agg(
        pl.col("lang", "lit", "maths", "humanity", "language").max(),
        pl.col("combined").any(), singles=pl.col("single").sum(),
        best_two=pl.col("best_two").sum())


PILLARS = ("lang", "lit", "maths", "humanity", "language", "combined", "singles", "best_two")


def _ebacc_measures(pillars: pl.DataFrame) -> pl.DataFrame:
    """EBacc entry and APS from _ebacc's pillars, worked out on one frame of every pupil with
    an entry (not batch by batch): polars divides a one-row frame exactly and a longer one by
    the reciprocal, which can differ in the last bit, so a batch of one pupil would not give
    the figure the whole frame gives."""
    science_entered = (pl.col("combined").fill_null(False)
                       | (pl.col("singles").fill_null(0) >= 3))
    both_english = pl.col("lang").is_not_null() & pl.col("lit").is_not_null()
    entered = (both_english & pl.col("maths").is_not_null() & science_entered
               & pl.col("humanity").is_not_null() & pl.col("language").is_not_null())
    aps = (pl.when(both_english).then(pl.max_horizontal("lang", "lit")).otherwise(0.0)
           + pl.col("maths").fill_null(0.0)
           + pl.when(science_entered).then(pl.col("best_two")).otherwise(0.0).fill_null(0.0)
           + pl.col("humanity").fill_null(0.0) + pl.col("language").fill_null(0.0)) / 6
    return pillars.with_columns(ebacc_entry=entered, ebacc_aps=aps).drop(PILLARS)


def _progress(scores: pl.DataFrame, priors: pl.DataFrame | None, year: int) -> pl.DataFrame:
    found = estimates(year)
    nulls = {c: pl.lit(None, pl.Float64) for c in ("ks2_prior", "a8_estimate", *P8_MEASURES)}
    if found is None or priors is None or priors.is_empty():
        return scores.with_columns(pag=pl.lit(None, pl.Int64), **nulls)
    prior = priors.select(
        "pupil_id", ks2_prior=(pl.col("read").cast(pl.Float64)
                               + pl.col("maths").cast(pl.Float64)) / 2).drop_nulls()
    table = found.table
    # A PAG's range is closed at its top: the first group whose top is not below the prior
    # (the last for a prior above every top). Searching the running maximum of the tops finds
    # that first group whatever their order.
    tops = pl.Series(np.maximum.accumulate(table["ks2_high"].to_numpy()))
    pag = (tops.search_sorted(prior["ks2_prior"], side="left").cast(pl.Int64) + 1).clip(
        upper_bound=len(tops))
    prior = prior.with_columns(pag=pl.when(pl.col("ks2_prior").is_nan()).then(None)
                               .otherwise(pag))
    groups = table.select("pag", a8_estimate="a8", est_english="english", est_maths="maths",
                          est_ebacc="ebacc", est_open="open")
    if prior["pupil_id"].is_duplicated().any():  # a pupil's row for each of their priors
        scores = scores.join(prior, on="pupil_id", how="left").join(groups, on="pag",
                                                                    how="left")
    else:  # the new columns worked out beside the pupils, without copying their others
        found = scores.select("pupil_id").join(prior, on="pupil_id", how="left",
                                               maintain_order="left").join(
            groups, on="pag", how="left", maintain_order="left")
        scores = scores.with_columns(found.drop("pupil_id"))
    element_scores = {
        code: (pl.col(points) - pl.col(f"est_{column}")) / divisor
        for code, (points, column, divisor) in ELEMENTS.items()}
    return scores.with_columns(p8=(pl.col("a8") - pl.col("a8_estimate")) / 10,
                               **element_scores)


def capped(scores: pl.DataFrame, caps: dict[int, float] | None = None) -> pl.DataFrame:
    """`p8_capped`: each pupil's P8, raised to their PAG's minimum where it is below it
    (methods.md 1.7). `caps` are published minima by PAG; without them they are worked out from
    the pupils given (every LA of the deployment), by the DfE's method: the z-score of P8 within
    the PAG, k the z of the pupil one per cent from the bottom, the cap k times the PAG's SD."""
    with_p8 = scores.select("pag", "p8").filter(pl.col("p8").is_not_null())
    if caps is None:
        caps = {}
        if with_p8.height >= 100:
            stats = with_p8.group_by("pag").agg(mu=pl.col("p8").mean(), sigma=pl.col("p8").std())
            z = with_p8.join(stats, on="pag").with_columns(
                z=(pl.col("p8") - pl.col("mu")) / pl.col("sigma")).filter(
                pl.col("z").is_not_null() & pl.col("z").is_finite())
            rank = round(z.height / 100)
            if rank >= 1:
                k = z["z"].sort()[rank - 1]
                caps = {r["pag"]: r["sigma"] * k for r in stats.iter_rows(named=True)
                        if r["sigma"] is not None}
    if not caps:
        return scores.with_columns(p8_capped=pl.col("p8"))
    floor = pl.col("pag").replace_strict(caps, default=None, return_dtype=pl.Float64)
    return scores.with_columns(p8_capped=pl.when(floor.is_not_null() & (pl.col("p8") < floor))
                               .then(floor).otherwise(pl.col("p8")))


def ks4(results: pl.DataFrame, priors: pl.DataFrame | None, year: int,
        caps: dict[int, float] | None = None) -> pl.DataFrame:
    """The report's long rows (primary.PUPIL_SCHEMA) for the KS4 measures of methods.md 11.3.
    The caps are worked out from the pupils given unless published minima are passed."""
    from keystage.measures.primary import PUPIL_SCHEMA

    scores = capped(pupil_scores(results, priors, year, subjects=False), caps)
    every = pl.lit(True)
    parts = [("a8", every, pl.col("a8")), ("ebacc_entry", every, pl.col("ebacc_entry")),
             ("ebacc_aps", every, pl.col("ebacc_aps")), ("em_4plus", every, pl.col("em_4plus")),
             ("em_5plus", every, pl.col("em_5plus"))]
    if estimates(year) is not None:
        has_prior = pl.col("p8").is_not_null()
        parts += [("p8", has_prior, pl.col("p8_capped"))]
        parts += [(code, has_prior, pl.col(code)) for code in ELEMENTS]
    order = {"a8": 0, "p8": 1, "p8_eng": 2, "p8_mat": 3, "p8_ebacc": 4, "p8_open": 5}
    parts.sort(key=lambda p: order.get(p[0], 9))
    # Each measure's rows share the pupils' columns: the parts are cast before they are put
    # together, which keeps them as chunks instead of ten copies of the pupils' columns.
    frames = [scores.select("pupil_id", "la", "laestab", measure=pl.lit(code),
                            counted=counted.fill_null(False),
                            value=value.cast(pl.Float64)).cast(PUPIL_SCHEMA)
              for code, counted, value in parts]
    return pl.concat(frames) if frames else pl.DataFrame(schema=PUPIL_SCHEMA)


def band(score: float, low: float, high: float) -> str:
    """The performance-table band of a progress score and its interval (methods.md 1.8)."""
    if low > 0:
        return "well above" if score > 0.5 else "above"
    if high < 0:
        return "well below" if score < -0.5 else "below"
    return "average"


def band_expr(score: str, low: str, high: str) -> pl.Expr:
    """`band` as an expression over columns of a score and its interval."""
    return (pl.when(pl.col(low) > 0).then(
                pl.when(pl.col(score) > 0.5).then(pl.lit("well above")).otherwise(pl.lit("above")))
            .when(pl.col(high) < 0).then(
                pl.when(pl.col(score) < -0.5).then(pl.lit("well below"))
                .otherwise(pl.lit("below")))
            .otherwise(pl.lit("average")))


def explain(results: pl.DataFrame, priors: pl.DataFrame | None, year: int) -> dict | None:
    """One pupil's working: each slot and what filled it, each entry left out and why, the
    prior, group, estimates, A8, P8 and elements (issue 14: every pupil's figure explained)."""
    if results.is_empty():
        return None
    [pupil] = pupil_scores(results, priors, year).to_dicts()
    slots = _slots(year)
    titles = {s.subject: s.title for s in ks4_subjects(year)}
    used: dict[str, int] = {}
    filled = []
    english = pupil.get("english_subject")
    if english:
        filled.append(("English", titles.get(english, english), pupil["english_points"],
                       "double: language and literature both entered" if
                       pupil["english_double"] else "single: only one English entered"))
        used[english] = used.get(english, 0) + 1
    if pupil.get("maths_best") is not None:
        filled.append(("Maths", titles.get("MATHS", "Maths"), pupil["maths_points"], "double"))
        used["MATHS"] = used.get("MATHS", 0) + 1
    best = dict(_entries(results, year).group_by("subject").agg(pl.col("points").max()).iter_rows())
    for label, key in (("EBacc", "ebacc_subjects"), ("Open", "open_subjects")):
        for subject in pupil.get(key) or []:
            points = best.get(subject, 0.0)
            filled.append((label, titles.get(subject, subject), points, ""))
            used[subject] = used.get(subject, 0) + 1
    left_out = []
    seen: dict[str, int] = {}
    order = pl.when(pl.col("grade") == "U").then(pl.lit("0")).otherwise(pl.col("grade"))
    for row in results.with_columns(_order=order).sort(
            ["subject", "_order"], descending=[False, True]).iter_rows(named=True):
        subject = str(row["subject"]).strip().upper()
        seen[subject] = seen.get(subject, 0) + 1
        if subject not in slots:
            left_out.append((subject, row["grade"], f"not a subject that counts in {year}"))
        elif seen[subject] > 1:
            left_out.append((titles.get(subject, subject), row["grade"],
                             "entered again: the better grade counts once"))
        elif used.get(subject, 0) == 0:
            left_out.append((titles.get(subject, subject), row["grade"],
                             "a lower score than every open slot already holds"))
    return {"slots": filled, "left_out": left_out, "a8": pupil["a8"],
            "ks2_prior": pupil.get("ks2_prior"), "pag": pupil.get("pag"),
            "a8_estimate": pupil.get("a8_estimate"),
            "progress": {code: pupil.get(code) for code in P8_MEASURES},
            "ebacc_entry": pupil["ebacc_entry"], "ebacc_aps": pupil["ebacc_aps"],
            "em_4plus": pupil["em_4plus"], "em_5plus": pupil["em_5plus"],
            "has_estimates": estimates(year) is not None}



EBACC_AREAS = ("science", "humanities", "languages")


@cache
def ebacc_va_estimates(year: int) -> tuple[pl.DataFrame, dict[str, float]] | None:
    """The year's EBacc subject VA estimates by PAG and their national SDs (revised where the
    DfE revised them), or None for a year with none."""
    rows = [r for r in _rows("ks4_ebacc_va_estimates.csv") if int(r["year"]) == year]
    if not rows:
        return None
    version = "revised" if any(r["version"] == "revised" for r in rows) else "provisional"
    table = pl.DataFrame([{"pag": int(r["pag"]), **{a: float(r[a]) for a in EBACC_AREAS}}
                          for r in rows if r["version"] == version])
    [sd] = [r for r in _rows("ks4_ebacc_va_sd.csv")
            if int(r["year"]) == year and r["version"] == version]
    return table, {a: float(sd[a]) for a in EBACC_AREAS}


def ebacc_subject_va(results: pl.DataFrame, priors: pl.DataFrame | None,
                     year: int) -> pl.DataFrame:
    """Each pupil's EBacc subject value added (methods.md 1.11), one row per pupil and area
    entered: pupil_id, laestab, area, score, estimate, va. Keystage's working scores: science
    the mean of the best two science entries (combined science counts twice at its mean; one
    entry alone counts), humanities the better of geography and history, languages the best
    language; the pupil is in an area's model when entered in it and has a KS2 prior."""
    empty = pl.DataFrame(schema={"pupil_id": pl.Int64, "laestab": pl.String, "area": pl.String,
                                 "score": pl.Float64, "estimate": pl.Float64,
                                 "va": pl.Float64})
    found = ebacc_va_estimates(year)
    if found is None or priors is None or priors.is_empty() or results.is_empty():
        return empty
    table, _ = found
    slots = _slots(year)
    area_of = {s: {"ebacc_science": "science", "ebacc_humanities": "humanities",
                   "ebacc_language": "languages"}.get(slot) for s, slot in slots.items()}
    entries = _entries(results, year).with_columns(
        area=pl.col("subject").replace_strict(area_of, default=None)).filter(
        pl.col("area").is_not_null())
    ranked = entries.sort("pupil_id", "area", "points",
                          descending=[False, False, True]).with_columns(
        rank=pl.int_range(pl.len()).over("pupil_id", "area"))
    # Science takes its best two entries, the other areas their best one.
    kept = ranked.filter(pl.col("rank") < pl.when(pl.col("area") == "science").then(2)
                         .otherwise(1))
    scores = kept.group_by("pupil_id", "area").agg(score=pl.col("points").mean())
    scores = scores.with_columns(pl.col("score").cast(pl.Float64))
    pags = pupil_scores(results, priors, year).select("pupil_id", "laestab", "pag").filter(
        pl.col("pag").is_not_null())
    long = table.unpivot(index="pag", on=list(EBACC_AREAS), variable_name="area",
                         value_name="estimate")
    joined = scores.join(pags, on="pupil_id").join(long, on=["pag", "area"])
    return joined.select("pupil_id", "laestab", "area", "score", "estimate",
                         va=pl.col("score") - pl.col("estimate")).cast(empty.schema)
