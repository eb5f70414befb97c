"""KS5 (16-18) A level measures (methods.md section 5 and 11.4) as pure polars; no Django.

Input frame `results`: one row per student and qualification: pupil_id, la, laestab,
qualification (the DfE qualification code: `111` GCE A level, `121` GCE AS level not continued
to A level; other codes are kept in the file but are not A level measures), subject (the DfE
subject code, e.g. `11010` biology), grade, prior (the student's KS4 average point score, the
DfE's prior attainment for 16-18 value added; null where the student has none).

Value added follows the DfE 16-18 ready reckoner (dfe-analytical-services/16-18-ready-reckoners,
`server.R`): each qualification and subject has a national curve of 22 points (prior attainment
x, expected points y) in `data/ks5_va.csv` (extracted from the reckoner's
`<year>_l3va_step5_outputs_Rversion.xlsx`: national_bands joined to subject_variance for the A
level cohort); a student's estimate is the straight line between the two points either side of
their prior, and their value added is actual minus estimate. Subject VA in grades is the mean VA
divided by size and 10, with interval +/- 1.96 sd_suqu / sqrt(n); the A level cohort VA weights
each entry by weighting / size, with the ready reckoner's standard errors.
"""

from __future__ import annotations

import csv
import math
from functools import cache
from pathlib import Path

import polars as pl

from keystage.measures.ks4 import band, band_expr

DATA = Path(__file__).with_name("data")
A_LEVEL = "111"
AS_LEVEL = "121"
# DfE performance points since 2016 (methods.md 5.1; the reckoner's points_lookup sheet).
POINTS = {
    A_LEVEL: {"A*": 60, "A": 50, "B": 40, "C": 30, "D": 20, "E": 10, "U": 0},
    AS_LEVEL: {"A": 25, "B": 20, "C": 15, "D": 10, "E": 5, "U": 0},
}
SIZES = {A_LEVEL: 1.0, AS_LEVEL: 0.5}
QUALIFICATIONS = {A_LEVEL: "GCE A level", AS_LEVEL: "GCE AS level"}
# The Russell Group's facilitating subjects as the DfE's AAB measure counted them: biology,
# chemistry, physics, mathematics, further mathematics, geography, history, English
# literature, classical and modern languages (DfE subject codes of the reckoner's lookup).
FACILITATING = frozenset({
    "11010", "11110", "11210", "12210", "12330", "13910", "14010", "15110",  # sciences ...
    "16550", "16610", "16650",  # classical Greek, Latin, other classical languages
    "15650", "15670", "15690", "15750", "16090", "15950", "16010", "15910", "15930", "15630",
    "15710", "16030", "16150", "16070", "15730", "16050", "16110", "16130",  # modern languages
})
GRADE_LETTERS = ("E", "D", "C", "B", "A", "A*")
Z95 = 1.96
THRESHOLDS = {"ks5_astar_a": 50, "ks5_astar_b": 40, "ks5_astar_c": 30, "ks5_astar_e": 10}
_X = [f"x_{i}" for i in range(22)]
_Y = [f"y_{i}" for i in range(22)]


def grade_text(grade: str) -> str:
    """A grade as Keystage stores it: upper case, with the reckoner's `*` read as A*."""
    grade = grade.strip().upper()
    return "A*" if grade in ("*", "A*") else grade


@cache
def curves(year: int) -> pl.DataFrame | None:
    """The year's national VA curves of A and AS levels (one row per qualification and
    subject), or None for a year the DfE published none Keystage holds."""
    with (DATA / "ks5_va.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(line for line in handle if not line.startswith("#"))
                if int(r["year"]) == year]
    if not rows:
        return None
    numbers = ("size", "sd_suqu", "weighting", "subj_weighting", *_X, *_Y)
    return pl.DataFrame(
        [{**{k: r[k] for k in ("version", "qual_id", "qualification", "subject_code",
                               "subject")},
          "cases": int(r["cases"]), **{k: float(r[k]) for k in numbers}} for r in rows])


@cache
def _curve_years() -> tuple[int, ...]:
    with (DATA / "ks5_va.csv").open(encoding="utf-8") as handle:
        return tuple(sorted({int(r["year"]) for r in csv.DictReader(
            line for line in handle if not line.startswith("#"))}))


def subject_list(year: int) -> pl.DataFrame:
    """The A and AS level subjects (qualification, subject code, name) the DfE estimated in the
    year, or in the latest earlier year it did (the first year's, before any)."""
    held = _curve_years()
    earlier = [y for y in held if y <= year]
    found = curves(earlier[-1] if earlier else held[0])
    return found.select("qualification", subject="subject_code", name="subject")


def subject_names(year: int) -> dict[tuple[str, str], str]:
    """(qualification, subject code) -> the DfE's subject name, for the year's curves."""
    return {(q, s): n for q, s, n in subject_list(year).iter_rows()}


def pooled_sd(year: int) -> float | None:
    """The A level entries' national SD of VA in grades (sd_suqu pooled over subjects by their
    national entries): the interval of a report cell of mixed subjects (methods.md 11.4)."""
    found = curves(year)
    if found is None:
        return None
    a = found.filter(pl.col("qualification") == A_LEVEL)
    total = a["cases"].sum()
    return math.sqrt((a["cases"] * a["sd_suqu"] ** 2).sum() / total) if total else None


def average_grade(aps: float | None) -> str:
    """An A level APS per entry as the grade people read (33.8 -> "C+"): the nearest third of a
    grade, with + and - for the thirds (methods.md 11.4)."""
    if aps is None or math.isnan(aps) or aps < 10:
        return "" if aps is None or math.isnan(aps) else "U"
    thirds = math.floor(3 * min(aps, 60) / 10 + 0.5)  # 3 thirds a grade; 3 is E, 18 A*
    base, rest = divmod(thirds, 3)
    if rest == 2:
        base, suffix = base + 1, "-"
    else:
        suffix = "+" if rest == 1 else ""
    letter = GRADE_LETTERS[min(base, 6) - 1]
    return letter + ("" if letter == "A*" and suffix == "+" else suffix)


def entries(results: pl.DataFrame, year: int) -> pl.DataFrame:
    """One row per A or AS level entry (the same subject twice counts once, at the better
    grade) with points, size, the national curve's estimate and the VA in points and grades."""
    frame = results.select(
        "pupil_id", "la", "laestab",
        qualification=pl.col("qualification").cast(pl.String).str.strip_chars(),
        subject=pl.col("subject").cast(pl.String).str.strip_chars(),
        grade=pl.col("grade").cast(pl.String).str.strip_chars().str.to_uppercase()
        .replace("*", "A*"),
        prior=pl.col("prior").cast(pl.Float64),
    ).filter(pl.col("qualification").is_in(list(POINTS)))
    points = pl.lit(None, pl.Float64)
    for qualification, table in POINTS.items():
        points = pl.when(pl.col("qualification") == qualification).then(
            pl.col("grade").replace_strict(table, default=None, return_dtype=pl.Float64)
        ).otherwise(points)
    frame = frame.with_columns(points=points,
                               size=pl.col("qualification").replace_strict(SIZES)).filter(
        pl.col("points").is_not_null())
    frame = frame.sort("points", descending=True).unique(
        ["pupil_id", "qualification", "subject"], keep="first", maintain_order=True)
    return _estimates(frame, year).sort("pupil_id", "qualification", "points", "subject",
                                        descending=[False, False, True, False])


def _estimates(frame: pl.DataFrame, year: int) -> pl.DataFrame:
    """The entries with the ready reckoner's estimate: between the last point whose x is at or
    below the prior (the highest band of equal x) and the next; a prior at the top x takes the
    first point with that x; outside the curve's range, none (the reckoner refuses those)."""
    found = curves(year)
    empty = {"estimate": pl.Float64, "va": pl.Float64, "va_grades": pl.Float64,
             "qual_id": pl.String, "weighting": pl.Float64}
    if found is None or frame.is_empty():
        return frame.with_columns(pl.lit(None, dtype).alias(name) for name, dtype in
                                  empty.items())
    frame = frame.with_row_index("_entry")
    long = found.select(
        "qual_id", qualification="qualification", subject="subject_code",
        band=pl.lit(list(range(22)), pl.List(pl.Int64)),
        x=pl.concat_list(_X), y=pl.concat_list(_Y), top=pl.col("x_21"),
    ).explode("band", "x", "y")
    keyed = frame.join(found.select("qual_id", "weighting", qualification="qualification",
                                    subject="subject_code"),
                       on=["qualification", "subject"], how="left")
    known = keyed.filter(pl.col("qual_id").is_not_null() & pl.col("prior").is_not_null())
    lows = (long.sort("qual_id", "x", "band").unique(["qual_id", "x"], keep="last")
            .sort("x").select("qual_id", "x", lower="band", top="top"))
    located = known.sort("prior").join_asof(lows, left_on="prior", right_on="x", by="qual_id",
                                            strategy="backward", check_sortedness=False)
    firsts = (long.filter(pl.col("x") == pl.col("top")).group_by("qual_id")
              .agg(first_top=pl.col("band").min()))
    located = located.join(firsts, on="qual_id", how="left").with_columns(
        lower=pl.when(pl.col("prior") == pl.col("top")).then(pl.col("first_top") - 1)
        .otherwise(pl.col("lower"))).filter(
        pl.col("lower").is_not_null() & (pl.col("prior") <= pl.col("top")))
    points = long.select("qual_id", "band", "x", "y")
    located = located.drop("x", "top", "first_top").join(
        points.rename({"band": "lower", "x": "x_lo", "y": "y_lo"}), on=["qual_id", "lower"]
    ).join(points.with_columns(pl.col("band") - 1).rename(
        {"band": "lower", "x": "x_hi", "y": "y_hi"}), on=["qual_id", "lower"])
    estimate = (pl.col("y_hi") - pl.col("y_lo")) / (pl.col("x_hi") - pl.col("x_lo")) * (
        pl.col("prior") - pl.col("x_lo")) + pl.col("y_lo")
    located = located.select("_entry", estimate=estimate)
    out = keyed.join(located, on="_entry", how="left").with_columns(
        va=pl.col("points") - pl.col("estimate"))
    return out.with_columns(va_grades=pl.col("va") / pl.col("size") / 10).drop("_entry")


def students(frame: pl.DataFrame) -> pl.DataFrame:
    """Per student (from `entries`): A level entries, size-weighted entries and points, APS per
    entry and its grade, best three, the AAA/AAB thresholds and the student's VA in grades."""
    a = pl.col("qualification") == A_LEVEL
    ranked = frame.with_columns(
        rank=pl.when(a).then(pl.col("points").rank("ordinal", descending=True)
                             .over("pupil_id", "qualification")),
        fac=pl.col("subject").is_in(list(FACILITATING)))
    out = ranked.group_by("pupil_id", maintain_order=True).agg(
        pl.col("la").first(), pl.col("laestab").first(), pl.col("prior").first(),
        a_levels=a.sum(),
        entries=pl.col("size").sum(),
        points=pl.col("points").sum(),
        best3=pl.col("points").filter(a & (pl.col("rank") <= 3)).sum(),
        a_at_a=(a & (pl.col("points") >= 50)).sum(),
        a_at_b=(a & (pl.col("points") >= 40)).sum(),
        fac_a=(a & pl.col("fac") & (pl.col("points") >= 50)).sum(),
        fac_b=(a & pl.col("fac") & (pl.col("points") == 40)).sum(),
        other_a=(a & ~pl.col("fac") & (pl.col("points") >= 50)).sum(),
        va_weighted=(pl.col("va") * pl.col("weighting") / pl.col("size")).sum(),
        va_weights=pl.col("weighting").filter(pl.col("va").is_not_null()).sum(),
        va_entries=pl.col("va").is_not_null().sum(),
    )
    return out.with_columns(
        aps=pl.col("points") / pl.col("entries"),
        best3=pl.when(pl.col("a_levels") >= 3).then(pl.col("best3") / 3),
        aaa=pl.col("a_at_a") >= 3,
        aab=(pl.col("a_at_a") >= 2) & (pl.col("a_at_b") >= 3),
        # Three A levels at AAB or better with two of them facilitating: two facilitating at A
        # or better and any third at B or better, or one facilitating at A, one facilitating
        # at B and another subject at A.
        aab2f=((pl.col("fac_a") >= 2) & (pl.col("a_at_b") >= 3))
        | ((pl.col("fac_a") >= 1) & (pl.col("fac_b") >= 1) & (pl.col("other_a") >= 1)),
        va=pl.when(pl.col("va_entries") > 0).then(
            pl.col("va_weighted") / pl.col("va_weights") / 10),
    )


def ks5(results: pl.DataFrame, year: int) -> pl.DataFrame:
    """The report's long rows (primary.PUPIL_SCHEMA) for the KS5 measures of methods.md 11.4:
    entry measures (`ks5_aps`, grade shares, `ks5_va`) have a row per A level entry, student
    measures (`ks5_best3`, `ks5_aaa`, `ks5_aab`, `ks5_aab2f`) a row per A level student."""
    from keystage.measures.primary import PUPIL_SCHEMA

    found = entries(results, year)
    a_levels = found.filter(pl.col("qualification") == A_LEVEL)
    per_student = students(found).filter(pl.col("a_levels") > 0)
    frames = [a_levels.select("pupil_id", "la", "laestab", measure=pl.lit("ks5_aps"),
                              counted=pl.lit(True), value=pl.col("points"))]
    frames += [a_levels.select("pupil_id", "la", "laestab", measure=pl.lit(code),
                               counted=pl.lit(True),
                               value=(pl.col("points") >= floor).cast(pl.Float64))
               for code, floor in THRESHOLDS.items()]
    frames.append(per_student.select("pupil_id", "la", "laestab", measure=pl.lit("ks5_best3"),
                                     counted=pl.col("best3").is_not_null(),
                                     value=pl.col("best3")))
    frames += [per_student.select("pupil_id", "la", "laestab", measure=pl.lit(f"ks5_{code}"),
                                  counted=pl.lit(True), value=pl.col(code).cast(pl.Float64))
               for code in ("aaa", "aab", "aab2f")]
    if curves(year) is not None:
        frames.append(a_levels.select("pupil_id", "la", "laestab", measure=pl.lit("ks5_va"),
                                      counted=pl.col("va").is_not_null(),
                                      value=pl.col("va_grades")))
    return pl.concat([f.cast(PUPIL_SCHEMA) for f in frames])


def subject_points(frame: pl.DataFrame, year: int) -> pl.DataFrame:
    """Per qualification and subject (from `entries`): entries, average points per entry and
    its grade (AS points doubled to read on the A level scale of grades), and the shares at
    A*-A and A*-E, as the subject tables A level users read."""
    names = subject_names(year)
    schema = {"qualification": pl.String, "subject": pl.String, "name": pl.String,
              "entries": pl.Int64, "aps": pl.Float64, "grade": pl.String,
              "astar_a": pl.Float64, "astar_e": pl.Float64}
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    scale = pl.col("points") / pl.col("size")  # an AS level A (25) reads as an A (50)
    out = frame.group_by("qualification", "subject").agg(
        entries=pl.len(), aps=pl.col("points").mean(), _scaled=scale.mean(),
        astar_a=(scale >= 50).mean() * 100, astar_e=(scale >= 10).mean() * 100)
    rows = [{**r, "name": names.get((r["qualification"], r["subject"]), r["subject"]),
             "grade": average_grade(r.pop("_scaled"))} for r in out.to_dicts()]
    return pl.DataFrame(rows).select(list(schema)).cast(schema).sort("qualification", "name")


def subject_va(frame: pl.DataFrame, year: int) -> pl.DataFrame:
    """Per qualification and subject (from `entries`): students, VA in grades, its standard
    error and interval and band, as the ready reckoner's subject table."""
    found = curves(year)
    schema = {"qualification": pl.String, "subject": pl.String, "name": pl.String,
              "students": pl.Int64, "va": pl.Float64, "se": pl.Float64,
              "ci_low": pl.Float64, "ci_high": pl.Float64, "band": pl.String}
    scored = frame.filter(pl.col("va").is_not_null())
    if found is None or scored.is_empty():
        return pl.DataFrame(schema=schema)
    out = scored.group_by("qualification", "subject", "qual_id", "size").agg(
        students=pl.len(), mean=pl.col("va").mean()).join(
        found.select("qual_id", "sd_suqu", name="subject"), on="qual_id").with_columns(
        va=pl.col("mean") / pl.col("size") / 10,
        se=pl.col("sd_suqu") / pl.col("students").sqrt())
    out = out.with_columns(ci_low=pl.col("va") - Z95 * pl.col("se"),
                           ci_high=pl.col("va") + Z95 * pl.col("se"))
    out = out.with_columns(band=band_expr("va", "ci_low", "ci_high"))
    return out.select(list(schema)).cast(schema).sort("qualification", "name")


def cohort_va(frame: pl.DataFrame, year: int) -> dict | None:
    """The A level cohort VA in grades (A and AS levels, each entry weighted by weighting /
    size), with the ready reckoner's standard error built up from the subjects' and the
    qualifications': {students, entries, va, se, ci_low, ci_high, band}; None without VA."""
    scored = frame.filter(pl.col("va").is_not_null())
    subjects = subject_va(frame, year)
    if scored.is_empty() or subjects.is_empty():
        return None
    sizes = pl.DataFrame({"qualification": list(SIZES), "size": list(SIZES.values())})
    subj = subjects.join(sizes, on="qualification")
    quals = scored.group_by("qualification").agg(n=pl.len())
    qual_se = subj.join(quals, on="qualification").group_by("qualification").agg(
        se=((pl.col("se") * pl.col("students") / pl.col("n")) ** 2).sum().sqrt(),
        n=pl.col("n").first(), size=pl.col("size").first())
    weight = qual_se["n"] * qual_se["size"]
    se = math.sqrt((((qual_se["se"] * weight) / weight.sum()) ** 2).sum())
    va = ((scored["va"] * scored["weighting"] / scored["size"]).sum()
          / scored["weighting"].sum() / 10)
    low, high = va - Z95 * se, va + Z95 * se
    return {"students": scored["pupil_id"].n_unique(), "entries": scored.height, "va": va,
            "se": se, "ci_low": low, "ci_high": high, "band": band(va, low, high)}


def explain(results: pl.DataFrame, year: int) -> dict | None:
    """One student's working: each entry with its points, the national estimate for their prior
    and its VA, entries left out and why, and their APS, average grade, best three and VA."""
    if results.is_empty():
        return None
    found = entries(results, year)
    names = subject_names(year)
    left_out = []
    for row in results.iter_rows(named=True):
        qualification = str(row["qualification"]).strip()
        if qualification not in POINTS:
            left_out.append({"subject": row["subject"], "grade": row["grade"],
                             "why": f"qualification {qualification} is not an A or AS level"})
    counted = found.to_dicts()
    for entry in counted:
        entry["name"] = names.get((entry["qualification"], entry["subject"]), entry["subject"])
        entry["qualification_name"] = QUALIFICATIONS[entry["qualification"]]
        if entry["estimate"] is None:
            entry["why_no_va"] = (
                "no prior attainment (KS4 average point score)" if entry["prior"] is None
                else "no national estimate for this subject and year" if entry["qual_id"] is None
                else "prior attainment outside the national curve")
    summary = students(found).to_dicts() if found.height else []
    student = summary[0] if summary else {}
    return {
        "year": year, "prior": results["prior"].drop_nulls().first(), "entries": counted,
        "left_out": left_out,
        "aps": student.get("aps"), "average_grade": average_grade(student.get("aps")),
        "best3": student.get("best3"), "va": student.get("va"),
        "has_curves": curves(year) is not None,
    }
