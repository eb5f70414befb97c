"""KS2 prior attainment with the DfE's nominal scores for pupils below the test (methods.md 1.3)."""

from __future__ import annotations

import polars as pl
import pytest

from keystage.measures.ks2_scores import nominal_score, prior_scores


@pytest.mark.parametrize(("outcome", "year", "score"), [
    ("N", 2019, 79), ("PKG", 2019, 79), ("PKE", 2017, 76), ("PKF", 2018, 73),
    ("BLW", 2016, 70), ("BLW", 2017, 71), ("blw", 2019, 71), ("B", 2019, None),
    ("A", 2019, None), ("", 2019, None), (None, 2019, None),
])
def test_each_outcome_below_the_test_has_the_dfe_nominal_score(outcome, year, score):
    assert nominal_score(outcome, year) == score


def test_a_scaled_score_wins_and_a_pupil_without_either_has_no_prior():
    frame = pl.DataFrame({"READSCORE": ["104", None, None, None],
                          "READOUTCOME": ["AS", "N", "B", "A"],
                          "MATSCORE": ["95", "96", "100", None],
                          "MATOUTCOME": ["NS", "NS", "AS", "PKF"]})

    scores = prior_scores(frame, 2019)

    assert scores.select("read", "maths").rows() == [(104.0, 95.0), (79.0, 96.0), (None, 100.0),
                                                      (None, 73.0)]
