"""Shaping census returns together gives each file what shaping it alone gives."""

from __future__ import annotations

from datetime import date

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


def test_file_records_label_each_files_rows_with_its_submission_slot_and_former_upns():
    from types import SimpleNamespace

    from keystage.collection.intake import PendingFile, file_records
    from keystage.context.store import DetailRows

    def rows(keys, upns):
        return pl.DataFrame({"key": keys, "line": [k + 10 for k in keys], "upn": upns,
                             "surname": "S", "forename": "F", "middle_names": "",
                             "dob": [date(2019, 1, 1)] * len(keys), "sex": "F", "ncyear": "2"},
                            schema_overrides={"key": pl.Int64, "line": pl.Int64})

    def census_detail(keys, formers):
        return DetailRows("context.CensusDetail", ("former_upn",),
                          pl.DataFrame({"key": keys, "former_upn": formers},
                                       schema={"key": pl.Int64, "former_upn": pl.String}))

    first = SimpleNamespace(pk=7, school_id=70, term="SPR")
    second = SimpleNamespace(pk=8, school_id=80, term="SPR")
    premium_a, premium_b = (SimpleNamespace(pk=9, school_id=70, term=""),
                            SimpleNamespace(pk=10, school_id=80, term=""))
    pending = [
        # Keys start again at 0 in each file read alone: a former UPN is its own file's.
        PendingFile([(first, rows([0, 1], ["A1", "A2"]))],
                    [census_detail([0, 1], ["", "Z1"])], "census", None),
        PendingFile([(second, rows([0], ["B1"]))], [census_detail([0], ["Z2"])], "census", None),
        PendingFile([(premium_a, rows([0], ["A1"])), (premium_b, rows([1], ["B1"]))], [], "pp",
                    None),
    ]
    found = file_records(pending, la_id=3, year=2026)
    assert found.select("file", "submission", "school", "upn", "former_upns", "slot",
                        "line").rows() == [
        (0, 7, 70, "A1", "", "census:2026:SPR", 10),
        (0, 7, 70, "A2", "Z1", "census:2026:SPR", 11),
        (1, 8, 80, "B1", "Z2", "census:2026:SPR", 10),
        (2, 9, 70, "A1", "", "pp:2026:", 10),
        (2, 10, 80, "B1", "", "pp:2026:", 11),
    ]
    assert found["la_id"].unique().to_list() == [3] and found["year"].unique().to_list() == [2026]
    assert found["collection"].to_list() == ["census"] * 3 + ["pp"] * 2
