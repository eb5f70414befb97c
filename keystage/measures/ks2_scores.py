"""KS2 reading and maths scores as prior attainment, with the DfE's nominal scores for pupils
working below the test (methods.md 1.3); pure polars, no Django.

The KS4 ready reckoner (`global.R`, `choicesPupil`) gives a pupil with no scaled score a
nominal one from their outcome: BLW 70 (71 from the 2017 KS2 cohort), PKF 73, PKE 76, PKG 79,
and N (took the test, below the scaled-score threshold) 79. A pupil who is only `B` (working
below the test, with no pre-key-stage outcome in the file) or absent has none, and so no prior.
"""

from __future__ import annotations

import polars as pl

NOMINAL = {"PKF": 73, "PKE": 76, "PKG": 79, "N": 79}
BLW = {2016: 70}  # 71 for every later KS2 cohort
BLW_LATER = 71


def nominal_score(outcome: str | None, ks2_year: int) -> int | None:
    """The nominal score of a KS2 outcome without a scaled score, or None."""
    code = (outcome or "").strip().upper()
    if code == "BLW":
        return BLW.get(ks2_year, BLW_LATER)
    return NOMINAL.get(code)


def _subject(score: str, outcome: str, ks2_year: int) -> pl.Expr:
    codes = {**NOMINAL, "BLW": BLW.get(ks2_year, BLW_LATER)}
    nominal = (pl.col(outcome).cast(pl.String).fill_null("").str.strip_chars().str.to_uppercase()
               .replace_strict(codes, default=None, return_dtype=pl.Float64))
    return pl.coalesce(pl.col(score).cast(pl.Float64, strict=False), nominal)


def prior_scores(frame: pl.DataFrame, ks2_year: int) -> pl.DataFrame:
    """`read` and `maths` (Float64) for each row of a KS2 results frame (READSCORE, READOUTCOME,
    MATSCORE, MATOUTCOME as text): the scaled score, else the outcome's nominal score, else
    null."""
    return frame.with_columns(read=_subject("READSCORE", "READOUTCOME", ks2_year),
                              maths=_subject("MATSCORE", "MATOUTCOME", ks2_year))
