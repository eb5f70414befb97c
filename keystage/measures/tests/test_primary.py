"""Every primary measure of methods.md 11.2 counts and scores the right pupils (a table of
cases per measure, edge cases included), and cells round, suppress and band as declared."""

from __future__ import annotations

import polars as pl
import pytest

from keystage.measures import primary
from keystage.measures.primary import (
    ELGS,
    GROUPS,
    MEASURES,
    PUPIL_SCHEMA,
    cells,
    round_half_up,
    wilson_interval,
)


def _frame(rows: list[dict]) -> pl.DataFrame:
    base = [{"pupil_id": i + 1, "la": "330", "laestab": "3302001", "ncyear": "R", **row}
            for i, row in enumerate(rows)]
    return pl.DataFrame(base, infer_schema_length=None).with_columns(
        pl.all().exclude("pupil_id").cast(pl.String))


def _elgs(value="2", **overrides) -> dict:
    return {**dict.fromkeys(ELGS, value), **overrides}


def _outcome(outcomes: pl.DataFrame, measure: str) -> list[tuple[bool, float]]:
    chosen = outcomes.filter(pl.col("measure") == measure).sort("pupil_id")
    return list(zip(chosen["counted"].to_list(), chosen["value"].to_list(), strict=True))


# (dataset, measure) -> (pupil rows, [(counted, value) per pupil])
CASES = {
    ("eyfsp", "gld"): (
        [_elgs(), _elgs(E03="1"), _elgs(E15="A"), _elgs(E16="1"), {"E01": "2"}],
        [(True, 1.0), (True, 0.0), (True, 0.0), (True, 1.0), (False, 0.0)]),
    ("eyfsp", "all_elgs"): (
        [_elgs(), _elgs(E16="1"), _elgs("A")], [(True, 1.0), (True, 0.0), (True, 0.0)]),
    ("eyfsp", "avg_elgs"): (
        [_elgs(), _elgs(E16="1", E17="1"), _elgs("A")],
        [(True, 17.0), (True, 15.0), (True, 0.0)]),
    ("phonics", "y1_met"): (
        [{"ncyear": "1", "PSC": "32"}, {"ncyear": "1", "PSC": "31"},
         {"ncyear": "1", "PSC": "A"}, {"ncyear": "1", "PSC": "L"}],
        [(True, 1.0), (True, 0.0), (True, 0.0), (False, 0.0)]),
    ("phonics", "y2_met_by_end"): (
        [{"ncyear": "2", "PSC": "35"}, {"ncyear": "2", "PSC": "20"},
         {"ncyear": "2", "PSC": "D"}, {"ncyear": "2", "PSC": "X"}],
        [(True, 1.0), (True, 0.0), (True, 0.0), (False, 0.0)]),
    ("ks1", "rea_exs"): (
        [{"RE": "GDS"}, {"RE": "WTS"}, {"RE": "A"}, {"RE": "L"}],
        [(True, 1.0), (True, 0.0), (True, 0.0), (False, 0.0)]),
    ("ks1", "wri_exs"): ([{"WR": "EXS"}, {"WR": "PK6"}], [(True, 1.0), (True, 0.0)]),
    ("ks1", "mat_exs"): ([{"MAT": "EXS"}, {"MAT": "F"}], [(True, 1.0), (False, 0.0)]),
    ("ks1", "sci_exs"): ([{"SCI": "EXS"}, {"SCI": "HNM"}, {"SCI": "P"}],
                         [(True, 1.0), (True, 0.0), (False, 0.0)]),
    ("ks2ta", "wri_exs"): ([{"WR": "GDS"}, {"WR": "WTS"}, {"WR": ""}],
                           [(True, 1.0), (True, 0.0), (False, 0.0)]),
    ("ks2ta", "wri_gds"): ([{"WR": "GDS"}, {"WR": "EXS"}], [(True, 1.0), (True, 0.0)]),
    ("ks2ta", "sci_exs"): ([{"SCI": "EXS"}, {"SCI": "D"}], [(True, 1.0), (True, 0.0)]),
    ("ks2", "rwm_exs"): (
        [{"READSCORE": "100", "MATSCORE": "105", "WRITTAOUTCOME": "EXS"},
         {"READSCORE": "99", "MATSCORE": "105", "WRITTAOUTCOME": "GDS"},
         {"READOUTCOME": "A", "MATSCORE": "105", "WRITTAOUTCOME": "EXS"},
         {"READSCORE": "100", "MATSCORE": "105", "WRITTAOUTCOME": "L"}],
        [(True, 1.0), (True, 0.0), (True, 0.0), (False, 0.0)]),
    ("ks2", "rwm_hs"): (
        [{"READSCORE": "110", "MATSCORE": "112", "WRITTAOUTCOME": "GDS"},
         {"READSCORE": "110", "MATSCORE": "112", "WRITTAOUTCOME": "EXS"}],
        [(True, 1.0), (True, 0.0)]),
    ("ks2", "rea_avg"): ([{"READSCORE": "104"}, {"READOUTCOME": "A"}],
                         [(True, 104.0), (False, None)]),
    ("ks2", "mat_avg"): ([{"MATSCORE": "96"}], [(True, 96.0)]),
    ("ks2", "gps_avg"): ([{"GPSSCORE": "120"}], [(True, 120.0)]),
    ("ks2", "rea_exs"): ([{"READSCORE": "100"}, {"READOUTCOME": "B"}, {"READOUTCOME": "X"}],
                         [(True, 1.0), (True, 0.0), (False, 0.0)]),
    ("ks2", "mat_exs"): ([{"MATSCORE": "99"}], [(True, 0.0)]),
    ("ks2", "gps_exs"): ([{"GPSSCORE": "100"}], [(True, 1.0)]),
    ("ks2", "rea_hs"): ([{"READSCORE": "110"}, {"READSCORE": "109"}],
                        [(True, 1.0), (True, 0.0)]),
    ("ks2", "mat_hs"): ([{"MATSCORE": "115"}], [(True, 1.0)]),
    ("ks2", "gps_hs"): ([{"GPSOUTCOME": "U"}], [(True, 0.0)]),
    ("mtc", "mtc_avg"): ([{"MTC": "25"}, {"MTC": "A"}], [(True, 25.0), (False, None)]),
    ("mtc", "mtc_full"): ([{"MTC": "25"}, {"MTC": "24"}, {"MTC": "NAA"}, {"MTC": "J"}],
                          [(True, 1.0), (True, 0.0), (True, 0.0), (False, 0.0)]),
}


@pytest.mark.parametrize(("dataset", "measure"), sorted(CASES))
def test_each_measure_counts_and_scores_each_pupil_as_defined(dataset, measure):
    rows, expected = CASES[(dataset, measure)]
    frame = _frame(rows)
    outcomes = (primary.phonics(frame) if dataset == "phonics"
                else primary.PUPIL_MEASURES[dataset](frame))

    got = _outcome(outcomes, measure)
    assert [c for c, _ in got] == [c for c, _ in expected]
    assert [v for (c, v) in got if c] == [v for (c, v) in expected if c]


def test_every_measure_has_a_case():
    # KS4, KS5 and KS1 to KS2 progress cases are in test_ks4.py, test_ks5.py and
    # test_ks2_progress.py (every measure has one there).
    assert ({(m.dataset, m.code) for m in MEASURES if m.dataset not in ("ks4", "ks5")
             and not m.code.endswith("_prog")} == set(CASES))


def test_a_year_2_pupil_who_met_the_standard_in_year_1_has_met_it_by_the_end_of_year_2():
    now = _frame([{"ncyear": "2", "PSC": "20"}])
    earlier = _frame([{"ncyear": "1", "PSC": "33"}])
    census = pl.DataFrame({"pupil_id": [1, 7], "la": ["330", "330"],
                           "laestab": ["3302001", "3302002"]})

    outcomes = primary.phonics(now, earlier, census)

    chosen = outcomes.filter(pl.col("measure") == "y2_met_by_end").sort("pupil_id")
    assert chosen.select("pupil_id", "counted", "value").rows() == [(1, True, 1.0),
                                                                    (7, False, 0.0)]


def _cells(values: list[float], *, national: bool, kind_measure=("eyfsp", "gld")):
    dataset, measure = kind_measure
    outcomes = pl.DataFrame({
        "pupil_id": list(range(1, len(values) + 1)), "la": ["330"] * len(values),
        "laestab": ["3302001"] * len(values), "measure": [measure] * len(values),
        "counted": [True] * len(values), "value": values})
    characteristics = pl.DataFrame(schema={"pupil_id": pl.Int64,
                                           **dict.fromkeys(primary.GROUPS, pl.String)})
    return cells(outcomes, characteristics, dataset=dataset, year=2026, la="330", by=None,
                 national=outcomes, show_national=national)


def test_a_percentage_cell_has_its_interval_and_its_band_against_national():
    la, nat = _cells([1.0] * 30 + [0.0] * 10, national=True)

    assert la[:12] == ["eyfsp", 2026, "gld", "la", "330", "", "all", "all", 40, 30, "75.0",
                       "N"]
    low, high = wilson_interval(0.75, 40)
    assert la[12:] == [f"{round_half_up(low, 1):.1f}", f"{round_half_up(high, 1):.1f}",
                       "in line"]
    assert nat[3] == "national" and nat[4] == "" and nat[14] == ""


def test_a_small_national_cell_is_suppressed_but_the_las_own_is_not():
    la, nat = _cells([1.0, 1.0, 1.0, 0.0], national=True)

    assert la[9:12] == [3, "75.0", "N"]
    assert nat[8:12] == [4, "", "", "Y"]


def test_an_average_has_no_interval_and_its_numerator_is_the_sum():
    (la,) = _cells([17.0, 15.0, 0.0], national=False, kind_measure=("eyfsp", "avg_elgs"))

    assert la[8:] == [3, 32, "10.7", "N", "", "", ""]


@pytest.mark.parametrize(("value", "expected"), [(62.25, 62.3), (62.35, 62.4), (0.05, 0.1)])
def test_values_round_half_away_from_zero(value, expected):
    assert round_half_up(value, 1) == expected


def test_every_published_national_figure_names_a_measure_of_the_registry():
    from keystage.measures.primary import _published

    codes = {(m.dataset, m.code) for m in MEASURES}
    rows = _published()

    assert rows and all((r["dataset"], r["measure"]) in codes for r in rows)
    assert all(r["source"] and 2000 <= int(r["year"]) <= 2099 for r in rows)


def test_published_figures_are_read_by_dataset_and_year():
    from keystage.measures.primary import published_national

    figures = published_national("ks4", 2023)

    assert figures["a8"].value == 46.3 and "revised" in figures["a8"].source
    assert published_national("ks4", 2026) == {}


@pytest.mark.parametrize("spread", ["few profiles", "many profiles"])
def test_group_cells_count_the_same_whichever_way_the_traits_are_summed(spread):
    """cells() sums groups once per profile of traits when pupils share a few, else a group at
    a time: both give what a plain join of every row with its traits gives."""
    import random

    rng = random.Random(7)
    n = 400
    pupils = pl.DataFrame({
        "pupil_id": list(range(n)), "la": ["330"] * n,
        "laestab": [f"330200{i % 3}" for i in range(n)], "measure": ["gld"] * n,
        "counted": [i % 10 != 0 for i in range(n)],
        "value": [float(rng.random() < 0.6) for _ in range(n)]}).cast(PUPIL_SCHEMA)
    values = (["Y", "N"] if spread == "few profiles" else ["Y", "N", "", None])
    traits = {g: [rng.choice(values) if spread == "many profiles" or g == "sex" else "N"
                  for _ in range(n)] for g in GROUPS}
    characteristics = pl.DataFrame({"pupil_id": list(range(n - 5)),
                                    **{g: v[: n - 5] for g, v in traits.items()}})

    rows = cells(pupils, characteristics, dataset="eyfsp", year=2026, la="330", by="group",
                 national=None)

    got = {(r[6], r[7]): (r[8], r[9]) for r in rows if r[2] == "gld" and r[6] != "all"}
    joined = pupils.filter(pl.col("counted")).join(characteristics, on="pupil_id", how="left")
    for g in GROUPS:
        expected = joined.with_columns(pl.col(g).cast(pl.String).fill_null("")
                                       .replace("", "unknown")).group_by(g).agg(
            pl.len(), pl.col("value").sum())
        for value, count, total in expected.iter_rows():
            assert got[(g, value)] == (count, int(total)), (g, value)


@pytest.mark.parametrize("spread", ["few profiles", "many profiles"])
def test_a_batch_of_las_summed_at_once_gives_each_las_own_national_sums(spread):
    """la_parts sums several LAs' rows in one go: each LA's part is exactly national_sums of
    its own rows and characteristics (pupils with no characteristics, rows with no pupil and
    rows not counted included)."""
    import random

    from keystage.measures.primary import la_parts, national_sums

    rng = random.Random(11)
    frames, characteristics = [], []
    for code, n in (("330", 300), ("331", 120), ("332", 7)):
        base = int(code) * 1_000
        ids = [base + i if i % 25 else None for i in range(n)]
        frames.append(pl.DataFrame({
            "pupil_id": ids * 2, "la": [code] * (2 * n),
            "laestab": [f"{code}200{i % 3}" for i in range(2 * n)],
            "measure": ["gld"] * n + ["elg_avg"] * n,
            "counted": [i % 10 != 0 for i in range(2 * n)],
            "value": [float(rng.random() < 0.6) for _ in range(n)]
            + [float(rng.randint(0, 17)) for _ in range(n)]}).cast(PUPIL_SCHEMA))
        values = ["Y", "N"] if spread == "few profiles" else ["Y", "N", "", None, "X"]
        have = [base + i for i in range(n - 3)]
        characteristics.append(pl.DataFrame({
            "la": [code] * len(have), "pupil_id": have,
            **{g: [rng.choice(values) if spread == "many profiles" or g == "sex" else "N"
                   for _ in have] for g in GROUPS}}))
    # An LA whose pupils are all uncounted has no part.
    frames.append(frames[-1].with_columns(la=pl.lit("333"), counted=pl.lit(False)))

    parts = la_parts(pl.concat(frames), pl.concat(characteristics))

    assert set(parts) == {"330", "331", "332"}
    for frame, traits in zip(frames, characteristics, strict=False):
        code = frame["la"][0]
        expected = national_sums(frame, traits.drop("la"))
        assert parts[code] == expected, code


def test_several_datasets_summed_together_give_each_datasets_own_la_parts():
    """datasets_la_parts sums every dataset of a batch against one set of profiles: each
    dataset's parts are exactly la_parts of that dataset alone (measure codes shared between
    datasets kept apart)."""
    import random

    from keystage.measures.primary import datasets_la_parts, la_parts

    rng = random.Random(5)
    ids = [1_000 + i for i in range(200)]

    def outcomes(la: str, measure: str) -> pl.DataFrame:
        return pl.DataFrame({
            "pupil_id": ids, "la": [la] * len(ids), "laestab": ["3302000"] * len(ids),
            "measure": [measure] * len(ids), "counted": [i % 7 != 0 for i in ids],
            "value": [float(rng.random() < 0.5) for _ in ids]}).cast(PUPIL_SCHEMA)

    frames = {"ks1": pl.concat([outcomes("330", "wri_exs"), outcomes("331", "wri_exs")]),
              "ks2ta": outcomes("330", "wri_exs"),
              "mtc": outcomes("331", "mtc_avg").with_columns(counted=pl.lit(False))}
    characteristics = pl.DataFrame({
        "la": ["330"] * 150 + ["331"] * 150, "pupil_id": ids[:150] * 2,
        **{g: [rng.choice(["Y", "N", ""]) for _ in range(300)] for g in GROUPS}})

    together = datasets_la_parts(frames, characteristics)

    assert set(together) == {"ks1", "ks2ta"}  # no counted pupil of mtc: no part
    for dataset, frame in frames.items():
        assert together.get(dataset, {}) == la_parts(frame, characteristics), dataset
    assert datasets_la_parts({}, characteristics) == {}
