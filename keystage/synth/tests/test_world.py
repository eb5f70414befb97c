"""The synthetic world: determinism, identifiers, characteristics and national rates."""

from __future__ import annotations

import datetime as dt
from functools import cache

import polars as pl
import pytest

from keystage.datasets import COHORT_CODES
from keystage.formats.la_codes import current_english_la_codes
from keystage.formats.upn import is_valid
from keystage.synth.world import (
    PUPIL_COLUMNS,
    World,
    WorldSpec,
    build_world,
    default_primary_schools,
    national_spec,
)
from keystage.years import academic_year_label

SMALL_LA_SCHOOLS = 6


@cache
def demo_world() -> World:
    """The demo LA at its default size."""
    return build_world(WorldSpec())


@cache
def every_la_world() -> World:
    """Every current English LA plus the demo LA, each small: a cheap stand-in for the nation."""
    codes = (*current_english_la_codes(), "999")
    return build_world(WorldSpec(seed=11, la_codes=codes, primary_schools=SMALL_LA_SCHOOLS))


def share(frame: pl.DataFrame, expr: pl.Expr) -> float:
    """Percentage of rows for which `expr` holds (nulls count as false)."""
    return 100.0 * frame.select(expr.fill_null(False).mean()).item()


def year_group(world: World, ncyear: str) -> pl.DataFrame:
    """The pupils of one year group."""
    return world.pupils.filter(pl.col("ncyear") == ncyear)


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_world() -> None:
    spec = WorldSpec(seed=5, la_codes=("999", "202"), primary_schools=12)
    first, second = build_world(spec), build_world(spec)
    for name, frame in first.truth_frames().items():
        assert frame.equals(second.truth_frames()[name]), name


def test_different_seeds_give_different_worlds() -> None:
    first = build_world(WorldSpec(seed=1, primary_schools=10))
    second = build_world(WorldSpec(seed=2, primary_schools=10))
    assert not first.pupils.equals(second.pupils)
    assert not first.schools.equals(second.schools)


def test_la_part_is_the_same_alone_and_in_a_national_world() -> None:
    alone = build_world(WorldSpec(seed=11, la_codes=("999",), primary_schools=SMALL_LA_SCHOOLS))
    national = every_la_world()
    assert national.pupils.filter(pl.col("la_code") == "999").equals(alone.pupils)
    assert national.schools.filter(pl.col("la_code") == "999").equals(alone.schools)
    laestabs = alone.expected_cohorts["LAESTAB"].unique()
    part = national.expected_cohorts.filter(pl.col("LAESTAB").is_in(laestabs.implode()))
    assert part.equals(alone.expected_cohorts)


def test_default_la_size_does_not_depend_on_the_other_las() -> None:
    alone = build_world(WorldSpec(la_codes=("202",)))
    together = build_world(WorldSpec(la_codes=("999", "202")))
    assert together.pupils.filter(pl.col("la_code") == "202").equals(alone.pupils)
    assert default_primary_schools(1, "999") == 60
    primaries = demo_world().schools.filter(
        pl.col("kind").is_in(["primary", "infant", "junior"]) & (pl.col("status") != "Closed")
    )
    assert primaries.height == 60


def test_national_spec_covers_every_current_english_la() -> None:
    spec = national_spec(seed=3, year=2025)
    assert spec.la_codes == tuple(current_english_la_codes())
    assert (spec.seed, spec.year, spec.primary_schools) == (3, 2025, None)
    assert len(spec.la_codes) > 140


def test_national_world_would_have_about_600000_pupils_per_year_group() -> None:
    # Why not build it: the national world takes seconds; its size follows from the LA sizes.
    small = every_la_world()
    schools = small.schools.filter(
        pl.col("kind").is_in(["primary", "infant", "junior"]) & (pl.col("status") != "Closed")
    ).height
    per_school = small.pupils.height / 6 / schools
    total_schools = sum(default_primary_schools(1, code) for code in current_english_la_codes())
    assert 570_000 <= per_school * total_schools <= 630_000


def test_spec_rejects_codes_outside_england() -> None:
    for codes in (("660",), ("123",), ("999", "999"), ()):
        with pytest.raises(ValueError):
            WorldSpec(la_codes=codes)
    with pytest.raises(ValueError):
        WorldSpec(primary_schools=0)


# --- identifiers ------------------------------------------------------------------------------


def test_every_upn_is_valid_and_unique() -> None:
    pupils = every_la_world().pupils
    upns = pupils["upn"]
    assert upns.n_unique() == pupils.height
    assert all(is_valid(upn) for upn in upns)
    assert pupils["pupil_id"].n_unique() == pupils.height


def test_upn_names_the_issuing_la_school_and_the_year_the_pupil_started() -> None:
    world = demo_world()
    year = world.spec.year
    started = {
        "R": year - 1,
        "1": year - 2,
        "2": year - 3,
        "4": year - 5,
        "6": year - 7,
        "11": year - 12,
    }
    pupils = world.pupils.with_columns(
        pl.col("upn").str.slice(1, 3).alias("upn_la"),
        pl.col("upn").str.slice(4, 4).alias("upn_estab"),
        pl.col("upn").str.slice(8, 2).alias("upn_year"),
    )
    assert (pupils["upn_la"] == "999").all()
    issuing = world.schools.filter(pl.col("kind").is_in(["primary", "infant", "special"]))
    assert pupils["upn_estab"].is_in(issuing["estab"].implode()).all()
    for ncyear, first_year in started.items():
        years = year_group(world, ncyear)["upn"].str.slice(8, 2).unique().to_list()
        assert years == [f"{first_year % 100:02d}"]
    # Most Reception children got their UPN from the school they are in.
    reception = pupils.filter(pl.col("ncyear") == "R").join(
        world.schools.select("urn", "estab"), on="urn"
    )
    assert share(reception, pl.col("estab") == pl.col("upn_estab")) > 90


def test_schools_have_unique_urns_and_establishment_numbers() -> None:
    schools = every_la_world().schools
    assert schools["urn"].n_unique() == schools.height
    assert schools["urn"].str.contains(r"^\d{6}$").all()
    pvi = schools.filter(pl.col("kind") == "pvi")
    others = schools.filter(pl.col("kind") != "pvi")
    assert pvi["urn"].str.contains(r"^[567]").all()
    assert pvi["estab"].is_null().all() and pvi["laestab"].is_null().all()
    assert others["urn"].str.starts_with("1").all()
    assert others["estab"].str.contains(r"^\d{4}$").all()
    assert others["laestab"].n_unique() == others.height
    assert (others["laestab"] == others["la_code"] + others["estab"]).all()
    first_digit = others.select(pl.col("kind"), pl.col("estab").str.slice(0, 1).alias("d"))
    expected = {
        "primary": {"2", "3"},
        "infant": {"2", "3"},
        "junior": {"2", "3"},
        "secondary": {"4", "5"},
        "special": {"7"},
    }
    for kind, digits in expected.items():
        assert set(first_digit.filter(pl.col("kind") == kind)["d"].unique()) <= digits, kind


def test_demo_la_has_the_expected_mix_of_schools() -> None:
    schools = demo_world().schools
    counts = dict(schools.group_by("kind").len().iter_rows())
    assert counts["infant"] == counts["junior"] == 3
    assert counts["primary"] == 54 + schools.filter(pl.col("status") == "Closed").height
    assert counts["secondary"] == 10
    assert counts["special"] == 2
    assert counts["pvi"] == 20
    closed = schools.filter(pl.col("status") == "Closed")
    assert closed.height >= 1
    last_year = (dt.date(2024, 9, 1), dt.date(2025, 8, 31))
    assert closed["close_date"].is_between(*last_year).all()
    assert schools.filter(pl.col("status") == "Open")["close_date"].is_null().all()
    pvi = schools.filter(pl.col("kind") == "pvi")
    assert (pvi["type_group"] == "Other types").all() and (pvi["phase"] == "Nursery").all()
    special = schools.filter(pl.col("kind") == "special")
    assert (special["phase"] == "Not applicable").all()
    assert schools["postcode"].str.contains(r"^[A-Z]{1,2}\d{1,2} \d[A-Z]{2}$").all()
    assert schools["name"].n_unique() == schools.height


def test_school_ages_follow_the_kind_of_school() -> None:
    schools = every_la_world().schools
    ranges = {
        "primary": (3, 4, 11, 11),
        "infant": (3, 4, 7, 7),
        "junior": (7, 7, 11, 11),
        "secondary": (11, 11, 16, 18),
        "special": (2, 4, 18, 19),
        "pvi": (0, 2, 5, 5),
    }
    for kind, (low_min, low_max, high_min, high_max) in ranges.items():
        part = schools.filter(pl.col("kind") == kind)
        assert part["low_age"].is_between(low_min, low_max).all(), kind
        assert part["high_age"].is_between(high_min, high_max).all(), kind


# --- pupils -----------------------------------------------------------------------------------


def test_pupil_frame_has_the_documented_columns() -> None:
    assert tuple(demo_world().pupils.columns) == PUPIL_COLUMNS


def test_dob_matches_year_group() -> None:
    world = every_la_world()
    year = world.spec.year
    offsets = {"R": 0, "1": 1, "2": 2, "4": 4, "6": 6, "11": 11}
    for ncyear, offset in offsets.items():
        pupils = year_group(world, ncyear)
        first = dt.date(year - 6 - offset, 9, 1)
        last = dt.date(year - 5 - offset, 8, 31)
        assert pupils["dob"].is_between(first, last).all(), ncyear
        summer = pupils["dob"] >= dt.date(year - 5 - offset, 4, 1)
        assert (summer == pupils["summer_born"]).all(), ncyear


def test_assessment_year_moves_dates_of_birth() -> None:
    world = build_world(WorldSpec(year=2025, primary_schools=5))
    reception = year_group(world, "R")
    assert reception["dob"].is_between(dt.date(2019, 9, 1), dt.date(2020, 8, 31)).all()
    assert world.academic_year == "2024/25" == academic_year_label(2025)
    assert (world.expected_cohorts["AcademicYear"] == "2024/25").all()


def test_pupils_are_in_schools_that_teach_their_year_group() -> None:
    world = demo_world()  # big enough to have infant and junior schools
    placed = world.pupils.join(world.schools.select("urn", "kind", "status"), on="urn")
    assert placed.height == world.pupils.height
    assert (placed["status"] != "Closed").all()
    teaches = {
        "R": {"primary", "infant", "special", "pvi"},
        "1": {"primary", "infant", "special"},
        "2": {"primary", "infant", "special"},
        "4": {"primary", "junior", "special"},
        "6": {"primary", "junior", "special"},
        "11": {"secondary", "special"},
    }
    for ncyear, kinds in teaches.items():
        found = set(placed.filter(pl.col("ncyear") == ncyear)["kind"].unique())
        assert found == kinds, ncyear
    pvi_share = share(year_group(world, "R"), pl.col("laestab").is_null())
    assert 0.5 < pvi_share < 1.5
    special = placed.filter(pl.col("kind") == "special")
    assert share(special, pl.col("sen") == "E") > 90


def test_characteristics_have_plausible_national_shares() -> None:
    pupils = every_la_world().pupils
    assert 50 <= share(pupils, pl.col("sex") == "M") <= 52
    assert 58 <= share(pupils, pl.col("ethnicity") == "WBRI") <= 67
    assert 18 <= share(pupils, pl.col("first_language").is_in(["OTH", "OTB"])) <= 24
    assert 22 <= share(pupils, pl.col("fsm")) <= 28
    assert 27 <= share(pupils, pl.col("disadvantaged")) <= 33
    assert 11 <= share(pupils, pl.col("sen") == "K") <= 15
    assert 0.4 <= share(pupils, pl.col("looked_after")) <= 0.9
    assert 2 <= share(pupils, pl.col("child_in_need")) <= 4.5
    assert (pupils.filter(pl.col("fsm") | pl.col("looked_after"))["disadvantaged"]).all()
    mainstream = pupils.filter(pl.col("laestab").is_not_null()).join(
        every_la_world().schools.filter(pl.col("kind") != "special").select("urn"), on="urn"
    )
    assert 1.5 <= share(mainstream, pl.col("sen") == "E") <= 3.5


def test_las_differ_in_deprivation() -> None:
    fsm = every_la_world().pupils.group_by("la_code").agg(pl.col("fsm").mean())["fsm"]
    assert fsm.max() - fsm.min() > 0.2


# --- outcomes ---------------------------------------------------------------------------------


def test_national_rates_match_published_figures() -> None:
    world = every_la_world()
    reception, year1, year2 = (year_group(world, y) for y in ("R", "1", "2"))
    year4, year6, year11 = (year_group(world, y) for y in ("4", "6", "11"))
    rwm = (
        (pl.col("ks2_read_score") >= 100)
        & (pl.col("ks2_mat_score") >= 100)
        & pl.col("ks2ta_WR").is_in(["EXS", "GDS"])
    )
    by_end_of_y2 = (pl.col("phonics_y1_mark") >= 32).fill_null(False) | pl.col("phonics_met")
    assert share(reception, pl.col("gld")) == pytest.approx(68.3, abs=1.5)
    assert reception["elgs_expected"].mean() == pytest.approx(14.1, abs=0.25)
    assert share(reception, pl.col("elgs_expected") == 17) == pytest.approx(66.2, abs=1.5)
    assert share(year1, pl.col("phonics_met")) == pytest.approx(80, abs=1.5)
    boys = year1.filter(pl.col("sex") == "M")
    girls = year1.filter(pl.col("sex") == "F")
    assert share(boys, pl.col("phonics_met")) == pytest.approx(76, abs=2)
    assert share(girls, pl.col("phonics_met")) == pytest.approx(84, abs=2)
    assert share(year2, by_end_of_y2) == pytest.approx(89, abs=1.5)
    assert year4["mtc_score"].mean() == pytest.approx(20.6, abs=0.3)
    assert share(year4.filter(pl.col("mtc_score").is_not_null()), pl.col("mtc_score") == 25) == (
        pytest.approx(34, abs=1.5)
    )
    assert share(year6, rwm) == pytest.approx(62, abs=1.5)
    assert share(year6, pl.col("ks2ta_WR").is_in(["EXS", "GDS"])) == pytest.approx(72, abs=1.5)
    assert share(year6, pl.col("ks2ta_SCI") == "EXS") == pytest.approx(81, abs=1.5)
    assert year11["ks4_att8"].mean() == pytest.approx(46, abs=1)


def test_disadvantaged_pupils_have_lower_gld() -> None:
    reception = year_group(every_la_world(), "R")
    disadvantaged = share(reception.filter(pl.col("disadvantaged")), pl.col("gld"))
    others = share(reception.filter(~pl.col("disadvantaged")), pl.col("gld"))
    assert 15 <= others - disadvantaged <= 26


def test_pupils_with_send_and_summer_birthdays_do_less_well() -> None:
    world = every_la_world()
    reception = year_group(world, "R")
    by_sen = {sen: share(reception.filter(pl.col("sen") == sen), pl.col("gld")) for sen in "NKE"}
    assert by_sen["E"] < 15 < by_sen["K"] + 10 < by_sen["N"]
    summer = share(reception.filter(pl.col("summer_born")), pl.col("gld"))
    autumn_spring = share(reception.filter(~pl.col("summer_born")), pl.col("gld"))
    assert autumn_spring - summer > 10
    year6 = year_group(world, "6")
    ehcp = share(year6.filter(pl.col("sen") == "E"), pl.col("ks2_read_score") >= 100)
    assert ehcp < 20


def test_outcomes_are_null_outside_their_year_group() -> None:
    pupils = every_la_world().pupils
    owners = {
        "elg_E01": {"R"},
        "gld": {"R"},
        "elgs_expected": {"R"},
        "phonics_mark": {"1", "2"},
        "phonics_y1_mark": {"2"},
        "ks1_RE": {"2"},
        "ks1_SCI": {"2"},
        "mtc_score": {"4"},
        "ks2ta_WR": {"6"},
        "ks2_read_score": {"6"},
        "ks4_att8": {"11"},
    }
    for column, years in owners.items():
        present = set(pupils.filter(pl.col(column).is_not_null())["ncyear"].cast(pl.String))
        assert present == years, column


def test_eyfsp_results_are_consistent() -> None:
    reception = year_group(every_la_world(), "R")
    elgs = [f"elg_E{i:02d}" for i in range(1, 18)]
    absent = reception.filter(pl.col("elg_E01") == "A")
    assert 0.1 <= 100 * absent.height / reception.height <= 0.6
    assert absent.select(pl.all_horizontal(pl.col(c) == "A" for c in elgs)).to_series().all()
    assert (~absent["gld"]).all() and (absent["elgs_expected"] == 0).all()
    assessed = reception.filter(pl.col("elg_E01") != "A")
    gld = assessed.select(pl.all_horizontal(pl.col(c) == "2" for c in elgs[:12])).to_series()
    assert (gld == assessed["gld"]).all()
    counted = assessed.select(pl.sum_horizontal((pl.col(c) == "2").cast(pl.Int8) for c in elgs))
    assert (counted.to_series() == assessed["elgs_expected"]).all()


def test_phonics_marks_codes_and_retakes_are_consistent() -> None:
    world = every_la_world()
    year1, year2 = year_group(world, "1"), year_group(world, "2")
    assert year1["phonics_mark"].is_between(0, 40).all()
    assert (year1["phonics_mark"].is_null() == year1["phonics_code"].is_not_null()).all()
    assert 1 <= share(year1, pl.col("phonics_code").is_not_null()) <= 3
    disapplied = year1.filter(pl.col("phonics_code") == "D")
    assert share(disapplied, pl.col("sen") == "E") > 50
    assert ((year1["phonics_mark"] >= 32).fill_null(False) == year1["phonics_met"]).all()
    marks = year1["phonics_mark"].value_counts()
    count = dict(marks.iter_rows())
    assert count[32] > count[31] * 5  # the spike at the threshold
    due = (pl.col("phonics_y1_mark") < 32).fill_null(True)
    assert year2.filter(~due)["phonics_mark"].is_null().all()
    assert year2.filter(~due)["phonics_code"].is_null().all()
    assert year2.filter(~due)["phonics_met"].is_null().all()
    retakes = year2.filter(due)
    assert (retakes["phonics_mark"].is_null() == retakes["phonics_code"].is_not_null()).all()
    assert retakes["phonics_met"].is_not_null().all()


def test_scores_and_codes_stay_in_range() -> None:
    world = every_la_world()
    year4, year6 = year_group(world, "4"), year_group(world, "6")
    assert year4["mtc_score"].drop_nulls().is_between(0, 25).all()
    assert (year4["mtc_score"].is_null() == year4["mtc_code"].is_not_null()).all()
    for subject in ("read", "mat", "gps"):
        scores = year6[f"ks2_{subject}_score"]
        assert scores.drop_nulls().is_between(80, 120).all()
        assert (scores.is_null() == year6[f"ks2_{subject}_code"].is_not_null()).all()
    assert year6["ks2ta_WR"].is_not_null().all() and year6["ks2ta_SCI"].is_not_null().all()
    assert year_group(world, "11")["ks4_att8"].is_between(0, 90).all()


def test_expected_cohorts_count_pupils_per_school_and_collection() -> None:
    world = demo_world()
    cohorts = world.expected_cohorts
    assert cohorts.columns == ["LAESTAB", "Collection", "AcademicYear", "ExpectedCount"]
    assert set(cohorts["Collection"]) == set(COHORT_CODES)
    assert (cohorts["AcademicYear"] == "2025/26").all()
    pupils = world.pupils.with_columns(pl.coalesce("laestab", "urn").alias("LAESTAB"))
    per_year = dict(
        pupils.group_by("LAESTAB", "ncyear")
        .len()
        .select(pl.concat_str("LAESTAB", pl.col("ncyear").cast(pl.String), separator="/"), "len")
        .iter_rows()
    )
    year_of = {"EYFSP": "R", "PHONICS_Y1": "1", "KS1": "2", "MTC": "4", "KS2TA": "6"}
    for laestab, collection, _, count in cohorts.iter_rows():
        if collection in year_of:
            assert per_year[f"{laestab}/{year_of[collection]}"] == count
    retakes = pupils.filter((pl.col("ncyear") == "2") & pl.col("phonics_met").is_not_null())
    expected_retakes = cohorts.filter(pl.col("Collection") == "PHONICS_Y2")["ExpectedCount"].sum()
    assert expected_retakes == retakes.height
    pvi_urns = world.schools.filter(pl.col("kind") == "pvi")["urn"]
    eyfsp = cohorts.filter(pl.col("Collection") == "EYFSP")["LAESTAB"]
    assert eyfsp.is_in(pvi_urns.implode()).any()
    assert (
        not cohorts.filter(pl.col("Collection") != "EYFSP")["LAESTAB"]
        .is_in(pvi_urns.implode())
        .any()
    )
