"""The school and LA codes a frame of ids is given (schools.queries.with_school_codes)."""

from __future__ import annotations

import polars as pl
import pytest

from keystage.schools.queries import with_school_codes

pytestmark = pytest.mark.django_db


def test_a_school_goes_by_its_laestab_a_pvi_setting_by_its_urn_and_each_row_by_its_las_code(
        world):
    school, pvi, other = world.a.schools[0], world.a.pvi, world.b.schools[0]
    frame = pl.DataFrame({"pupil_id": [1, 2, 3, 4],
                          "la_id": [world.a.la.pk, world.a.la.pk, world.b.la.pk, world.a.la.pk],
                          "school_id": [school.pk, pvi.pk, other.pk, school.pk]})
    coded = with_school_codes(frame)
    # The ids are replaced in their places, the rows kept in their order.
    assert coded.columns == ["pupil_id", "la", "laestab"]
    assert coded.rows() == [(1, "330", school.laestab), (2, "330", pvi.urn),
                            (3, "331", other.laestab), (4, "330", school.laestab)]


def test_without_an_la_column_only_the_school_is_coded(world):
    school = world.a.schools[1]
    coded = with_school_codes(pl.DataFrame({"school_id": [school.pk], "n": [7]}), la=None)
    assert coded.rows(named=True) == [{"laestab": school.laestab, "n": 7}]


def test_an_empty_frame_and_an_unknown_school_give_no_code_and_no_error(world):
    empty = pl.DataFrame(schema={"la_id": pl.Int64, "school_id": pl.Int64})
    assert with_school_codes(empty).schema == pl.Schema({"la": pl.String,
                                                         "laestab": pl.String})
    unknown = with_school_codes(pl.DataFrame({"la_id": [world.a.la.pk], "school_id": [-5]}))
    assert unknown.rows() == [("330", None)]
