"""The rows of `keystage report` and the reports page, from one function."""

from __future__ import annotations

import polars as pl

from keystage.measures import primary
from keystage.schools.models import LocalAuthority


def report_rows(la: LocalAuthority, dataset: str, year: int, *, by: str | None = None,
                national: bool = False) -> tuple[list[list], bool]:
    """The report's rows (primary.REPORT_COLUMNS) and whether the LA has any result counted."""
    from keystage.analysis.frames import pupil_outcomes
    from keystage.context.queries import pupil_characteristics

    # Every LA's pupils give the emerging national figure (and the bands against it); the LA's
    # own are among them, read once.
    everyone = pupil_outcomes(dataset, year, None)
    ours = everyone.filter(pl.col("la") == la.code)
    characteristics = pl.DataFrame(schema={"pupil_id": pl.Int64,
                                           **dict.fromkeys(primary.GROUPS, pl.String)})
    if by == "group":
        frames = [pupil_characteristics(la, year)]
        if national:
            frames += [pupil_characteristics(other, year) for other in
                       LocalAuthority.objects.exclude(pk=la.pk)
                       .filter(code__in=everyone["la"].unique().to_list())]
        characteristics = pl.concat([f.select(characteristics.columns)
                                     .cast(characteristics.schema) for f in frames])
    sds = None
    if dataset == "ks4":
        from keystage.measures.ks4 import estimates

        found = estimates(year)
        sds = found.sd if found else None
    rows = primary.cells(ours, characteristics, dataset=dataset, year=year, la=la.code, by=by,
                         national=everyone, show_national=national, sds=sds)
    return rows, bool(ours.filter(pl.col("counted")).height)
