"""A record's latest results, folded into one text by the database, spread into a column per
component (analysis.frames._spread)."""

from __future__ import annotations

import polars as pl
import pytest

from keystage.analysis.frames import _ITEM, _PAIR, _spread, _spread_exact


def _folded(*latest):
    return pl.DataFrame({"record_id": list(range(1, len(latest) + 1)),
                         "ncyear": ["R"] * len(latest), "latest": list(latest)},
                        schema={"record_id": pl.Int64, "ncyear": pl.String,
                                "latest": pl.String})


def _fold(*pairs):
    return _ITEM.join(f"{component}{_PAIR}{result}" for component, result in pairs)


@pytest.mark.parametrize(("latest", "expected"), [
    (_fold(("E01", "2"), ("E02", "1")), {"E01": "2", "E02": "1"}),
    # No results at all (a pupil the file lists with none): every component empty.
    (None, {"E01": None, "E02": None}),
    # A component of another year's specification or a stray code is no column.
    (_fold(("E01", "2"), ("X99", "9")), {"E01": "2", "E02": None}),
    # Two latest values of one component: the greatest, as MAX in SQL gave.
    (_fold(("E02", "1"), ("E02", "2")), {"E01": None, "E02": "2"}),
    # An empty result is a value (not missing), as the file gave it.
    (_fold(("E01", "")), {"E01": "", "E02": None}),
    # The value keeps everything after the first separator.
    (_fold(("E01", f"A{_PAIR}B")), {"E01": f"A{_PAIR}B", "E02": None}),
])
def test_each_records_latest_results_become_a_column_per_component(latest, expected):
    spread = _spread(_folded(latest), ["E01", "E02"])
    assert spread.columns == ["record_id", "ncyear", "E01", "E02"]
    assert spread.select("E01", "E02").row(0, named=True) == expected


def test_records_keep_their_order_and_a_code_no_record_has_is_an_empty_column():
    spread = _spread(_folded(_fold(("E02", "3")), None, _fold(("E02", "1"))),
                     ["E01", "E02"])
    assert spread.rows() == [(1, "R", None, "3"), (2, "R", None, None), (3, "R", None, "1")]
    assert spread.schema["E01"] == pl.String


def test_an_empty_read_spreads_to_an_empty_frame_with_every_column():
    spread = _spread(_folded(), ["E01", "E02"])
    assert spread.height == 0 and spread.columns == ["record_id", "ncyear", "E01", "E02"]


def test_cutting_each_component_from_the_text_gives_what_spreading_every_result_gives():
    """_spread cuts a component's first value from the text and spreads in full only the
    records holding a component twice: the same frame as spreading every record's results."""
    import random

    rng = random.Random(3)
    codes = ["E01", "E02", "E10", "E1", "C.1"]  # a code that is a prefix of another; a dot
    latest = []
    for _ in range(400):
        items = [(rng.choice([*codes, "X99", "CX1"]), rng.choice(["", "1", "2", "A", "10"]))
                 for _ in range(rng.randint(0, 6))]
        latest.append(_fold(*items) if items or rng.random() < 0.5 else None)
    folded = _folded(*latest)
    assert _spread(folded, codes).equals(_spread_exact(folded, codes))
    assert _spread(folded, []).equals(_spread_exact(folded, []))


@pytest.mark.django_db
@pytest.mark.parametrize("main_first", [True, False])
def test_a_year_2_pupil_on_roll_at_two_schools_is_placed_at_their_main_registration(
        world, main_first):
    from keystage.analysis.frames import census_year2
    from keystage.collection.actions import do_import_files
    from keystage.formats.tests.census_builder import census_pupil, census_xml

    main_school, other = world.a.schools[0], world.a.schools[1]
    files = [(f"{school.estab}.xml", census_xml("330", school.estab, [
        census_pupil(ncyear="2", dob="2018-11-02", enrol=enrol)]))
        for school, enrol in ((main_school, "M"), (other, "S"))]
    if not main_first:
        files.reverse()  # the subsidiary school's record is the earlier one
    outcomes = do_import_files(files, la=world.a.la, year=2026, acting_user=None)
    assert [o.status for o in outcomes] == ["committed", "committed"]
    placed = census_year2(2026, world.a.la.pk)
    assert placed.select("la", "laestab").rows() == [("330", main_school.laestab)]
