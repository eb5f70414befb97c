"""bulk_insert_frame stores every value of a frame as it is, on either database: texts of any
characters, whole numbers, nulls, dates, booleans and JSON text, in row order."""

from __future__ import annotations

import itertools
import json

import polars as pl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keystage.core.bulk import (
    _insert_many_rows,
    allocate_ids,
    bulk_insert_frame,
    ids_param,
    one_of,
    read_frame,
)
from keystage.schools.models import LocalAuthority
from keystage.socialcare.models import CareChild, CareReturn, CareRow

pytestmark = pytest.mark.django_db

# Any text a file can hold (PostgreSQL's text holds no NUL; the readers never give one).
_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                max_size=12)
_ROW = st.tuples(st.none() | st.integers(1, 10**6), st.text("abc_", min_size=1, max_size=30),
                 st.integers(0, 2**31 - 1), st.dictionaries(_TEXT, _TEXT, max_size=3))
_CHILD = st.tuples(_TEXT.map(lambda t: t[:40]), st.none() | st.dates(),
                   st.none() | st.integers(0, 2**31 - 1), st.booleans())


_YEARS = itertools.count(2000)


def _return() -> CareReturn:
    """A return of its own (a year of its own: one current return an LA, dataset and year)."""
    la, _ = LocalAuthority.objects.get_or_create(code="975", defaults={"name": "Bulk LA"})
    return CareReturn.objects.create(la=la, dataset="cin", year=next(_YEARS), digest="x" * 64,
                                     children=0, rows=0)


# Up to 250 rows: several statements of many rows and a shorter last one on SQLite.
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(_ROW, max_size=250))
def test_rows_are_stored_value_for_value_in_order(rows):
    care_return = _return()
    frame = pl.DataFrame(
        [(care_return.pk, child, table, line, json.dumps(data)) for child, table, line, data
         in rows],
        schema={"care_return": pl.Int64, "child": pl.Int64, "table": pl.String,
                "line": pl.Int64, "data": pl.String}, orient="row")

    assert bulk_insert_frame(CareRow, ["care_return", "child", "table", "line", "data"],
                             frame) == len(rows)
    stored = list(CareRow.objects.filter(care_return=care_return).order_by("id")
                  .values_list("child_id", "table", "line", "data"))
    assert stored == [(child, table, line, data) for child, table, line, data in rows]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(_CHILD, max_size=120))
def test_children_keep_their_texts_dates_counts_and_flags(children):
    care_return = _return()
    frame = pl.DataFrame(
        [(care_return.pk, care_return.la_id, child, dob, count, flag)
         for child, dob, count, flag in children],
        schema={"care_return": pl.Int64, "la": pl.Int64, "child_id": pl.String,
                "dob": pl.Date, "episodes": pl.Int64, "left_unlinked": pl.Boolean},
        orient="row").with_columns(
        line=pl.lit(3, pl.Int64), upn=pl.lit(""), former_upn=pl.lit(""), upn_unknown=pl.lit(""),
        dob_text=pl.lit(""), sex=pl.lit(""), sex_code=pl.lit(""), ethnicity=pl.lit(""),
        link_method=pl.lit(""))

    bulk_insert_frame(CareChild, list(frame.columns), frame)
    stored = list(CareChild.objects.filter(care_return=care_return).order_by("id")
                  .values_list("child_id", "dob", "episodes", "left_unlinked"))
    assert stored == children


def test_many_rows_go_in_chunks_and_statements_of_many_rows_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("the many-rows statements are SQLite's")
    care_return = _return()
    frame = pl.DataFrame({"care_return": [care_return.pk] * 523, "child": list(range(523)),
                          "table": ["t"] * 523, "line": list(range(523, 0, -1)),
                          "data": [f'{{"n": "{i}"}}' for i in range(523)]})
    with connection.cursor() as cursor:
        assert _insert_many_rows(cursor, 'INSERT INTO socialcare_carerow (care_return_id, '
                                 'child_id, "table", line, data) VALUES ', frame,
                                 chunk=211) == 523
    stored = CareRow.objects.filter(care_return=care_return).order_by("id")
    assert [(r.child_id, r.line, r.data) for r in stored] == [
        (i, 523 - i, {"n": str(i)}) for i in range(523)]


def test_a_text_column_of_another_type_goes_in_as_its_text():
    care_return = _return()
    frame = pl.DataFrame({"care_return": [care_return.pk] * 2, "child": [None, 7],
                          "table": pl.Series(["cpp", "episodes"], dtype=pl.Categorical),
                          "line": [4, 5], "data": ['{"a": "1"}', '{"b": "y"}']})

    bulk_insert_frame(CareRow, ["care_return", "child", "table", "line", "data"], frame)

    stored = CareRow.objects.filter(care_return=care_return).order_by("id")
    assert [(r.child_id, r.table, r.line, r.data) for r in stored] == [
        (None, "cpp", 4, {"a": "1"}), (7, "episodes", 5, {"b": "y"})]


def test_ids_taken_ahead_are_new_distinct_and_rising_in_one_statement_on_postgresql():
    before = _return()  # the last id the table has handed out
    with CaptureQueriesContext(connection) as queries:
        ids = allocate_ids(CareReturn, 5)

    assert len(set(ids)) == 5 and ids == sorted(ids) and min(ids) > before.pk
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    assert allocate_ids(CareReturn, 0) == []
    more = allocate_ids(CareReturn, 2_000)
    assert len(set(more)) == 2_000 and more == sorted(more)
    if connection.vendor == "postgresql":  # (SQLite's are free until rows take them)
        assert min(more) > max(ids)


@pytest.mark.parametrize("wanted", [[], [2], [1, 3], list(range(1, 1_201))])
def test_one_of_picks_exactly_the_ids_given_as_one_parameter(wanted):
    LocalAuthority.objects.bulk_create(
        LocalAuthority(code=f"{900 + n}", name=f"LA {n}") for n in range(1, 4))
    ids = sorted(LocalAuthority.objects.values_list("pk", flat=True))
    chosen = [ids[n - 1] for n in wanted if n <= len(ids)] + [n + 10**6 for n in wanted if n > 3]

    frame = read_frame(f"SELECT id FROM {LocalAuthority._meta.db_table} "  # noqa: S608
                       f"WHERE {one_of('id')} ORDER BY id", [ids_param(chosen)],
                       {"id": pl.Int64})

    assert frame["id"].to_list() == sorted(i for i in chosen if i in ids)
