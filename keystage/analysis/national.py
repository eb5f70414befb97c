"""The emerging national picture of a dataset and year, made once for every LA's reports.

Every LA's report compares its figures with the nation's (bands, national rows), and the
national analyst reads the nation's by group. The national part is additive (counted pupils and
their values' total per measure, group and value), so it is summed once from every LA's pupils
and kept (NationalSummary) with the fingerprint of every LA's files it came from; each LA's
report then reads its own pupils only. Any new or replaced file of any LA gives a new
fingerprint, and the next reader sums the nation again: live, and never stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import polars as pl
from django.db import IntegrityError, transaction
from django.utils import timezone

from keystage.analysis.models import NationalSummary
from keystage.measures import primary


@dataclass
class NationalPicture:
    """What every LA's reports of a dataset and year take from the nation."""

    sums: primary.Sums  # (measure, group, value) -> (pupils, total), every group of 11.2
    sds: dict[str, float] | None  # the progress measures' national SDs
    estimates: pl.DataFrame | None  # KS1 to KS2 emerging estimates (ks2 only)
    everyone: pl.DataFrame | None = None  # every LA's outcomes, when just read to make it


def national_picture(dataset: str, year: int, *, inputs=None,
                     keep_outcomes: bool = False) -> NationalPicture:
    """The kept picture while every LA's files are unchanged, else summed now and kept.
    With `keep_outcomes`, a picture summed now also carries every LA's outcomes it read."""
    from keystage.analysis.stored import report_inputs

    fingerprint = (inputs or report_inputs(dataset, year)).fingerprint
    found = NationalSummary.objects.filter(dataset=dataset, year=year,
                                           fingerprint=fingerprint).first()
    if found is not None:
        return _loaded(found)
    picture = compute_national_picture(dataset, year)
    _keep(dataset, year, fingerprint, picture)
    if not keep_outcomes:
        picture.everyone = None
    return picture


# Within national_characteristics_shared(): each LA's groups of a year, derived once for
# every dataset's picture, by (LA code, year).
_SHARED: ContextVar[dict | None] = ContextVar("keystage_national_characteristics",
                                              default=None)
_GROUPS_SCHEMA = {"pupil_id": pl.Int64, **dict.fromkeys(primary.GROUPS, pl.Categorical)}


@contextmanager
def national_characteristics_shared() -> Iterator[None]:
    """Within it, every dataset's national picture reads each LA's pupil groups once (the
    worker computing a year's reports, the benchmark): they are the same for every dataset."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def national_characteristics(codes, year: int) -> pl.DataFrame:
    """The pupils of these LAs with their groups of 11.2 (categories, which hold a nation's
    pupils in little memory)."""
    from keystage.context.queries import pupil_characteristics
    from keystage.schools.models import LocalAuthority

    shared = _SHARED.get()
    frames = []
    for la in LocalAuthority.objects.filter(code__in=list(codes)).order_by("code"):
        frame = shared.get((la.code, year)) if shared is not None else None
        if frame is None:
            frame = pupil_characteristics(la, year).select(
                pl.col("pupil_id").cast(pl.Int64),
                *(pl.col(g).cast(pl.String).cast(pl.Categorical) for g in primary.GROUPS))
            if shared is not None:
                shared[(la.code, year)] = frame
        frames.append(frame)
    return pl.concat(frames) if frames else pl.DataFrame(schema=_GROUPS_SCHEMA)


def compute_national_picture(dataset: str, year: int) -> NationalPicture:
    """Every LA's outcomes and characteristics read once and summed."""
    from keystage.analysis.frames import national_outcomes
    from keystage.analysis.queries import progress_sds

    everyone, estimates = national_outcomes(dataset, year)
    characteristics = national_characteristics(everyone["la"].unique().to_list(), year)
    return NationalPicture(
        sums=primary.national_sums(everyone, characteristics),
        sds=progress_sds(dataset, year, everyone),
        estimates=estimates,
        everyone=everyone)


def _keep(dataset: str, year: int, fingerprint: str, picture: NationalPicture) -> None:
    """Keep the picture; a derived copy of data every LA's audited loads wrote, so no audit
    row of its own (as the worker's stored reports)."""
    values = {
        "fingerprint": fingerprint,
        "sums": [[*key, n, total] for key, (n, total) in picture.sums.items()],
        "sds": picture.sds,
        "estimates": (picture.estimates.rows() if picture.estimates is not None else None),
        "computed_at": timezone.now(),
    }
    try:
        with transaction.atomic():
            NationalSummary.objects.update_or_create(dataset=dataset, year=year,
                                                     defaults=values)
    except IntegrityError:
        # Another process kept the same picture at the same moment: theirs serves.
        pass


def _loaded(found: NationalSummary) -> NationalPicture:
    from keystage.measures.ks2_progress import ESTIMATES

    estimates = (pl.DataFrame(found.estimates, schema=ESTIMATES, orient="row")
                 if found.estimates is not None else None)
    return NationalPicture(
        sums={(m, g, v): (n, total) for m, g, v, n, total in found.sums},
        sds=found.sds, estimates=estimates)
