"""PostgreSQL's planner statistics are refreshed after bulk loads that change a table enough."""

from __future__ import annotations

import polars as pl
import pytest
from django.db import connection

from keystage.core.bulk import bulk_insert_frame
from keystage.core.statistics import refresh_statistics, written_tables
from keystage.schools.models import LocalAuthority
from keystage.socialcare.models import CareReturn, CareRow

pytestmark = pytest.mark.django_db

ROWS = CareRow._meta.db_table


def _rows(care_return: CareReturn, count: int) -> int:
    frame = pl.DataFrame({"care_return": [care_return.pk] * count, "child": [None] * count,
                          "table": ["episodes"] * count, "line": list(range(count)),
                          "data": ['{"a": "1"}'] * count},
                         schema_overrides={"child": pl.Int64})
    return bulk_insert_frame(CareRow, ["care_return", "child", "table", "line", "data"], frame)


@pytest.fixture
def care_return() -> CareReturn:
    la = LocalAuthority.objects.create(code="976", name="Statistics LA")
    return CareReturn.objects.create(la=la, dataset="cin", year=2026, digest="x" * 64,
                                     children=0, rows=0)


def _analysed_with(count_now: int) -> None:
    """The table's statistics taken now, as if autovacuum had just run."""
    refresh_statistics()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ROWS}")
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [ROWS])
        assert cursor.fetchone()[0] == count_now


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_table_a_load_changed_by_more_than_a_tenth_and_50_rows_is_analysed(care_return):
    _rows(care_return, 1_000)
    _analysed_with(1_000)

    _rows(care_return, 100)  # 100 of 1,000: under 50 + a tenth
    assert written_tables() == {ROWS: 100}
    assert refresh_statistics() == []
    assert written_tables() == {}

    _rows(care_return, 151)  # over 50 + a tenth
    assert refresh_statistics() == [ROWS]
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [ROWS])
        assert cursor.fetchone()[0] == 1_251


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_table_never_analysed_is_analysed_after_its_first_load(care_return):
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE fresh (LIKE {ROWS})")
    from keystage.core.statistics import note_written

    refresh_statistics()  # what earlier tests of this process left counted
    note_written("fresh", 51)
    assert refresh_statistics() == ["fresh"]


def test_sqlite_keeps_no_tally_and_analyses_nothing(care_return):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    _rows(care_return, 500)
    assert written_tables() == {}
    assert refresh_statistics() == []


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_census_batch_is_analysed_before_its_rules_read_it(world, monkeypatch):
    from keystage.cleaning import actions as cleaning
    from keystage.collection import actions
    from keystage.collection.actions import do_import_batch
    from keystage.formats.tests.census_builder import census_pupil, census_xml

    steps = []
    refresh = actions.refresh_statistics
    monkeypatch.setattr(actions, "refresh_statistics", lambda: steps.append(refresh()))
    run_cleaning = cleaning.do_run_cleaning
    monkeypatch.setattr(cleaning, "do_run_cleaning",
                        lambda *a, **k: steps.append("rules") or run_cleaning(*a, **k))
    school = world.a.schools[0]
    pupils = [census_pupil(f"A330200121{n:03d}", "Smith", f"Child{n}", "2019-05-05", "F", "1")
              for n in range(60)]
    do_import_batch([("census.xml", census_xml("330", school.estab, pupils))], la=world.a.la,
                    year=2026, acting_user=None)

    analysed, rules = steps
    assert {"collection_pupilrecord", "context_censusdetail", "pupils_pupil"} <= set(analysed)
    assert rules == "rules" and "collection_pupilrecord" not in written_tables()
