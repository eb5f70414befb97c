"""Stacking several files' frames and splitting them back."""

from __future__ import annotations

import polars as pl
import pytest

from keystage.formats.stacked import part_ids, split_parts


@pytest.mark.parametrize(("heights", "expected"), [
    ([2, 1], [0, 0, 1]),
    ([0, 2, 0, 1], [1, 1, 3]),
    ([], []),
    ([0], []),
])
def test_each_stacked_row_is_numbered_with_its_part(heights, expected):
    ids = part_ids(heights)
    assert ids.to_list() == expected and ids.name == "part" and ids.dtype == pl.Int64


def test_a_stacked_frame_splits_back_into_its_parts_in_order_with_empty_ones_kept():
    parts = [pl.DataFrame({"x": [1, 2]}), pl.DataFrame({"x": []}, schema={"x": pl.Int64}),
             pl.DataFrame({"x": [3]})]
    stacked = pl.concat(parts).with_columns(part_ids([p.height for p in parts], "file"))
    empty = pl.DataFrame(schema={"x": pl.Int64})
    split = split_parts(stacked, 3, empty, "file")
    assert [p.to_dict(as_series=False) for p in split] == [
        p.to_dict(as_series=False) for p in parts]
