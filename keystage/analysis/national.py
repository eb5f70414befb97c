"""The emerging national picture of a dataset and year, made once for every LA's reports.

Every LA's report compares its figures with the nation's (bands, national rows), and the
national analyst reads the nation's by group. The national part is additive (counted pupils and
their values' total per measure, group and value), so each LA's part is summed from its own
pupils and kept (LaSummary) with the fingerprint of that LA's files, and the nation's is the sum
of the parts, kept (NationalSummary) with the fingerprint of every LA's files. Any new or
replaced file gives a new fingerprint: the next reader sums again the parts of the LAs whose
files changed, and adds up the rest as kept. Live, never stale, and a load in one LA never
re-reads another LA's pupils. KS1 to KS2 progress, measured against estimates made from every
LA's pupils, is kept per prior attainment group (keystage.measures.ks2_progress.prior_rows) so
that its parts stay additive too.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl
from django.db import IntegrityError, transaction
from django.utils import timezone

from keystage.analysis.models import LaSummary, NationalSummary
from keystage.measures import ks2_progress, primary

# Sources every dataset's figures read for the pupils' characteristics: an LA with only these
# has no outcomes of the dataset, so no part.
_CONTEXT = frozenset({"census", "pp", "extra"})


@dataclass
class NationalPicture:
    """What every LA's reports of a dataset and year take from the nation."""

    sums: primary.Sums  # (measure, group, value) -> (pupils, total), every group of 11.2
    sds: dict[str, float] | None  # the progress measures' national SDs
    estimates: pl.DataFrame | None  # KS1 to KS2 emerging estimates (ks2 only)


def national_picture(dataset: str, year: int, *, inputs=None) -> NationalPicture:
    """The kept picture while every LA's files are unchanged, else summed now and kept."""
    from keystage.analysis.stored import report_inputs

    fingerprint = (inputs or report_inputs(dataset, year)).fingerprint
    found = NationalSummary.objects.filter(dataset=dataset, year=year,
                                           fingerprint=fingerprint).first()
    if found is not None:
        return _loaded(found)
    picture = compute_national_picture(dataset, year)
    _keep(dataset, year, fingerprint, picture)
    return picture


def refresh_national_pictures(year: int, datasets: Iterable[str], progress=None) -> None:
    """Every dataset's national picture of a year made current: the parts of LAs whose files
    changed summed again LA by LA (each LA's characteristics read once for every dataset),
    then each picture kept. The worker runs it before an LA's reports; so does the benchmark."""
    from keystage.analysis.stored import report_inputs

    datasets = list(datasets)
    stale = {}
    for dataset in datasets:
        inputs = report_inputs(dataset, year)
        if not NationalSummary.objects.filter(dataset=dataset, year=year,
                                              fingerprint=inputs.fingerprint).exists():
            stale[dataset] = inputs
    if not stale:
        return
    parts = refresh_parts(year, list(stale), progress=progress)
    for dataset, inputs in stale.items():
        _keep(dataset, year, inputs.fingerprint,
              compute_national_picture(dataset, year, parts=parts[dataset]))


def compute_national_picture(dataset: str, year: int, *,
                             parts: dict[int, primary.Sums] | None = None) -> NationalPicture:
    """Every LA's part added up (the parts of LAs whose files changed summed again first,
    unless the caller has just made them current)."""
    from keystage.analysis.queries import progress_sds

    if parts is None:
        parts = refresh_parts(year, [dataset])[dataset]
    total: dict = defaultdict(lambda: (0, 0.0))
    for part in parts.values():
        for key, (n, value) in part.items():
            pupils, sum_ = total[key]
            total[key] = (pupils + n, sum_ + value)
    sums: primary.Sums = dict(total)
    if dataset == "ks2":
        sums, estimates, sds = ks2_progress.from_prior_sums(sums)
        return NationalPicture(sums=sums, sds=sds or None,
                               estimates=None if estimates.is_empty() else estimates)
    return NationalPicture(sums=sums, sds=progress_sds(dataset, year), estimates=None)


def la_fingerprints(dataset: str, year: int, *, edits: dict | None = None) -> dict[int, str]:
    """Each LA with files of the dataset's own: the fingerprint of every current file, social
    care return and figure-changing edit (its own, and the register's) its part is made from,
    and of the code that computes it. `edits`: figure_edits(), when the caller has read it."""
    from django.db.models import Q

    from keystage.analysis.stored import _sources, figure_edits, figures_code_digest
    from keystage.collection.models import Submission
    from keystage.socialcare.models import CareReturn

    wanted = Q()
    for collection, y in _sources(dataset, year):
        wanted |= Q(collection=collection, year=y)
    files: dict[int, list[int]] = defaultdict(list)
    own = set()
    for la_id, collection, pk in (Submission.objects.filter(wanted, status="current")
                                  .values_list("la_id", "collection", "pk")):
        files[la_id].append(pk)
        if collection not in _CONTEXT:
            own.add(la_id)
    care: dict[int, list[int]] = defaultdict(list)
    for la_id, pk in CareReturn.objects.filter(status="current", year__in=(year - 1, year),
                                               la_id__in=own).values_list("la_id", "pk"):
        care[la_id].append(pk)
    edits = figure_edits() if edits is None else edits
    code = figures_code_digest()
    return {la_id: hashlib.sha256(
        f"{dataset}:{year}:{sorted(files[la_id])}:{sorted(care[la_id])}:"
        f"{edits.get(la_id, 0)}:{edits.get(None, 0)}:{code}".encode()).hexdigest()
        for la_id in own}


def refresh_parts(year: int, datasets: list[str], progress=None
                  ) -> dict[str, dict[int, primary.Sums]]:
    """Each dataset's parts by LA: kept ones whose fingerprint still matches, the others summed
    again LA by LA and kept; parts of LAs with no file left are dropped."""
    from keystage.analysis.stored import figure_edits
    from keystage.schools.models import LocalAuthority

    # The figure-changing edits, read once for every fingerprint of this refresh (an edit
    # arriving meanwhile leaves what is kept under the older fingerprint: made again next time).
    edits = figure_edits()
    wanted = {dataset: la_fingerprints(dataset, year, edits=edits) for dataset in datasets}
    parts: dict[str, dict[int, primary.Sums]] = {dataset: {} for dataset in datasets}
    stale: dict[int, list[str]] = defaultdict(list)
    for dataset, fingerprints in wanted.items():
        kept = {la_id: (fingerprint, sums) for la_id, fingerprint, sums in
                LaSummary.objects.filter(dataset=dataset, year=year)
                .values_list("la_id", "fingerprint", "sums")}
        for la_id, fingerprint in fingerprints.items():
            found = kept.get(la_id)
            if found is not None and found[0] == fingerprint:
                parts[dataset][la_id] = {(m, g, v): (n, t) for m, g, v, n, t in found[1]}
            else:
                stale[la_id].append(dataset)
        gone = set(kept) - set(fingerprints)
        if gone:
            LaSummary.objects.filter(dataset=dataset, year=year, la_id__in=gone).delete()
    las = list(LocalAuthority.objects.filter(pk__in=list(stale)).order_by("code"))
    summed: list[tuple] = []
    for index, (la, sums_by_dataset) in enumerate(_summed(las, stale, year, edits)):
        if progress:
            progress(index, len(las), f"Summed LA {la.code}'s part of the national picture")
        for dataset, sums in sums_by_dataset.items():
            summed.append((la, dataset, wanted[dataset][la.pk], sums))
            parts[dataset][la.pk] = sums
        if len(summed) >= _KEEP_EVERY:
            _keep_parts(year, summed)
            summed = []
    if summed:
        _keep_parts(year, summed)
    return parts


# Parts are kept this many at a time, each lot in one statement (a cold start sums about 900).
_KEEP_EVERY = 100


# Stale LAs are summed a batch at a time: each dataset's outcomes read for the batch in one
# statement (not one per LA: a cold start would send over a thousand), then split by LA; each
# LA's characteristics read once for all its datasets. A batch holds a tenth of a national
# year group at most, so memory stays small.
BATCH = 16
# Batches summed on this many connections at once when many LAs are stale (a cold start, a new
# year), so one batch's Python overlaps another's reads. PostgreSQL's joins take most of the
# time and already run on both cores (parallel workers), so this gains little on 2 cores (143 s
# against 148 s for the whole nation, bench/RESULTS.md); more on more. Not inside a
# transaction, whose rows another connection could not see.
PART_THREADS = 2
_THREADS_FROM = 8


def _summed(las: list, stale: dict[int, list[str]], year: int, edits: dict):
    """(LA, {dataset: sums}) for each LA, in order; batches on PART_THREADS connections when
    there are many LAs and no transaction is open."""
    from django.db import connection, connections

    from keystage.analysis import frames

    shared = {"edits": edits}
    if any("ks4" in datasets for datasets in stale.values()):
        # KS4 pupils' KS2 priors are looked up in every LA's KS2 results: read once.
        shared["ks2"] = frames.ks2_prior_table(year - 5)
    batches = [las[i:i + BATCH] for i in range(0, len(las), BATCH)]
    if len(las) < _THREADS_FROM or PART_THREADS < 2 or connection.in_atomic_block:
        for batch in batches:
            yield from _batch_sums(batch, stale, year, shared)
        return
    from concurrent.futures import ThreadPoolExecutor

    def one(batch):
        try:
            return _batch_sums(batch, stale, year, shared)
        finally:
            connections.close_all()  # this thread's own connection

    with ThreadPoolExecutor(PART_THREADS) as pool:
        for done in pool.map(one, batches):
            yield from done


def _batch_sums(batch: list, stale: dict[int, list[str]], year: int, shared: dict
                ) -> list[tuple[object, dict[str, primary.Sums]]]:
    """Each LA of the batch with its part of each of its stale datasets: each dataset's
    outcomes read for the batch in one statement, and every dataset summed for the batch at
    once (primary.datasets_la_parts), against the characteristics of the LAs with any counted
    pupil."""
    ids = tuple(la.pk for la in batch)
    by_code = {la.code: la for la in batch}
    outcomes: dict[str, pl.DataFrame] = {}
    counting: set[str] = set()
    for dataset in dict.fromkeys(d for la in batch for d in stale[la.pk]):
        wanted = [la.code for la in batch if dataset in stale[la.pk]]
        frame = _outcomes(dataset, year, ids, shared).filter(pl.col("la").is_in(wanted))
        outcomes[dataset] = frame
        counting.update(frame.filter(pl.col("counted"))["la"].unique().to_list())
    characteristics = pl.concat(
        [_groups(by_code[code], year, shared["edits"]) for code in by_code if code in counting],
        how="vertical") if counting else None
    parts: dict[str, dict[str, primary.Sums]] = (
        primary.datasets_la_parts(outcomes, characteristics) if characteristics is not None
        else {})
    for dataset, frame in outcomes.items():
        parts.setdefault(dataset, {})
        if dataset == "ks2":
            prior = frame.filter(pl.col("measure").str.contains(ks2_progress.PRIOR,
                                                                literal=True))
            for (code,), rows in prior.partition_by("la", as_dict=True).items():
                if code in parts[dataset]:
                    parts[dataset][code].update(ks2_progress.prior_squares(rows))
    return [(la, {dataset: parts[dataset].get(la.code, {}) for dataset in stale[la.pk]})
            for la in batch]


def _outcomes(dataset: str, year: int, la_ids: tuple[int, ...], shared: dict) -> pl.DataFrame:
    """These LAs' pupils' outcomes of a dataset (a column `la` says whose); for KS2, progress
    as prior_rows (additive)."""
    from keystage.analysis import frames

    if dataset == "ks2":
        ks2 = frames.ks2_frame(year, la_ids)
        ks1 = frames.collection_frame("ks1", year - 4, la_ids)
        return pl.concat([primary.ks2(ks2), ks2_progress.prior_rows(ks1, ks2, year)])
    return frames.pupil_outcomes(dataset, year, la_ids, ks2_table=shared.get("ks2"))


def _groups(la, year: int, edits: dict) -> pl.DataFrame:
    """The LA's pupils with their groups of 11.2 (as text) and the LA's code."""
    from keystage.context import queries

    return queries.pupil_characteristics(la, year, edits=edits).select(
        pl.lit(la.code, pl.String).alias("la"), pl.col("pupil_id").cast(pl.Int64),
        *(pl.col(g).cast(pl.String) for g in primary.GROUPS))


def _keep_parts(year: int, summed: list[tuple]) -> None:
    """Keep LAs' parts, (la, dataset, fingerprint, sums) each, in one statement (inserted, or
    replacing the LA's part of that dataset and year; a part another process keeps at the same
    moment is replaced by the same sums). Derived from files the LAs' audited loads wrote, so
    no audit row of their own (as the kept national picture)."""
    now = timezone.now()
    LaSummary.objects.bulk_create(
        [LaSummary(la=la, dataset=dataset, year=year, fingerprint=fingerprint,
                   computed_at=now, sums=[[*key, n, total] for key, (n, total) in sums.items()])
         for la, dataset, fingerprint, sums in summed],
        update_conflicts=True, unique_fields=["dataset", "year", "la"],
        update_fields=["fingerprint", "sums", "computed_at"])


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
