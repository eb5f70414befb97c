"""Stacking several files' frames and splitting them back."""

from __future__ import annotations

import polars as pl
import pytest

from keystage.formats.stacked import batches, part_ids, split_parts


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


@pytest.mark.parametrize(("sizes", "max_size", "max_items", "expected"), [
    ([], 10, None, []),
    ([3, 3, 3, 3], 6, None, [[3, 3], [3, 3]]),
    ([3, 3, 3], 7, None, [[3, 3, 3]]),
    ([20, 1, 1], 10, None, [[20], [1, 1]]),  # one item over the size is a batch of its own
    ([1, 1, 1, 1, 1], 100, 2, [[1, 1], [1, 1], [1]]),
    ([0, 0, 0], 1, None, [[0, 0, 0]]),
])
def test_batches_close_at_their_size_or_their_count(sizes, max_size, max_items, expected):
    assert list(batches(sizes, max_size, lambda size: size, max_items)) == expected


def test_batches_take_items_only_as_they_are_needed():
    taken = []

    def items():
        for i in range(6):
            taken.append(i)
            yield i

    first = next(batches(items(), 100, lambda _: 1, 2))
    assert first == [0, 1] and taken == [0, 1]
