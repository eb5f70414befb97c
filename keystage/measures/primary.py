"""The primary measures of methods.md 11.2, per pupil and per cell, as pure polars; no Django.

`MEASURES` declares every measure once (code, dataset, label, kind, direction). Each dataset's
pupil-level function takes its wide frame (one row per pupil record: pupil_id, la, laestab,
ncyear and one column per component) and gives, per pupil and measure, whether the pupil counts
(`counted`) and their value (1 or 0 for a percentage, the score for an average). `cells` turns
those into the rows of `keystage report`: LA, school and emerging national levels, `all` and
every group of 11.2, with suppression (11.2) and, for percentages, a normal-approximation
interval and a band against the national figure (section 6, option a).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import polars as pl

from keystage.datasets import threshold

ELGS = tuple(f"E{n:02d}" for n in range(1, 18))
GLD_ELGS = ELGS[:12]
TA_VALID = ("GDS", "EXS", "WTS", "PK1", "PK2", "PK3", "PK4", "PK5", "PK6", "EM", "A", "D", "Q")
TA_MET = ("EXS", "GDS")
KS2_TEST_CODES = ("A", "B", "D", "U", "Q", "H", "N")
MTC_CODES = ("A", "B", "U", "NAA", "H", "Q")
PHONICS_CODES = ("A", "D", "Q")
GROUPS = ("sex", "disadvantaged", "fsm", "fsm6", "pp", "eal", "sen", "ethnicity_major",
          "summer_born", "cla", "cin")
REPORT_COLUMNS = ("dataset", "year", "measure", "level", "la", "laestab", "group",
                  "group_value", "pupils", "numerator", "value", "suppressed", "ci_low",
                  "ci_high", "band")
# Suppression for readers outside the LA (methods.md 11.2).
MIN_PUPILS = 5
MIN_EITHER_SIDE = 3
Z95 = 1.96


@dataclass(frozen=True)
class Measure:
    code: str
    dataset: str
    label: str
    kind: str  # "pct", "avg" or "progress" (a score around 0, to 2 dp, with a national SD)
    direction: str = "higher"  # higher is better


MEASURES: tuple[Measure, ...] = (
    Measure("gld", "eyfsp", "Good level of development", "pct"),
    Measure("all_elgs", "eyfsp", "Expected in all 17 ELGs", "pct"),
    Measure("avg_elgs", "eyfsp", "Average ELGs at expected", "avg"),
    Measure("y1_met", "phonics", "Year 1: met the phonics standard", "pct"),
    Measure("y2_met_by_end", "phonics", "Met the phonics standard by the end of Year 2", "pct"),
    Measure("rea_exs", "ks1", "KS1 reading: expected or above", "pct"),
    Measure("wri_exs", "ks1", "KS1 writing: expected or above", "pct"),
    Measure("mat_exs", "ks1", "KS1 maths: expected or above", "pct"),
    Measure("sci_exs", "ks1", "KS1 science: expected", "pct"),
    Measure("wri_exs", "ks2ta", "KS2 writing TA: expected or above", "pct"),
    Measure("wri_gds", "ks2ta", "KS2 writing TA: greater depth", "pct"),
    Measure("sci_exs", "ks2ta", "KS2 science TA: expected", "pct"),
    Measure("rwm_exs", "ks2", "Reading, writing and maths: expected or above", "pct"),
    Measure("rwm_hs", "ks2", "Reading, writing and maths: higher standard", "pct"),
    Measure("rea_avg", "ks2", "Reading: average scaled score", "avg"),
    Measure("mat_avg", "ks2", "Maths: average scaled score", "avg"),
    Measure("gps_avg", "ks2", "GPS: average scaled score", "avg"),
    Measure("rea_exs", "ks2", "Reading: expected or above", "pct"),
    Measure("mat_exs", "ks2", "Maths: expected or above", "pct"),
    Measure("gps_exs", "ks2", "GPS: expected or above", "pct"),
    Measure("rea_hs", "ks2", "Reading: high score", "pct"),
    Measure("mat_hs", "ks2", "Maths: high score", "pct"),
    Measure("gps_hs", "ks2", "GPS: high score", "pct"),
    # KS1 to KS2 progress (methods.md 3.2; keystage.measures.ks2_progress): only where the
    # pupils' KS1 of four years before is loaded, with the deployment's emerging estimates.
    Measure("rea_prog", "ks2", "KS1 to KS2 progress: reading", "progress"),
    Measure("wri_prog", "ks2", "KS1 to KS2 progress: writing", "progress"),
    Measure("mat_prog", "ks2", "KS1 to KS2 progress: maths", "progress"),
    Measure("mtc_avg", "mtc", "MTC: average score", "avg"),
    Measure("mtc_full", "mtc", "MTC: full marks", "pct"),
    # KS4 (methods.md 11.3; computed in keystage.measures.ks4).
    Measure("a8", "ks4", "Attainment 8: average score", "avg"),
    Measure("p8", "ks4", "Progress 8", "progress"),
    Measure("p8_eng", "ks4", "Progress 8: English element", "progress"),
    Measure("p8_mat", "ks4", "Progress 8: maths element", "progress"),
    Measure("p8_ebacc", "ks4", "Progress 8: EBacc element", "progress"),
    Measure("p8_open", "ks4", "Progress 8: open element", "progress"),
    Measure("ebacc_entry", "ks4", "Entered for the EBacc", "pct"),
    Measure("ebacc_aps", "ks4", "EBacc average point score", "avg"),
    Measure("em_4plus", "ks4", "Grade 4 or above in English and maths", "pct"),
    Measure("em_5plus", "ks4", "Grade 5 or above in English and maths", "pct"),
    # KS5 (methods.md 11.4; computed in keystage.measures.ks5). Entry measures count A level
    # entries (their `pupils` is entries), the others A level students.
    Measure("ks5_aps", "ks5", "A level average point score per entry", "avg"),
    Measure("ks5_va", "ks5", "A level value added (grades)", "progress"),
    Measure("ks5_best3", "ks5", "A level average point score of the best three", "avg"),
    Measure("ks5_astar_a", "ks5", "A level entries graded A*-A", "pct"),
    Measure("ks5_astar_b", "ks5", "A level entries graded A*-B", "pct"),
    Measure("ks5_astar_c", "ks5", "A level entries graded A*-C", "pct"),
    Measure("ks5_astar_e", "ks5", "A level entries graded A*-E", "pct"),
    Measure("ks5_aaa", "ks5", "Three A levels at A*-A", "pct"),
    Measure("ks5_aab", "ks5", "AAB or better in three A levels", "pct"),
    Measure("ks5_aab2f", "ks5", "AAB or better, two in facilitating subjects", "pct"),
)
DATASETS = tuple(dict.fromkeys(m.dataset for m in MEASURES))


def measures_of(dataset: str) -> tuple[Measure, ...]:
    """The measures of a dataset, in registry order."""
    return tuple(m for m in MEASURES if m.dataset == dataset)


def _text(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).fill_null("").str.strip_chars().str.to_uppercase()


def _score(column: str) -> pl.Expr:
    text = _text(column)
    return pl.when(text.str.contains(r"^\d+$")).then(text.cast(pl.Int64, strict=False))


def _long(frame: pl.DataFrame, parts: list[tuple[str, pl.Expr, pl.Expr]]) -> pl.DataFrame:
    """(measure, counted, value) expressions of one frame as long rows per pupil."""
    base = [c for c in ("pupil_id", "la", "laestab") if c in frame.columns]
    return pl.concat([
        frame.select(*base, measure=pl.lit(code), counted=counted.fill_null(False),
                     value=value.cast(pl.Float64))
        for code, counted, value in parts
    ]) if parts and frame.height else pl.DataFrame(schema=PUPIL_SCHEMA)


PUPIL_SCHEMA = {"pupil_id": pl.Int64, "la": pl.String, "laestab": pl.String,
                "measure": pl.String, "counted": pl.Boolean, "value": pl.Float64}


def _ensure(frame: pl.DataFrame, columns) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, pl.String).alias(c) for c in dict.fromkeys(columns)
                              if c not in frame.columns)


def eyfsp(frame: pl.DataFrame) -> pl.DataFrame:
    """gld, all_elgs, avg_elgs: over children with all 17 ELGs recorded (A counts as recorded)."""
    frame = _ensure(frame, ELGS)
    recorded = pl.all_horizontal([_text(e).is_in(["1", "2", "A"]) for e in ELGS])
    expected = pl.sum_horizontal([(_text(e) == "2").cast(pl.Int64) for e in ELGS])
    any_a = pl.any_horizontal([_text(e) == "A" for e in ELGS])
    gld = pl.all_horizontal([_text(e) == "2" for e in GLD_ELGS]) & ~any_a
    return _long(frame, [
        ("gld", recorded, gld.cast(pl.Float64)),
        ("all_elgs", recorded, (expected == 17).cast(pl.Float64)),
        ("avg_elgs", recorded, expected.cast(pl.Float64)),
    ])


def _phonics_outcome(column: str) -> tuple[pl.Expr, pl.Expr]:
    mark = _score(column)
    valid = (mark.is_not_null() & (mark <= threshold("phonics", "max_mark"))) \
        | _text(column).is_in(PHONICS_CODES)
    met = (mark >= threshold("phonics", "pass_mark")).fill_null(False)
    return valid, met


def phonics(frame: pl.DataFrame, earlier: pl.DataFrame | None = None,
            year2: pl.DataFrame | None = None) -> pl.DataFrame:
    """y1_met over Year 1 pupils with a mark or A, D, Q; y2_met_by_end over Year 2 pupils
    (this year's Year 2 records, and `year2` census pupils) with a valid outcome in either year
    (`earlier`: last year's records by pupil_id)."""
    frame = _ensure(frame, ["PSC"])
    valid, met = _phonics_outcome("PSC")
    ncyear = _text("ncyear")
    y1 = frame.filter(ncyear == "1")
    parts = [_long(y1, [("y1_met", valid, met.cast(pl.Float64))])]
    retakes = frame.filter(ncyear == "2").select(
        "pupil_id", "la", "laestab", now_valid=valid, now_met=met)
    cohort = retakes
    if year2 is not None and year2.height:
        # A Year 2 pupil with no retake this year is placed at their census school.
        missing = year2.join(retakes.select("pupil_id"), on="pupil_id", how="anti").select(
            "pupil_id", "la", "laestab", now_valid=pl.lit(False), now_met=pl.lit(False))
        cohort = pl.concat([retakes, missing])
    if earlier is not None and earlier.height:
        before = _ensure(earlier, ["PSC"])
        was_valid, was_met = _phonics_outcome("PSC")
        before = before.select("pupil_id", then_valid=was_valid, then_met=was_met).group_by(
            "pupil_id").agg(pl.col("then_valid").any(), pl.col("then_met").any())
        cohort = cohort.join(before, on="pupil_id", how="left")
    else:
        cohort = cohort.with_columns(then_valid=pl.lit(False), then_met=pl.lit(False))
    cohort = cohort.with_columns(pl.col("then_valid", "then_met").fill_null(False))
    parts.append(cohort.select(
        "pupil_id", "la", "laestab", measure=pl.lit("y2_met_by_end"),
        counted=pl.col("now_valid") | pl.col("then_valid"),
        value=(pl.col("now_met") | pl.col("then_met")).cast(pl.Float64)))
    return pl.concat([p.select(list(PUPIL_SCHEMA)).cast(PUPIL_SCHEMA) for p in parts])


def _ta(frame: pl.DataFrame, specs) -> pl.DataFrame:
    frame = _ensure(frame, [c for _, c, _ in specs])
    parts = []
    for code, column, met in specs:
        allowed = TA_VALID + (("HNM",) if column == "SCI" else ())
        parts.append((code, _text(column).is_in(allowed),
                      _text(column).is_in(met).cast(pl.Float64)))
    return _long(frame, parts)


def ks1(frame: pl.DataFrame) -> pl.DataFrame:
    """rea_exs, wri_exs, mat_exs, sci_exs: at EXS or GDS among valid outcomes."""
    return _ta(frame, [("rea_exs", "RE", TA_MET), ("wri_exs", "WR", TA_MET),
                       ("mat_exs", "MAT", TA_MET), ("sci_exs", "SCI", TA_MET)])


def ks2ta(frame: pl.DataFrame) -> pl.DataFrame:
    """wri_exs, wri_gds, sci_exs: writing and science teacher assessment."""
    return _ta(frame, [("wri_exs", "WR", TA_MET), ("wri_gds", "WR", ("GDS",)),
                       ("sci_exs", "SCI", TA_MET)])


def ks2(frame: pl.DataFrame) -> pl.DataFrame:
    """The KS2 results file's measures: RWM, averages, expected and high scores by subject."""
    subjects = {"rea": ("READSCORE", "READOUTCOME"), "mat": ("MATSCORE", "MATOUTCOME"),
                "gps": ("GPSSCORE", "GPSOUTCOME")}
    frame = _ensure(frame, [c for pair in subjects.values() for c in pair] + ["WRITTAOUTCOME"])
    expected, high = threshold("ks2", "expected"), threshold("ks2", "high")
    parts = []
    valid = {}
    scores = {}
    for name, (score, outcome) in subjects.items():
        scores[name] = _score(score)
        valid[name] = scores[name].is_not_null() | _text(outcome).is_in(KS2_TEST_CODES)
        parts.append((f"{name}_avg", scores[name].is_not_null(), scores[name]))
        parts.append((f"{name}_exs", valid[name], (scores[name] >= expected).fill_null(False)))
        parts.append((f"{name}_hs", valid[name], (scores[name] >= high).fill_null(False)))
    writing = _text("WRITTAOUTCOME")
    counted = valid["rea"] & valid["mat"] & writing.is_in(TA_VALID)
    parts.append(("rwm_exs", counted, ((scores["rea"] >= expected) & (scores["mat"] >= expected)
                                       & writing.is_in(TA_MET)).fill_null(False)))
    parts.append(("rwm_hs", counted, ((scores["rea"] >= high) & (scores["mat"] >= high)
                                      & (writing == "GDS")).fill_null(False)))
    return _long(frame, [(c, k, v.cast(pl.Float64)) for c, k, v in parts])


def mtc(frame: pl.DataFrame) -> pl.DataFrame:
    """mtc_avg over pupils with a score; mtc_full over pupils with a score or a valid code."""
    frame = _ensure(frame, ["MTC"])
    score = _score("MTC")
    full = threshold("mtc", "full_marks")
    has_score = score.is_not_null() & (score <= full)
    return _long(frame, [
        ("mtc_avg", has_score, score),
        ("mtc_full", has_score | _text("MTC").is_in(MTC_CODES),
         (score == full).fill_null(False).cast(pl.Float64)),
    ])


PUPIL_MEASURES = {"eyfsp": eyfsp, "ks1": ks1, "ks2ta": ks2ta, "ks2": ks2, "mtc": mtc}


def round_half_up(value: float, places: int) -> float:
    """Rounded half away from zero (as published figures are), not to even."""
    factor = 10 ** places
    return math.copysign(math.floor(abs(value) * factor + 0.5) / factor, value)


def wilson_interval(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion, in percent: a binomial interval that stays
    inside 0-100 and has width even at 0% or 100% (section 6: a binomial interval)."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n))
    return max(0.0, centre - half) * 100, min(1.0, centre + half) * 100


# Sums of counted pupils and their values, by (measure, group, group value); the group "all"
# has the value "all".
Sums = dict[tuple[str, str, str], tuple[int, float]]


# The pseudo-groups of _sums' school and LA figures (their values: LAESTAB, LA code).
SCHOOL = "school:laestab"
LA = "la:code"


def _traits(characteristics: pl.DataFrame, columns: tuple[str, ...],
            keys: list[str] | None = None) -> pl.DataFrame:
    """The pupils' traits of the groups as categories ('unknown' for an empty one), with the
    key columns (the LA's code for la_parts)."""
    return characteristics.select(*(keys or []), "pupil_id", *(
        pl.col(g).cast(pl.String).fill_null("").replace("", "unknown").cast(pl.Categorical)
        for g in columns))


def _profiles(traits: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Each combination of the groups' values the pupils have, numbered (`profile`)."""
    return traits.select(columns).unique(maintain_order=True).with_row_index("profile")


def _profile_values(profiles: pl.DataFrame, groups: tuple[str, ...]) -> pl.DataFrame:
    """Each profile's value of each group, long (profile, group, value), and a profile one past
    the last for pupils with no traits row: `unknown` in every group."""
    columns = tuple(dict.fromkeys(groups))
    none = pl.DataFrame({"profile": [profiles.height], **{g: ["unknown"] for g in columns}},
                        schema={"profile": pl.UInt32, **{g: pl.String for g in columns}})
    return pl.concat([profiles.select("profile", *(pl.col(g).cast(pl.String) for g in columns)),
                      none]).unpivot(index="profile", variable_name="group",
                                     value_name="value")


def _by_profile(counted: pl.LazyFrame, traits: pl.DataFrame, profiles: pl.DataFrame,
                groups: tuple[str, ...], keys: list[str], join: list[str] | None = None
                ) -> pl.DataFrame:
    """Every group's counted pupils and total by the keys, measure, group and value, from the
    rows summed once per profile (joined to the pupils' profiles on `join` and pupil_id: the
    keys by default); a pupil with no traits row is `unknown` in every group. One join of the
    profiles' values, not one per group."""
    join = keys if join is None else join
    pupil_profile = traits.join(profiles, on=list(profiles.columns[1:]), how="inner",
                                nulls_equal=True).select(*join, "pupil_id", "profile")
    summary = counted.join(pupil_profile.lazy(), on=[*join, "pupil_id"], how="left").group_by(
        *keys, "measure", "profile").agg(pupils=pl.len(), total=pl.col("value").sum())
    return (summary.with_columns(pl.col("profile").fill_null(profiles.height))
            .join(_profile_values(profiles, groups).lazy(), on="profile", how="inner")
            .group_by(*keys, "measure", "group", "value")
            .agg(pl.col("pupils").sum(), pl.col("total").sum()).collect(engine="streaming"))


def _summed_values(part: pl.DataFrame, group: str, keys: list[str]) -> pl.DataFrame:
    """Partial sums of a group added up by the keys, measure and value (null: unknown)."""
    return part.with_columns(pl.col(group).cast(pl.String).fill_null("unknown")).group_by(
        *keys, "measure", group).agg(pl.col("pupils").sum(), pl.col("total").sum())


def _sums(frame: pl.DataFrame, characteristics: pl.DataFrame, groups: tuple[str, ...], *,
          schools: bool = False, las: bool = False) -> Sums:
    """Counted pupils and their values' total by measure: for all pupils, each value of each
    group, and each school (SCHOOL, with `schools`) and LA (LA, with `las`)."""
    columns = tuple(dict.fromkeys(groups))

    # Pupils' characteristics are never joined to the long rows as a text column per group: a
    # national year's rows times a dozen groups would take gigabytes. They are categories, and
    # each combination of the groups' values is a profile; counted rows are summed once per
    # profile when there are few of them, else a group at a time (by_group).
    traits = _traits(characteristics, columns)
    profiles = _profiles(traits, columns)
    # Few profiles (real pupils' traits go together): rows are summed once per profile.
    few = bool(columns) and profiles.height * 4 <= max(traits.height, 1)

    def counted(frame: pl.DataFrame) -> pl.LazyFrame:
        # Lazy, and streamed when collected: a national year's rows are summed without a
        # filtered or joined copy of them.
        return frame.lazy().filter(pl.col("counted")).select(
            "pupil_id", *(["la"] if las else []), "laestab", "measure", "value")

    def aggregate(frame: pl.LazyFrame, keys: list[str]) -> dict[tuple, tuple[int, float]]:
        out = frame.group_by(["measure", *keys]).agg(
            pupils=pl.len(), total=pl.col("value").sum()).collect(engine="streaming")
        return {tuple(r[: len(keys) + 1]): (r[-2], r[-1]) for r in out.iter_rows()}

    def by_group(frame: pl.LazyFrame) -> dict[str, dict[tuple, tuple[int, float]]]:
        """Each group's sums by (measure, value). With few profiles (real pupils' traits go
        together) the rows are summed once per profile; with many, a group at a time, streamed,
        so neither way holds a copy of the rows with their traits."""
        if not groups:
            return {}
        if few:
            sums: dict[str, dict[tuple, tuple[int, float]]] = defaultdict(dict)
            for m, g, v, n, t in _by_profile(frame, traits, profiles, groups, []).iter_rows():
                sums[g][(m, v)] = (n, t)
            return sums
        parts = {g: _summed_values(frame.join(traits.lazy().select("pupil_id", g),
                                              on="pupil_id", how="left").group_by(
            "measure", g).agg(pupils=pl.len(), total=pl.col("value").sum())
            .collect(engine="streaming"), g, []) for g in groups}
        return {g: {(m, v): (n, t) for m, v, n, t in part.iter_rows()}
                for g, part in parts.items()}

    lazy = counted(frame)
    out: Sums = {(m, "all", "all"): v for (m,), v in aggregate(lazy, []).items()}
    if schools:
        out.update({(m, SCHOOL, laestab or ""): v
                    for (m, laestab), v in aggregate(lazy, ["laestab"]).items()})
    if las:
        out.update({(m, LA, code or ""): v for (m, code), v in aggregate(lazy, ["la"]).items()})
    for g, sums in by_group(lazy).items():
        out.update({(m, g, val): v for (m, val), v in sums.items()})
    return out


def national_sums(national: pl.DataFrame, characteristics: pl.DataFrame,
                  groups: tuple[str, ...] = GROUPS) -> Sums:
    """Every LA's outcomes summed for all pupils, each value of each group and each LA (LA):
    what the emerging national rows, the bands against them and the national analyst's rows
    of each LA are made of (additive, so computed once for every LA's reports)."""
    return _sums(national, characteristics, groups, las=True)


def la_parts(frame: pl.DataFrame, characteristics: pl.DataFrame,
             groups: tuple[str, ...] = GROUPS) -> dict[str, Sums]:
    """Several LAs' national_sums at once, by LA code: each equal to national_sums of that LA's
    rows (column `la`) with that LA's characteristics (their column `la` says whose)."""
    return datasets_la_parts({"": frame}, characteristics, groups).get("", {})


def datasets_la_parts(frames: dict[str, pl.DataFrame], characteristics: pl.DataFrame,
                      groups: tuple[str, ...] = GROUPS) -> dict[str, dict[str, Sums]]:
    """la_parts of several datasets' outcomes (by dataset, then LA code) against the same LAs'
    characteristics.

    Summing a batch of LAs in one set of polars calls, not a set per LA: each call has a fixed
    cost, which a cold national picture paid 150 LAs times six datasets times a dozen groups.
    The datasets are summed together too: the pupils' profiles are made once for all of them,
    and every group's values come from one join."""
    if not frames:
        return {}
    columns = tuple(dict.fromkeys(groups))
    counted = pl.concat([
        frame.lazy().filter(pl.col("counted")).select(
            pl.lit(dataset, pl.String).alias("dataset"), pl.col("pupil_id").cast(pl.Int64),
            pl.col("la").cast(pl.String), pl.col("measure").cast(pl.String),
            pl.col("value").cast(pl.Float64))
        for dataset, frame in frames.items()], how="vertical")
    out: dict[str, dict[str, Sums]] = defaultdict(lambda: defaultdict(dict))
    every = counted.group_by("dataset", "la", "measure").agg(pupils=pl.len(),
                                                             total=pl.col("value").sum())
    for dataset, code, measure, n, total in every.collect(engine="streaming").iter_rows():
        out[dataset][code][(measure, "all", "all")] = (n, total)
        out[dataset][code][(measure, LA, code or "")] = (n, total)
    if columns:
        # As _sums: summed once per LA and profile, then each group's values from the profiles.
        traits = _traits(characteristics, columns, ["la"])
        summed = _by_profile(counted, traits, _profiles(traits, columns), groups,
                             ["dataset", "la"], join=["la"])
        for dataset, code, measure, g, value, n, total in summed.iter_rows():
            out[dataset][code][(measure, g, value)] = (n, total)
    return {dataset: dict(parts) for dataset, parts in out.items()}


def cells(pupils: pl.DataFrame, characteristics: pl.DataFrame, *, dataset: str, year: int,
          la: str, by: str | None, national: pl.DataFrame | None = None,
          show_national: bool = False, sds: dict[str, float] | None = None,
          groups: tuple[str, ...] | None = None, suppress_la: bool = False,
          nation: Sums | None = None, own: Sums | None = None) -> list[list]:
    """The report rows (REPORT_COLUMNS) of one LA's pupil outcomes (or `own`, their sums) and,
    with `national` (every LA's outcomes) or `nation` (their national_sums), the emerging
    national rows; national figures also give the bands. Progress measures take their
    interval from the national SD in `sds` (methods.md 1.6)."""
    # The pages may ask for more groups than the command line's (extra fields, intersections
    # with disadvantage: keystage.analysis.queries); every one is a column of characteristics.
    groups = (groups or GROUPS) if by == "group" else ()
    ours = own if own is not None else _sums(pupils, characteristics, groups,
                                             schools=by == "school")
    # National figures per (measure, group, value), for bands and national rows.
    nat: Sums = {}
    if nation is None and national is not None:
        # Group figures need every LA's characteristics: only with the national rows.
        nation = _sums(national, characteristics, groups if show_national else ())
    if nation is not None:
        nat = {key: value for key, value in nation.items()
               if key[1] == "all" or (show_national and key[1] in groups)}
    theirs = nation
    rows: list[list] = []
    kinds = {m.code: m.kind for m in measures_of(dataset)}

    def row(measure, level, la_code, laestab, group, value_key, n, total, suppress_small):
        kind = kinds[measure]
        met = total
        suppressed = suppress_small and (n < MIN_PUPILS or (kind == "pct" and (
            met < MIN_EITHER_SIDE or n - met < MIN_EITHER_SIDE)))
        if kind == "progress":
            return _progress_row([dataset, year, measure, level, la_code, laestab, group,
                                  value_key, n], total, (sds or {}).get(measure), suppressed)
        if kind == "pct":
            share = met / n
            value = round_half_up(100 * share, 1)
            low, high = wilson_interval(share, n)
            ci = [round_half_up(low, 1), round_half_up(high, 1)]
            band = ""
            national_cell = nat.get((measure, group, value_key))
            if level != "national" and national_cell and national_cell[0]:
                p_nat = national_cell[1] / national_cell[0]
                gap = share - p_nat
                margin = Z95 * math.sqrt(max(p_nat * (1 - p_nat), 0.0) / n)
                band = "above" if gap > margin else "below" if gap < -margin else "in line"
            numerator = int(round(met))
        else:
            value = round_half_up(total / n, 1)
            ci, band = ["", ""], ""
            numerator = round_half_up(total, 1)
            numerator = int(numerator) if numerator == int(numerator) else numerator
        if suppressed:
            return [dataset, year, measure, level, la_code, laestab, group, value_key, n, "",
                    "", "Y", "", "", ""]
        return [dataset, year, measure, level, la_code, laestab, group, value_key, n,
                numerator, f"{value:.1f}", "N", *[f"{c:.1f}" if c != "" else "" for c in ci],
                band]

    order = [m.code for m in measures_of(dataset)]
    listed = sorted(ours.items())
    for measure in order:
        if (measure, "all", "all") in ours:
            # An LA's own cells are never hidden from it; a national analyst's view of an LA is.
            rows.append(row(measure, "la", la, "", "all", "all", *ours[(measure, "all", "all")],
                            suppress_la))
        for g in groups:
            for (m, group, val), (n, total) in listed:
                if m == measure and group == g:
                    rows.append(row(measure, "la", la, "", g, val, n, total, False))
        for (m, group, laestab), (n, total) in sorted(listed, key=lambda kv: kv[0][2]):
            if m == measure and group == SCHOOL:
                rows.append(row(measure, "school", la, laestab, "all", "all", n, total,
                                False))
        if show_national and theirs is not None:
            if (measure, "all", "all") in nat:
                rows.append(row(measure, "national", "", "", "all", "all",
                                *nat[(measure, "all", "all")], True))
            for g in groups:
                for (m, group, val), (n, total) in sorted(nat.items()):
                    if m == measure and group == g:
                        rows.append(row(measure, "national", "", "", g, val, n, total, True))
    return rows


def _progress_row(head: list, total: float, sd: float | None, suppressed: bool) -> list:
    """A progress score's row: the mean of unrounded pupil scores to 2 dp, its interval from
    the national SD (score +/- 1.96 sd / sqrt(n)) and its band (methods.md 1.6, 1.8)."""
    from keystage.measures.ks4 import band

    if suppressed:
        return [*head, "", "", "Y", "", "", ""]
    n = head[-1]
    mean = total / n
    ci: list = ["", ""]
    label = ""
    if sd:
        half = Z95 * sd / math.sqrt(n)
        ci = [f"{round_half_up(mean - half, 2):.2f}", f"{round_half_up(mean + half, 2):.2f}"]
        label = band(mean, mean - half, mean + half)
        if head[0] == "ks2":
            # KS2 progress is in scaled-score points: "well" needs the school's rank among all
            # schools (methods.md 3.2), so Keystage says only above, below or average.
            label = label.removeprefix("well ")
    return [*head, f"{round_half_up(total, 2):.2f}", f"{round_half_up(mean, 2):.2f}", "N", *ci,
            label]


@dataclass(frozen=True)
class Published:
    """A published national figure of a measure and year, with where it comes from."""

    value: float
    source: str


def published_national(dataset: str, year: int) -> dict[str, Published]:
    """The published national figures of a dataset's measures for a year (reference data:
    keystage/measures/data/published_national.csv), by measure code."""
    return {r["measure"]: Published(float(r["value"]), r["source"])
            for r in _published() if r["dataset"] == dataset and int(r["year"]) == year}


@cache
def _published() -> tuple[dict, ...]:
    import csv
    from pathlib import Path

    path = Path(__file__).with_name("data") / "published_national.csv"
    with path.open(encoding="utf-8") as handle:
        return tuple(csv.DictReader(line for line in handle if not line.startswith("#")))
