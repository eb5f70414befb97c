"""Several files' frames stacked into one, so a chunk of small files pays polars' fixed cost
per operation once, and split back into one frame per file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

import polars as pl

T = TypeVar("T")


def batches(items: Iterable[T], max_size: int, size_of: Callable[[T], int],
            max_items: int | None = None) -> Iterator[list[T]]:
    """The items in order, in lists each closed once its items' sizes reach `max_size` (or it
    holds `max_items`): taken from `items` as they are needed."""
    batch: list[T] = []
    taken = 0
    for item in items:
        batch.append(item)
        taken += size_of(item)
        if taken >= max_size or (max_items is not None and len(batch) >= max_items):
            yield batch
            batch, taken = [], 0
    if batch:
        yield batch


def part_ids(heights: Sequence[int], name: str = "part") -> pl.Series:
    """0 repeated heights[0] times, 1 heights[1] times, ...: each stacked row's part."""
    return pl.Series(name, range(len(heights)), dtype=pl.Int64).repeat_by(
        pl.Series(heights, dtype=pl.UInt32)).explode().drop_nulls()


def split_parts(frame: pl.DataFrame, parts: int, empty: pl.DataFrame,
                column: str = "part") -> list[pl.DataFrame]:
    """One frame per part (0 to parts - 1) of a stacked frame, in its rows' order, without the
    part column; `empty` for a part with no rows."""
    found = frame.partition_by(column, as_dict=True, include_key=False, maintain_order=True)
    return [found.get((i,), empty) for i in range(parts)]
