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
