"""The CTF import reads small files whole and large ones streaming: both store the same."""

from __future__ import annotations

import pytest
from django.db import transaction

from keystage.collection import actions
from keystage.collection.models import AssessmentResult, PupilRecord, Submission
from keystage.collection.tests.ctf_builder import ctf, eyfsp_rows, pupil_xml

pytestmark = pytest.mark.django_db


class _Undo(Exception):
    """Rolls one path's import back, so the other starts from the same database."""


def _phonics(mark_and_outcomes: list[str]) -> list[tuple]:
    return [("KS1", "ENG", "TT", "PSC", "NM", value, 2026) for value in mark_and_outcomes]


def _files(school) -> list[tuple[str, bytes]]:
    """Untidy files: several blocks, superseded rows, phonics outcome codes beside a mark,
    rows of other years, a second collection, a refused pupil, and a damaged file."""
    estab = school.estab
    superseded = pupil_xml("A330200121002", "Lee", "Sam", "2020-10-01", "M", "R",
                           eyfsp_rows(["2"] * 17) + eyfsp_rows(["1"] * 3) + eyfsp_rows(
                               ["2"] * 17, year=2025))
    dated = superseded.replace("<Result>1</Result>", "<Result>1</Result>"
                               "<ResultDate>2026-06-01</ResultDate>", 1)
    two_blocks = pupil_xml("A330200121003", "O'Neill", "Zoë", "2020-12-01", "F", "1",
                           eyfsp_rows(["2"] * 12 + ["1"] * 5)).replace(
        "</KeyStage>", "</KeyStage><KeyStage><Stage>KS1</Stage>" + pupil_xml(
            "x", "x", "x", "x", "x", "x", _phonics(["WA", "36", "WT"])).split(
            "<Stage>KS1</Stage>")[1].split("</KeyStage>")[0] + "</KeyStage>")
    outcome_only = pupil_xml("A330200121004", "Khan", "Ava", "2020-09-09", "F", "1",
                             _phonics(["WT", "WA"]))
    long_name = pupil_xml("A330200121005", "S" * 101, "Amy", "2020-09-09", "F", "R",
                          eyfsp_rows(["2"] * 17))
    return [
        ("a.xml", ctf("330", estab, [superseded, dated, two_blocks, outcome_only])),
        ("b.xml", ctf("330", estab, [long_name])),
        ("c.xml", ctf("330", estab, [dated])[:-30]),
        ("d.xml", ctf("330", estab, [two_blocks, superseded])),  # a replacement of a.xml
    ]


def _stored() -> tuple:
    records = list(PupilRecord.objects.order_by("id").values_list(
        "collection", "line", "upn", "surname", "forename", "dob_text", "sex", "ncyear", "gld",
        "elgs_expected", "phonics_met"))
    results = list(AssessmentResult.objects.order_by("id").values_list(
        "pupil__upn", "stage", "subject", "component", "status", "result", "result_date",
        "is_latest"))
    submissions = list(Submission.objects.order_by("id").values_list(
        "collection", "status", "pupil_count", "result_count", "report"))
    return records, results, submissions


def _import_both_ways(world, monkeypatch, files) -> list:
    seen = []
    for limit in (0, actions.WHOLE_FILE_MAX_BYTES):  # 0: every file streams
        monkeypatch.setattr(actions, "WHOLE_FILE_MAX_BYTES", limit)
        try:
            with transaction.atomic():
                outcomes = []
                for batch in (files[:3], files[3:]):
                    outcomes += [(o.status, o.message, o.warnings, [
                        (c.collection, c.pupils, c.results, c.added, c.removed, c.changed,
                         c.details) for c in o.changes])
                        for o in actions.do_import_files(
                            batch, la=world.a.la, year=2026, acting_user=None,
                            confirm_replacements=True)]
                seen.append((outcomes, _stored()))
                raise _Undo
        except _Undo:
            pass
    return seen


def test_small_files_read_whole_store_what_the_streaming_reader_stores(world, monkeypatch):
    streaming, whole = _import_both_ways(world, monkeypatch, _files(world.a.schools[0]))
    assert whole == streaming
    outcomes, (records, results, _) = whole
    assert [status for status, *_ in outcomes] == ["committed", "refused", "refused",
                                                   "committed"]
    assert "101 characters long" in outcomes[1][1]
    assert {c[0] for c in outcomes[0][3]} == {"eyfsp", "phonics"}
    assert {c[0] for c in outcomes[3][3]} == {"eyfsp", "phonics"}
    # The phonics mark wins over the outcome codes beside it; codes alone count.
    latest = {(upn, component): result for upn, _, _, component, _, result, _, is_latest
              in results if is_latest}
    assert latest[("A330200121003", "PSC")] == "36"
    assert records


def test_a_refused_file_reads_as_the_streaming_reader_refuses_it(world, monkeypatch):
    school = world.a.schools[0]
    text = pupil_xml("A330200121005", "Smith", "Amy", "2020-09-09", "F", "R",
                     eyfsp_rows(["2"] * 17))
    files = [("deep.xml", ctf("330", school.estab, [text.replace(
        "<Sex>F</Sex>", "<Sex>F</Sex>" + "<x>" * 70 + "</x>" * 70)])),
             ("nul.xml", ctf("330", school.estab, [text.replace("Amy", "A&#0;my")])),
             ("doctype.xml", b"<!DOCTYPE CTfile>" + ctf("330", school.estab, [text]))]
    streaming, whole = _import_both_ways(world, monkeypatch, files)
    assert whole == streaming
    assert [status for status, *_ in whole[0]] == ["refused"] * 3


def test_a_chunk_of_new_files_costs_the_same_queries_however_many_files_it_holds(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from keystage.collection.tests.ctf_builder import eyfsp_file

    def queries(schools) -> int:
        files = [(f"{s.estab}.xml", eyfsp_file("330", s.estab, 3, first_serial=10 * i)[0])
                 for i, s in enumerate(schools)]
        try:
            with transaction.atomic(), CaptureQueriesContext(connection) as captured:
                outcomes = actions.do_import_files(files, la=world.a.la, year=2026,
                                                   acting_user=None)
                assert {o.status for o in outcomes} == {"committed"}
                raise _Undo
        except _Undo:
            pass
        return len(captured)

    schools = [s for s in world.a.schools if s.estab and s.is_open]
    assert len(schools) >= 3
    # Received files, submissions and audit events go in with the chunk: no query per file.
    assert queries(schools) == queries(schools[:1])


def test_a_name_at_its_columns_limit_in_characters_loads_and_one_more_is_refused(world,
                                                                                  monkeypatch):
    school = world.a.schools[0]

    def named(surname):
        return pupil_xml("A330200121005", surname, "Amy", "2020-09-09", "F", "R",
                         eyfsp_rows(["2"] * 17))
    # Multi-byte letters: the limit counts characters, not bytes.
    files = [("fits.xml", ctf("330", school.estab, [named("É" * 100)])),
             ("over.xml", ctf("330", school.estab, [named("É" * 101)]))]
    streaming, whole = _import_both_ways(world, monkeypatch, files)
    assert whole == streaming
    assert [status for status, *_ in whole[0]] == ["committed", "refused"]
    assert "101 characters long" in whole[0][1][1]


def test_a_chunks_files_counted_together_count_as_each_file_alone(world):
    from keystage.formats.ctf import read_ctf_frames

    files = _files(world.a.schools[0])
    # Several collections, rows of another year, and a file with no pupils at all.
    read = [read_ctf_frames(data, filename=name, row_lines=False)
            for name, data in (files[0], files[3], files[1])]
    empty = read_ctf_frames(ctf("330", world.a.schools[0].estab, []), filename="e.xml",
                            row_lines=False)
    many = [*read, empty, read[0]]
    together = actions._counts_of_many(many, 2026)
    assert together == [actions._counts(frames, 2026) for frames in many]
    assert together[0][0].keys() == {"eyfsp", "phonics"} and together[0][1] > 0
    assert together[3] == ({}, 0)
