"""KS1 to KS2 progress (methods.md 3.2) with emerging estimates; pure polars, no Django.

Prior attainment is the pupil's KS1 teacher assessment four years before as points,
`KS1 APS = ((reading + writing) / 2 + maths) / 2` (maths counts double). Each KS1 APS value is
its own prior attainment group: with the 2022 framework's points there are a few dozen values at
most, as the DfE's 19 groups of 2022 are. A group's estimate in a subject is the mean KS2 outcome
of every pupil of the group in this deployment (every LA loaded): the emerging estimate, as
Keypas/Nova users read before the DfE publishes its own. Pupil progress is actual minus
estimate; a school's is the mean, with interval +/- 1.96 SD / sqrt(n), the SD being the pupils'
national progress SD in the subject.

KS2 outcomes: reading and maths scaled scores, else the DfE's nominal scores for pupils below
the test (keystage.measures.ks2_scores); writing the teacher assessment as nominal points.
Pupils without KS1 results in all of reading, writing and maths with points (absent, disapplied,
missing or engagement model) have no group and no progress.
"""

from __future__ import annotations

import polars as pl

from keystage.measures.ks2_scores import prior_scores

# KS1 TA points (methods.md 3.2): PKF 4, WTS 6, EXS 8, GDS 10 [V-3rd]. The 2022 framework's
# pre-key-stage standards PK1-PK4 take 1-4, PK4 standing where PKF stood [I: Keystage's working
# choice until the DfE's 2026 guide is held]; EM, A, D, Q and others have none.
KS1_POINTS = {"PK1": 1.0, "PK2": 2.0, "PK3": 3.0, "PK4": 4.0, "PKF": 4.0, "WTS": 6.0,
              "EXS": 8.0, "GDS": 10.0}
# KS2 writing TA as nominal points (methods.md 3.2: WTS 91, EXS 103, GDS 113 [I], not verified
# against the DfE guide) and the reading/maths nominal scores for the older pre-key-stage codes.
WRITING_POINTS = {"PKF": 73.0, "PKE": 76.0, "PKG": 79.0, "WTS": 91.0, "EXS": 103.0,
                  "GDS": 113.0}
SUBJECTS = {"rea_prog": "read", "wri_prog": "writing", "mat_prog": "maths"}


def _points(column: str, table: dict[str, float]) -> pl.Expr:
    return (pl.col(column).cast(pl.String).fill_null("").str.strip_chars().str.to_uppercase()
            .replace_strict(table, default=None, return_dtype=pl.Float64))


def ks1_prior(ks1: pl.DataFrame) -> pl.DataFrame:
    """pupil_id, ks1_aps for each pupil with points in KS1 reading, writing and maths."""
    for column in ("RE", "WR", "MAT"):
        if column not in ks1.columns:
            ks1 = ks1.with_columns(pl.lit(None, pl.String).alias(column))
    aps = ((_points("RE", KS1_POINTS) + _points("WR", KS1_POINTS)) / 2
           + _points("MAT", KS1_POINTS)) / 2
    return (ks1.select("pupil_id", ks1_aps=aps).drop_nulls()
            .unique("pupil_id", keep="first", maintain_order=True))


def ks2_outcomes(ks2: pl.DataFrame, year: int) -> pl.DataFrame:
    """pupil_id, la, laestab, read, writing, maths: the KS2 outcomes progress is measured on."""
    scores = prior_scores(ks2, year)
    return scores.select("pupil_id", "la", "laestab", "read", "maths",
                         writing=_points("WRITTAOUTCOME", WRITING_POINTS))


ESTIMATES = {"ks1_aps": pl.Float64, **{f"est_{s}": pl.Float64 for s in SUBJECTS.values()}}


def _with_prior(ks1: pl.DataFrame, ks2: pl.DataFrame, year: int) -> pl.DataFrame:
    return ks2_outcomes(ks2, year).join(ks1_prior(ks1), on="pupil_id", how="left")


def emerging_estimates(ks1: pl.DataFrame, ks2: pl.DataFrame, year: int) -> pl.DataFrame:
    """Each prior attainment group's estimate in each subject (ESTIMATES), from every LA's
    KS1 and KS2 frames: the mean outcome of the group's pupils."""
    pupils = _with_prior(ks1, ks2, year)
    return pupils.filter(pl.col("ks1_aps").is_not_null()).group_by("ks1_aps").agg(
        **{f"est_{s}": pl.col(s).mean() for s in SUBJECTS.values()}).cast(ESTIMATES)


def pupil_progress(ks1: pl.DataFrame, ks2: pl.DataFrame, year: int,
                   estimates: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per pupil of the KS2 frame: ks1_aps, and for each subject the actual outcome, the
    emerging estimate and the progress score. The estimates are every LA's: give them
    (emerging_estimates) when the frames are one LA's, else the frames must be every LA's."""
    pupils = _with_prior(ks1, ks2, year)
    if estimates is None:
        estimates = emerging_estimates(ks1, ks2, year)
    out = pupils.join(estimates, on="ks1_aps", how="left")
    return out.with_columns(**{code: pl.col(s) - pl.col(f"est_{s}")
                               for code, s in SUBJECTS.items()})


def progress_rows(ks1: pl.DataFrame, ks2: pl.DataFrame, year: int,
                  estimates: pl.DataFrame | None = None) -> pl.DataFrame:
    """The report's long rows (primary.PUPIL_SCHEMA) of rea_prog, wri_prog and mat_prog; none
    when no KS2 pupil has a KS1 prior (the DfE's years without progress, 2024 and 2025).
    `estimates` as pupil_progress takes them."""
    from keystage.measures.primary import PUPIL_SCHEMA

    if ks1.is_empty() or ks2.is_empty():
        return pl.DataFrame(schema=PUPIL_SCHEMA)
    scored = pupil_progress(ks1, ks2, year, estimates)
    frames = [scored.select("pupil_id", "la", "laestab", measure=pl.lit(code),
                            counted=pl.col(code).is_not_null(), value=pl.col(code))
              for code in SUBJECTS]
    return pl.concat(frames).cast(PUPIL_SCHEMA)


def national_sds(rows: pl.DataFrame) -> dict[str, float]:
    """Each progress measure's national pupil-level SD, from every LA's long rows."""
    counted = rows.filter(pl.col("counted") & pl.col("measure").is_in(list(SUBJECTS)))
    if counted.is_empty():
        return {}
    sds = counted.group_by("measure").agg(sd=pl.col("value").std())
    return {m: sd for m, sd in sds.iter_rows() if sd is not None and sd > 0}


# A national picture is summed LA by LA (keystage.analysis.national), yet progress is measured
# against estimates made from every LA's pupils. Each LA's part therefore holds, per progress
# measure and prior attainment group, its pupils' count, the total of their KS2 outcomes
# (measure `rea_prog|8.0`) and, for all pupils, the total of their squares (group SQUARES):
# progress = outcome - estimate is then summed exactly for any group, and the estimates (the
# groups' means) and the SDs follow from the sums, so one LA's load never re-reads another's.
PRIOR = "|"
SQUARES = "squares"


def prior_rows(ks1: pl.DataFrame, ks2: pl.DataFrame, year: int) -> pl.DataFrame:
    """The long rows (primary.PUPIL_SCHEMA) of each pupil's KS2 outcome per progress measure,
    the measure named with the pupil's prior attainment group (`rea_prog|8.0`); pupils
    without a KS1 prior have none."""
    from keystage.measures.primary import PUPIL_SCHEMA

    if ks1.is_empty() or ks2.is_empty():
        return pl.DataFrame(schema=PUPIL_SCHEMA)
    pupils = _with_prior(ks1, ks2, year).filter(pl.col("ks1_aps").is_not_null())
    group = pl.col("ks1_aps").cast(pl.String)
    return pl.concat([
        pupils.select("pupil_id", "la", "laestab", measure=pl.lit(code + PRIOR) + group,
                      counted=pl.col(s).is_not_null(), value=pl.col(s))
        for code, s in SUBJECTS.items()]).cast(PUPIL_SCHEMA)


def prior_squares(rows: pl.DataFrame) -> dict[tuple[str, str, str], tuple[int, float]]:
    """The sums of the squared outcomes of prior_rows' counted rows, by measure (group
    SQUARES), which give the national SDs of progress."""
    squares = rows.filter(pl.col("counted")).group_by("measure").agg(
        pupils=pl.len(), total=(pl.col("value") ** 2).sum())
    return {(m, SQUARES, "all"): (n, q) for m, n, q in squares.iter_rows()}


def from_prior_sums(sums: dict[tuple[str, str, str], tuple[int, float]]
                    ) -> tuple[dict, pl.DataFrame, dict[str, float]]:
    """Every LA's summed parts (prior_rows and prior_squares in keystage.measures.primary's
    sums) made into the progress measures' sums, the emerging estimates (ESTIMATES) and the
    national SDs: the other measures' sums are passed through as they are."""
    out: dict = {}
    prior: dict = {}
    for key, value in sums.items():
        if PRIOR in key[0]:
            prior[key] = value
        else:
            out[key] = value
    # A group's estimate in a subject: the mean outcome of its pupils (emerging_estimates).
    estimates: dict[tuple[str, str], float] = {
        (measure, group): total / n for (measure, group_name, _), (n, total) in prior.items()
        if group_name == "all" and n
        for measure, group in [measure.split(PRIOR, 1)]}
    squares: dict[str, list[float]] = {}
    for (key, group_name, value), (n, total) in prior.items():
        if group_name == SQUARES:
            continue
        measure, group = key.split(PRIOR, 1)
        estimate = estimates[(measure, group)]
        target = (measure, group_name, value)
        pupils, progress = out.get(target, (0, 0.0))
        out[target] = (pupils + n, progress + total - n * estimate)
        if group_name == "all":
            # sum of (x - e)^2 = sum x^2 - 2 e sum x + n e^2, with sum x^2 from SQUARES.
            squared = prior[(key, SQUARES, "all")][1]
            acc = squares.setdefault(measure, [0, 0.0, 0.0])
            acc[0] += n
            acc[1] += total - n * estimate
            acc[2] += squared - 2 * estimate * total + n * estimate * estimate
    sds = {}
    for measure, (n, total, squared) in squares.items():
        if n > 1:
            variance = max((squared - total * total / n) / (n - 1), 0.0)
            if variance > 0:
                sds[measure] = variance ** 0.5
    by_group: dict[float, dict[str, float]] = {}
    for (measure, group), estimate in estimates.items():
        by_group.setdefault(float(group), {})[f"est_{SUBJECTS[measure]}"] = estimate
    frame = pl.DataFrame(
        [{"ks1_aps": group, **values} for group, values in sorted(by_group.items())],
        schema=ESTIMATES)
    return out, frame, sds
