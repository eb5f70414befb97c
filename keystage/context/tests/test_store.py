"""Shaping census returns together gives each file what shaping it alone gives."""

from __future__ import annotations

import polars as pl

from keystage.context.store import shape, shape_together
from keystage.formats.census import read_census
from keystage.formats.tests.census_builder import census_leaver, census_pupil, census_xml


def _renumbered(frame: pl.DataFrame, first_key: int) -> pl.DataFrame:
    """The frame with its record keys counted from 0, as shaping the file alone numbers them."""
    return frame.with_columns(pl.col("key") - first_key) if "key" in frame.columns else frame


def test_census_returns_shaped_together_are_each_what_they_are_shaped_alone():
    files = [read_census(data, filename=f"c{i}.xml") for i, data in enumerate([
        census_xml(estab="2001", pupils=[
            census_pupil(upn="A330200121001", fsm=[("2025-09-01", None)],
                         sen_needs=[("ASD", 1), ("SLCN", 2)], attendance=[("140", "6", "4")]),
            census_pupil(upn="A330200121002", exclusions=[("FIXD", "2")])]),
        census_xml(estab="2002"),
        census_xml(estab="2003", pupils=[census_pupil(upn="A330200121003",
                                                      fsm=[("2025-09-01", None)],
                                                      attendance=[("100", "1", "0")])],
                   leavers=[census_leaver()]),
    ])]
    together = shape_together(files)
    first_key = 0
    for file, shaped in zip(files, together, strict=True):
        alone = shape(file)
        assert _renumbered(shaped.records, first_key).equals(alone.records)
        # Alone, a file without FSM periods or SEN needs has no rows of them to give at all.
        assert {d.model for d in shaped.details if d.frame.height} == {
            d.model for d in alone.details if d.frame.height}
        by_model = {d.model: d.frame for d in alone.details}
        for detail in shaped.details:
            expected = by_model.get(detail.model)
            if expected is None:
                assert detail.frame.height == 0
                continue
            assert _renumbered(detail.frame, first_key).sort("key").equals(
                expected.sort("key")), detail.model
        assert shaped.leavers.equals(alone.leavers)
        first_key += file.frames["pupils"].height
