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
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

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


def _entries(results: pl.DataFrame, year: int) -> pl.DataFrame:
    """One row per slot-able entry: pupil_id, subject, pool, points (combined science twice)."""
    slots = _slots(year)
    grade = pl.col("grade").cast(pl.String).str.strip_chars().str.to_uppercase()
    subject = pl.col("subject").cast(pl.String).str.strip_chars().str.to_uppercase()
    frame = results.select("pupil_id", subject=subject, grade=grade).filter(
        pl.col("subject").is_in(list(slots)))
    pair = pl.col("grade").str.extract_all(r"\d")
    points = (pl.when(pl.col("grade") == "U").then(0.0)
              .when(pl.col("grade").str.contains(r"^\d-\d$"))
              .then(pair.list.eval(pl.element().cast(pl.Float64)).list.mean())
              .when(pl.col("grade").str.contains(r"^\d$")).then(pl.col("grade").cast(pl.Float64))
              .otherwise(None))
    frame = frame.with_columns(points=points).filter(pl.col("points").is_not_null())
    # The same subject twice counts once, at the better grade.
    frame = frame.sort("points", descending=True).unique(["pupil_id", "subject"], keep="first")
    pool = pl.col("subject").replace_strict(slots, default="open")
    frame = frame.with_columns(pool=pl.when(pool.str.starts_with("ebacc")).then(pl.lit("ebacc"))
                               .otherwise(pool))
    combined = frame.filter(pl.col("subject") == COMBINED_SCIENCE)
    return pl.concat([frame, combined]).sort("pupil_id", "points", "subject",
                                             descending=[False, True, False])


def _top(frame: pl.DataFrame, n: int, label: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The n best entries per pupil (points and subjects), and the rest."""
    ranked = frame.with_columns(rank=pl.int_range(pl.len()).over("pupil_id"))
    best = ranked.filter(pl.col("rank") < n).group_by("pupil_id").agg(
        pl.col("points").sum().alias(f"{label}_points"),
        pl.col("subject").alias(f"{label}_subjects"),
        pl.len().alias(f"{label}_filled"))
    return best, ranked.filter(pl.col("rank") >= n).drop("rank")


def pupil_scores(results: pl.DataFrame, priors: pl.DataFrame | None, year: int) -> pl.DataFrame:
    """Every pupil's A8 slots, A8, EBacc and threshold measures, and (where the year has
    estimates and the pupil a KS2 prior) PAG, estimates, P8 and elements; one row per pupil."""
    pupils = results.select("pupil_id", "la", "laestab").unique("pupil_id", keep="first")
    entries = _entries(results, year)
    english = entries.filter(pl.col("pool") == "english")
    eng = english.group_by("pupil_id").agg(
        english_entries=pl.len(), english_best=pl.col("points").max(),
        english_subject=pl.col("subject").first(),
        english_other=pl.when(pl.len() > 1).then(pl.col("points").min()),
        english_other_subject=pl.when(pl.len() > 1).then(pl.col("subject").last()))
    maths = entries.filter(pl.col("pool") == "maths").group_by("pupil_id").agg(
        maths_best=pl.col("points").max())
    ebacc_best, ebacc_rest = _top(entries.filter(pl.col("pool") == "ebacc"), 3, "ebacc")
    unused_english = eng.filter(pl.col("english_other").is_not_null()).select(
        "pupil_id", subject="english_other_subject", points="english_other")
    open_pool = pl.concat([
        entries.filter(pl.col("pool") == "open").select("pupil_id", "subject", "points"),
        ebacc_rest.select("pupil_id", "subject", "points"),
        unused_english.cast({"points": pl.Float64}),
    ]).sort("pupil_id", "points", "subject", descending=[False, True, False])
    open_best, _ = _top(open_pool, 3, "open")
    scores = (pupils.join(eng, on="pupil_id", how="left").join(maths, on="pupil_id", how="left")
              .join(ebacc_best, on="pupil_id", how="left")
              .join(open_best, on="pupil_id", how="left"))
    both = pl.col("english_entries").fill_null(0) >= 2
    scores = scores.with_columns(
        english_points=(pl.col("english_best").fill_null(0.0)
                        * pl.when(both).then(2.0).otherwise(1.0)),
        maths_points=pl.col("maths_best").fill_null(0.0) * 2.0,
        ebacc_points=pl.col("ebacc_points").fill_null(0.0),
        open_points=pl.col("open_points").fill_null(0.0),
        english_double=both,
    ).with_columns(a8=pl.col("english_points") + pl.col("maths_points")
                   + pl.col("ebacc_points") + pl.col("open_points"))
    scores = scores.join(_ebacc(entries, year), on="pupil_id", how="left").join(
        _thresholds(entries), on="pupil_id", how="left").with_columns(
        pl.col("ebacc_entry", "em_4plus", "em_5plus").fill_null(False),
        pl.col("ebacc_aps").fill_null(0.0))
    return _progress(scores, priors, year)


def _ebacc(entries: pl.DataFrame, year: int) -> pl.DataFrame:
    """EBacc entry and average point score per pupil (methods.md 2)."""
    slots = _slots(year)
    humanities = [s for s, slot in slots.items() if slot == "ebacc_humanities"]
    languages = [s for s, slot in slots.items() if slot == "ebacc_language"]
    by = entries.group_by("pupil_id")
    sciences = entries.filter(pl.col("subject").is_in([*SINGLE_SCIENCES, COMBINED_SCIENCE]))
    science = sciences.group_by("pupil_id").agg(
        combined=(pl.col("subject") == COMBINED_SCIENCE).any(),
        singles=pl.col("subject").filter(pl.col("subject") != COMBINED_SCIENCE).n_unique(),
        best_two=pl.col("points").sort(descending=True).head(2).sum())
    pillars = by.agg(
        lang=pl.col("points").filter(pl.col("subject") == "ENGLANG").max(),
        lit=pl.col("points").filter(pl.col("subject") == "ENGLIT").max(),
        maths=pl.col("points").filter(pl.col("pool") == "maths").max(),
        humanity=pl.col("points").filter(pl.col("subject").is_in(humanities)).max(),
        language=pl.col("points").filter(pl.col("subject").is_in(languages)).max(),
    ).join(science, on="pupil_id", how="left")
    science_entered = pl.col("combined").fill_null(False) | (pl.col("singles").fill_null(0) >= 3)
    both_english = pl.col("lang").is_not_null() & pl.col("lit").is_not_null()
    entered = (both_english & pl.col("maths").is_not_null() & science_entered
               & pl.col("humanity").is_not_null() & pl.col("language").is_not_null())
    aps = (pl.when(both_english).then(pl.max_horizontal("lang", "lit")).otherwise(0.0)
           + pl.col("maths").fill_null(0.0)
           + pl.when(science_entered).then(pl.col("best_two")).otherwise(0.0).fill_null(0.0)
           + pl.col("humanity").fill_null(0.0) + pl.col("language").fill_null(0.0)) / 6
    return pillars.select("pupil_id", ebacc_entry=entered, ebacc_aps=aps)


def _thresholds(entries: pl.DataFrame) -> pl.DataFrame:
    """Grade 4+ and 5+ in English (language or literature) and maths."""
    return entries.group_by("pupil_id").agg(
        english=pl.col("points").filter(pl.col("pool") == "english").max(),
        maths=pl.col("points").filter(pl.col("pool") == "maths").max(),
    ).select("pupil_id",
             em_4plus=((pl.col("english") >= 4) & (pl.col("maths") >= 4)).fill_null(False),
             em_5plus=((pl.col("english") >= 5) & (pl.col("maths") >= 5)).fill_null(False))


def _progress(scores: pl.DataFrame, priors: pl.DataFrame | None, year: int) -> pl.DataFrame:
    found = estimates(year)
    nulls = {c: pl.lit(None, pl.Float64) for c in ("ks2_prior", "a8_estimate", *P8_MEASURES)}
    if found is None or priors is None or priors.is_empty():
        return scores.with_columns(pag=pl.lit(None, pl.Int64), **nulls)
    prior = priors.select(
        "pupil_id", ks2_prior=(pl.col("read").cast(pl.Float64)
                               + pl.col("maths").cast(pl.Float64)) / 2).drop_nulls()
    table = found.table
    # A PAG's range is closed at its top: the largest group whose top is below the prior, +1.
    tops = table["ks2_high"].to_list()
    prior = prior.with_columns(pag=pl.col("ks2_prior").map_batches(
        lambda s: pl.Series([_pag(v, tops) for v in s.to_list()], dtype=pl.Int64),
        return_dtype=pl.Int64))
    scores = scores.join(prior, on="pupil_id", how="left").join(
        table.select("pag", a8_estimate="a8", est_english="english", est_maths="maths",
                     est_ebacc="ebacc", est_open="open"), on="pag", how="left")
    element_scores = {
        code: (pl.col(points) - pl.col(f"est_{column}")) / divisor
        for code, (points, column, divisor) in ELEMENTS.items()}
    return scores.with_columns(p8=(pl.col("a8") - pl.col("a8_estimate")) / 10,
                               **element_scores)


def _pag(prior: float, tops: list[float]) -> int | None:
    if prior is None or math.isnan(prior):
        return None
    for index, top in enumerate(tops, start=1):
        if prior <= top:
            return index
    return len(tops)


def capped(scores: pl.DataFrame, caps: dict[int, float] | None = None) -> pl.DataFrame:
    """`p8_capped`: each pupil's P8, raised to their PAG's minimum where it is below it
    (methods.md 1.7). `caps` are published minima by PAG; without them they are worked out from
    the pupils given (every LA of the deployment), by the DfE's method: the z-score of P8 within
    the PAG, k the z of the pupil one per cent from the bottom, the cap k times the PAG's SD."""
    with_p8 = scores.filter(pl.col("p8").is_not_null())
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

    scores = capped(pupil_scores(results, priors, year), caps)
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
    frames = [scores.select("pupil_id", "la", "laestab", measure=pl.lit(code),
                            counted=counted.fill_null(False),
                            value=value.cast(pl.Float64)) for code, counted, value in parts]
    return pl.concat(frames).cast(PUPIL_SCHEMA) if frames else pl.DataFrame(schema=PUPIL_SCHEMA)


def band(score: float, low: float, high: float) -> str:
    """The performance-table band of a progress score and its interval (methods.md 1.8)."""
    if low > 0:
        return "well above" if score > 0.5 else "above"
    if high < 0:
        return "well below" if score < -0.5 else "below"
    return "average"


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
