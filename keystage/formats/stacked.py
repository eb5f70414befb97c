"""Several files' frames stacked into one, so a chunk of small files pays polars' fixed cost
per operation once, and split back into one frame per file."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


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
