"""KS4 measures (keystage.measures.ks4) against methods.md sections 1, 2 and 11.3, case by case."""

from __future__ import annotations

import polars as pl
import pytest

from keystage.measures.ks4 import band, capped, estimates, ks4, pupil_scores


def results(*entries, pupil=1) -> pl.DataFrame:
    return pl.DataFrame([{"pupil_id": pupil, "la": "330", "laestab": "3304001", "subject": s,
                          "grade": g} for s, g in entries])


def prior(read, maths, pupil=1) -> pl.DataFrame:
    return pl.DataFrame({"pupil_id": [pupil], "read": [read], "maths": [maths]})


WORKED = (("ENGLANG", "6"), ("ENGLIT", "5"), ("MATHS", "5"), ("COMBSCI", "5-4"),
          ("HISTORY", "6"), ("FRENCH", "4"), ("ART", "7"))


def test_the_worked_example_of_methods_1_5_gives_its_a8_p8_and_elements():
    [pupil] = pupil_scores(results(*WORKED), prior(104, 106), 2024).to_dicts()

    assert (pupil["english_points"], pupil["maths_points"], pupil["ebacc_points"],
            pupil["open_points"], pupil["a8"]) == (12, 10, 15, 16, 53)
    assert pupil["pag"] == 19
    assert [round(pupil[k], 3) for k in ("p8", "p8_eng", "p8_mat", "p8_ebacc", "p8_open")] \
        == [0.788, 1.075, 0.515, 0.683, 0.883]
    assert pupil["open_subjects"] == ["ART", "ENGLIT", "FRENCH"]


# (entries, expected a8, ebacc_entry, em_4plus, em_5plus)
CASES = {
    "one English counts single and leaves nothing for open": (
        (("ENGLANG", "6"), ("MATHS", "4")), 6 + 8, False, True, False),
    "English literature alone fills the English slot single": (
        (("ENGLIT", "5"), ("MATHS", "5")), 5 + 10, False, True, True),
    "the same subject twice counts once, at the better grade": (
        (("MATHS", "3"), ("MATHS", "6")), 12, False, False, False),
    "a U is an entry worth nothing": (
        (("ENGLANG", "U"), ("ENGLIT", "U"), ("MATHS", "U"), ("COMBSCI", "U"), ("HISTORY", "U"),
         ("FRENCH", "U")), 0, True, False, False),
    "two single sciences are not an EBacc science entry": (
        (("ENGLANG", "5"), ("ENGLIT", "5"), ("MATHS", "5"), ("BIOLOGY", "5"),
         ("CHEMISTRY", "5"), ("HISTORY", "5"), ("FRENCH", "5")), 10 + 10 + 15 + 10, False,
        True, True),
    "three single sciences are": (
        (("ENGLANG", "5"), ("ENGLIT", "5"), ("MATHS", "5"), ("BIOLOGY", "5"),
         ("CHEMISTRY", "5"), ("PHYSICS", "5"), ("HISTORY", "5"), ("FRENCH", "5")),
        10 + 10 + 15 + 15, True, True, True),
    "combined science fills two EBacc slots at its mean grade": (
        (("COMBSCI", "7-6"), ("GEOGRAPHY", "5")), 6.5 + 6.5 + 5, False, False, False),
    "a fourth EBacc subject goes to the open slots": (
        (("BIOLOGY", "9"), ("CHEMISTRY", "8"), ("PHYSICS", "7"), ("HISTORY", "6")),
        9 + 8 + 7 + 6, False, False, False),
    "only three open slots count": (
        (("ART", "9"), ("MUSIC", "8"), ("DRAMA", "7"), ("PE", "9")), 9 + 9 + 8, False, False,
        False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_attainment_8_ebacc_entry_and_the_basics_as_each_case_says(case):
    entries, a8, entry, four, five = CASES[case]
    [pupil] = pupil_scores(results(*entries), None, 2024).to_dicts()

    assert pupil["a8"] == pytest.approx(a8)
    assert (pupil["ebacc_entry"], pupil["em_4plus"], pupil["em_5plus"]) == (entry, four, five)


def test_ebacc_aps_averages_six_pillars_with_a_missing_one_worth_nothing():
    [pupil] = pupil_scores(results(("ENGLANG", "6"), ("ENGLIT", "4"), ("MATHS", "5"),
                                   ("COMBSCI", "5-4"), ("GEOGRAPHY", "3")), None,
                           2024).to_dicts()

    # English 6, maths 5, science 4.5 + 4.5, humanity 3, no language.
    assert pupil["ebacc_aps"] == pytest.approx(23 / 6)


@pytest.mark.parametrize(("read", "maths", "pag"), [
    (80, 84, 1), (82, 83, 2), (119, 120, 34), (100, 100, 14), (104, 106, 19)])
def test_the_prior_attainment_group_follows_the_ranges_closed_at_the_top(read, maths, pag):
    [pupil] = pupil_scores(results(("MATHS", "5")), prior(read, maths), 2024).to_dicts()

    assert pupil["pag"] == pag


def test_no_prior_means_no_progress_score_and_a8_still_counts():
    rows = ks4(results(*WORKED), None, 2024)

    assert rows.filter(pl.col("measure") == "a8")["counted"].to_list() == [True]
    assert rows.filter(pl.col("measure") == "p8")["counted"].to_list() == [False]


@pytest.mark.parametrize("year", [2025, 2026, 2021])
def test_a_year_with_no_estimates_has_no_progress_rows_at_all(year):
    rows = ks4(results(*WORKED), prior(104, 106), year)

    assert estimates(year) is None
    assert not rows.filter(pl.col("measure").str.starts_with("p8")).height


def test_revised_estimates_are_used_where_the_dfe_revised_them():
    assert (estimates(2023).version, estimates(2024).version) == ("revised", "provisional")
    assert estimates(2023).table.filter(pl.col("pag") == 1)["a8"][0] == 15.86


def test_a_score_below_its_groups_minimum_is_raised_to_it():
    scores = pl.DataFrame({"pupil_id": [1, 2], "pag": [5, 5], "p8": [-4.0, -1.0]})

    out = capped(scores, {5: -3.1})

    assert out["p8_capped"].to_list() == [-3.1, -1.0]


# methods.md 1.10: published 2019 P8, pupils and band (sigma 1.282479), borderline ones left out.
PUBLISHED_2019 = [(1.19, 93, "well above"), (-0.40, 119, "below"), (0.95, 100, "well above"),
                  (0.24, 120, "above"), (0.26, 196, "above"), (-0.21, 70, "average"),
                  (0.14, 280, "average"), (-0.21, 275, "below"), (0.57, 265, "well above"),
                  (0.90, 111, "well above")]


@pytest.mark.parametrize(("p8", "n", "published"), PUBLISHED_2019)
def test_bands_reproduce_the_published_2019_school_bands(p8, n, published):
    half = 1.96 * 1.282479 / n ** 0.5

    assert band(p8, p8 - half, p8 + half) == published


def test_every_ks4_measure_of_the_registry_is_computed():
    from keystage.measures.primary import measures_of

    rows = ks4(results(*WORKED), prior(104, 106), 2024)

    assert set(rows["measure"]) == {m.code for m in measures_of("ks4")}


def test_a_pupils_working_shows_each_slot_and_why_an_entry_was_left_out():
    from keystage.measures.ks4 import explain

    working = explain(results(*WORKED, ("ART", "3"), ("DANCE", "9"), ("MUSIC", "2")),
                      prior(104, 106), 2024)

    assert [s[0] for s in working["slots"]] == ["English", "Maths", "EBacc", "EBacc", "EBacc",
                                                "Open", "Open", "Open"]
    assert working["slots"][0][3] == "double: language and literature both entered"
    assert working["a8"] == 53 and working["pag"] == 19 and working["a8_estimate"] == 45.12
    reasons = {(s, g): r for s, g, r in working["left_out"]}
    assert reasons[("DANCE", "9")] == "not a subject that counts in 2024"
    assert reasons[("Art and design", "3")] == "entered again: the better grade counts once"
    assert reasons[("Music", "2")] == "a lower score than every open slot already holds"


def test_ebacc_subject_value_added_takes_each_areas_score_from_the_groups_estimate():
    from keystage.measures.ks4 import ebacc_subject_va

    va = ebacc_subject_va(results(*WORKED, ("GEOGRAPHY", "8")), prior(104, 106), 2024)

    got = {r["area"]: (r["score"], r["estimate"], round(r["va"], 2)) for r in va.to_dicts()}
    estimates_19 = pl.read_csv(
        "keystage/measures/data/ks4_ebacc_va_estimates.csv", comment_prefix="#").filter(
        (pl.col("year") == 2024) & (pl.col("pag") == 19)).to_dicts()[0]
    # Science: combined science 5-4 twice (4.5); humanities: the better of history 6 and
    # geography 8; languages: French 4.
    assert got["science"][:2] == (4.5, estimates_19["science"])
    assert got["humanities"][0] == 8 and got["languages"][0] == 4
    assert set(got) == {"science", "humanities", "languages"}


def test_scores_do_not_depend_on_the_ids_the_rows_order_or_the_batches(monkeypatch):
    """The national code path (issue 14's benchmark) works on the rows as integers, in
    batches: any ids, any order and any batch size give the same scores."""
    from keystage.measures import ks4 as module

    frame = pl.concat([results(*entries, pupil=index) for index, (entries, *_)
                       in enumerate(CASES.values(), start=1)] + [results(*WORKED, pupil=99)])
    priors = pl.concat([prior(100 + i, 98 + i, pupil=i) for i in (1, 3, 5, 99)])

    def scores(frame, priors, shift=0):
        out = pupil_scores(frame, priors.with_columns(pl.col("pupil_id") + shift), 2024)
        return out.with_columns(pl.col("pupil_id") - shift).sort("pupil_id")

    expected = scores(frame, priors)
    for shift in (2**45, -1000):
        assert scores(frame.with_columns(pl.col("pupil_id") + shift), priors,
                      shift).equals(expected)
    assert scores(frame.sample(fraction=1.0, shuffle=True, seed=4), priors).equals(expected)
    monkeypatch.setattr(module, "BATCH", 3)
    monkeypatch.setattr(module, "SLICE", 2)
    assert scores(frame, priors).equals(expected)
    assert expected.filter(pl.col("pupil_id") == 99)["a8"].to_list() == [53]


def test_the_band_expression_bands_each_row_as_band_does():
    from keystage.measures.ks4 import band, band_expr

    cases = [(0.8, 0.1, 1.5), (0.3, 0.1, 0.5), (0.0, -0.4, 0.4), (-0.3, -0.6, -0.1),
             (-0.9, -1.5, -0.2), (0.5, 0.0, 1.0)]
    frame = pl.DataFrame(cases, schema=["va", "low", "high"], orient="row")

    got = frame.select(band=band_expr("va", "low", "high"))["band"].to_list()

    assert got == [band(*case) for case in cases]
