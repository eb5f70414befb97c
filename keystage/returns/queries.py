"""Reads for the returns: the pupils of a collection, streamed in establishment order."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from keystage.collection.models import AssessmentResult, PupilRecord
from keystage.core.bulk import iter_frames
from keystage.formats.assessment_spec import collection_components
from keystage.schools.models import Establishment, LocalAuthority


def return_chunks(la, collection: str, year: int, *, chunk_rows: int = 50_000
                  ) -> Iterator[pl.DataFrame]:
    """The LA's pupils of a collection and year, one row each with a column per component.

    The database pivots the latest result rows, so the stream stays flat in memory; rows come
    sorted by establishment (LAESTAB, then EY URN for PVI settings), then in file order.
    """
    components = [c.component for c in collection_components(collection, year)]
    pupil = PupilRecord._meta.db_table
    result = AssessmentResult._meta.db_table
    school = Establishment._meta.db_table
    authority = LocalAuthority._meta.db_table
    pivots = []
    params: list = []
    for component in components:
        pivots.append("MAX(CASE WHEN r.component = %s THEN r.result END)")
        pivots.append("MAX(CASE WHEN r.component = %s THEN CAST(r.result_date AS TEXT) END)")
        params += [component, component]
    schema = {
        "lea": pl.String, "estab": pl.String, "urn": pl.String, "is_pvi": pl.Boolean,
        "upn": pl.String, "surname": pl.String, "forename": pl.String, "dob": pl.String,
        "sex": pl.String, "ncyear": pl.String,
    }
    for component in components:
        schema[component] = pl.String
        schema[f"{component}_date"] = pl.String
    sql = (
        f"SELECT a.code, NULLIF(e.estab, ''), e.urn, "  # noqa: S608
        f"CASE WHEN e.is_pvi OR COALESCE(e.estab, '') = '' THEN 1 ELSE 0 END, p.upn, "
        f"p.surname, p.forename, CAST(p.dob AS TEXT), p.sex, p.ncyear, {', '.join(pivots)} "
        f"FROM {pupil} p JOIN {school} e ON e.id = p.school_id "
        f"JOIN {authority} a ON a.id = e.la_id "
        f"LEFT JOIN {result} r ON r.pupil_id = p.id AND r.is_latest AND r.status = 'R' "
        f"WHERE p.la_id = %s AND p.collection = %s AND p.year = %s "
        f"GROUP BY p.id, e.id, a.id "
        f"ORDER BY CASE WHEN e.is_pvi THEN 1 ELSE 0 END, e.laestab, e.urn, p.id"
    )
    params += [la.pk, collection, year]
    yield from iter_frames(sql, params, schema, chunk_rows=chunk_rows)
