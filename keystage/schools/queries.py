"""Reads of the schools register that other apps' frames share."""

from __future__ import annotations

import polars as pl

from keystage.core.bulk import ids_param, one_of, read_frame
from keystage.schools.models import Establishment, LocalAuthority


def laestab_sql(alias: str) -> str:
    """SQL for the code a school goes by in reports: its LAESTAB, or a PVI setting's URN
    (Establishment.report_code)."""
    return (f"COALESCE(CASE WHEN {alias}.is_pvi THEN {alias}.urn ELSE {alias}.laestab END, "
            f"{alias}.urn)")


def with_school_codes(frame: pl.DataFrame, *, school: str = "school_id",
                      la: str | None = "la_id") -> pl.DataFrame:
    """The frame with its `school` ids as the codes reports use (column `laestab`) and its `la`
    ids as LA codes (column `la`), in their places.

    Reads that look the school and LA up row by row in SQL spend a third of their time on it
    (two index probes a pupil); the frame's few hundred or thousand distinct schools are read
    here once instead."""
    schools = frame[school].unique().drop_nulls().to_list() if frame.height else []
    select = f"SELECT e.id, {laestab_sql('e')} FROM {Establishment._meta.db_table} e "  # noqa: S608
    schema = {school: pl.Int64, "laestab": pl.String}
    if not schools:
        codes = pl.DataFrame(schema=schema)
    else:
        # One parameter: quoting a list of a thousand costs more than the read.
        codes = read_frame(select + f"WHERE {one_of('e.id')}", [ids_param(schools)], schema)
    out = frame.join(codes, on=school, how="left", maintain_order="left")
    columns = ["laestab" if c == school else c for c in frame.columns]
    if la is not None:
        las = read_frame(f"SELECT id, code FROM {LocalAuthority._meta.db_table}",  # noqa: S608
                         [], {la: pl.Int64, "la": pl.String}) if frame.height else (
            pl.DataFrame(schema={la: pl.Int64, "la": pl.String}))
        out = out.join(las, on=la, how="left", maintain_order="left")
        columns = ["la" if c == la else c for c in columns]
    return out.select(columns)
