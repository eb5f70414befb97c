"""An LA's characteristics of a year are kept with the fingerprint of what they came from:
derived once while its files, edits and the deriving code are unchanged, derived again as soon
as any of them changes."""

from __future__ import annotations

import pytest
from polars.testing import assert_frame_equal

from keystage.audit.log import record_event
from keystage.audit.models import EventType
from keystage.collection.actions import do_import_batch
from keystage.context import queries
from keystage.context.models import KeptCharacteristics
from keystage.formats.tests.census_builder import census_pupil, census_xml
from keystage.measures import characteristics

PP_HEADER = "UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON"


@pytest.fixture
def derived(monkeypatch):
    """How many times characteristics were derived from the database's rows."""
    calls = []
    real = characteristics.derive_characteristics

    def counting(sources, year):
        calls.append(year)
        return real(sources, year)

    monkeypatch.setattr(characteristics, "derive_characteristics", counting)
    return calls


def _load(world, name: str, data: bytes, part=None):
    part = part or world.a
    outcome = do_import_batch([(name, data)], la=part.la, year=2026, acting_user=None,
                              confirm_replacements=True).outcomes[0]
    assert outcome.status == "committed", outcome.message


def _census(world, part=None):
    part = part or world.a
    school = part.schools[0]
    return census_xml(part.la.code, school.estab, [
        census_pupil(f"A{part.la.code}200121001", "Lee", "Sam", "2014-07-02", "M", "6",
                     fsm=[("2025-09-01", None)], sen_provision="K", sen_needs=[("SLCN", 1)],
                     language="POL", ethnicity="APKN"),
        census_pupil(f"A{part.la.code}200121002", "Khan", "Ada", "2014-10-03", "F", "6"),
    ])


def test_an_unchanged_las_characteristics_are_derived_once_and_read_back_the_same(world,
                                                                                  derived):
    _load(world, "census.xml", _census(world))

    first = queries.pupil_characteristics(world.a.la, 2026)
    again = queries.pupil_characteristics(world.a.la, 2026)

    assert derived == [2026]
    assert KeptCharacteristics.objects.filter(la=world.a.la, year=2026).count() == 1
    assert_frame_equal(again, first)
    fresh = characteristics.derive_characteristics(
        queries.characteristic_sources(world.a.la, 2026), 2026)
    assert_frame_equal(again, fresh)
    assert first.height == 2


def test_a_pupil_premium_file_after_the_census_is_reflected_at_once(world, derived):
    _load(world, "census.xml", _census(world))
    before = queries.pupil_characteristics(world.a.la, 2026)
    laestab = world.a.schools[0].laestab

    _load(world, "pp.csv", f"{PP_HEADER}\nA330200121002,{laestab},Khan,Ada,2014-10-03,Y,"
                           f"POSTLAC\n".encode())
    after = queries.pupil_characteristics(world.a.la, 2026)

    assert derived == [2026, 2026]
    pp = dict(zip(after["upn"], after["pp"], strict=True))
    assert pp["A330200121002"] == "Y"
    assert dict(zip(before["upn"], before["pp"], strict=True))["A330200121002"] != "Y"


@pytest.mark.parametrize("event_type", [EventType.PUPILS_MERGED, EventType.CARE_CHILD_MATCHED,
                                        EventType.PUPIL_EDITED])
def test_an_identity_or_edit_write_makes_them_derived_again(world, derived, event_type):
    _load(world, "census.xml", _census(world))
    queries.pupil_characteristics(world.a.la, 2026)

    record_event(event_type, acting_user=None, la=world.a.la, summary="a write")
    queries.pupil_characteristics(world.a.la, 2026)

    assert derived == [2026, 2026]


def test_another_las_file_leaves_them_kept(world, derived):
    _load(world, "census.xml", _census(world))
    queries.pupil_characteristics(world.a.la, 2026)

    _load(world, "census.xml", _census(world, world.b), world.b)
    queries.pupil_characteristics(world.a.la, 2026)

    assert derived == [2026]


def test_one_pupils_characteristics_are_derived_from_their_rows_alone(world, derived):
    _load(world, "census.xml", _census(world))
    whole = queries.pupil_characteristics(world.a.la, 2026)
    pupil_id = whole["pupil_id"][0]

    one = queries.pupil_characteristics(world.a.la, 2026, pupil_id=pupil_id)

    assert derived == [2026, 2026]
    assert_frame_equal(one, whole.filter(whole["pupil_id"] == pupil_id))
