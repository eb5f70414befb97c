"""Report figures computed by the worker after each load and kept with the fingerprint of their
inputs (issue 12: recomputed automatically, never stale). A page uses the stored rows only while
the current files still give the same fingerprint; otherwise it computes them live (the same
code as `keystage report`) and asks the worker to store them again."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from keystage.analysis.models import StoredReport
from keystage.analysis.queries import report_rows
from keystage.audit.models import AuditEvent, EventType
from keystage.core.versions import source_digest
from keystage.measures import primary

# The variants the worker keeps ready: the LA, by school and by group, with national rows.
VARIANTS = (("", True), ("school", True), ("group", True))

# Writes that change figures without a new file: an LA's edit of a pupil's details or results,
# a record linked, split off or merged into another pupil, a social care child matched or left,
# the looked-after cohort changed by hand, the schools register changed. The latest of them is
# part of every fingerprint, so figures kept before such a write are never shown after it.
FIGURE_EVENTS = (
    EventType.PUPIL_EDITED, EventType.PUPIL_LINK_CONFIRMED, EventType.PUPIL_RECORD_SPLIT,
    EventType.PUPILS_MERGED, EventType.CARE_CHILD_MATCHED, EventType.CARE_CHILD_LEFT,
    EventType.CARE_COHORT_CHANGED, EventType.REGISTER_IMPORTED, EventType.ESTABLISHMENT_ADDED,
    EventType.ESTABLISHMENT_CHANGED, EventType.ESTABLISHMENT_CLOSED,
)


def figure_edits() -> dict[int | None, int]:
    """The latest audit event of FIGURE_EVENTS by LA (None: events of no one LA)."""
    return dict(AuditEvent.objects.filter(event_type__in=FIGURE_EVENTS).order_by()
                .values("la_id").annotate(last=Max("id")).values_list("la_id", "last"))


# The modules and data that turn loaded files into figures: the measures, the reads of their
# inputs, the sums and the national picture, the published national figures.
FIGURE_CODE = ("keystage.measures.primary", "keystage.measures.ks2_progress",
               "keystage.measures.ks2_scores", "keystage.measures.ks4", "keystage.measures.ks5",
               "keystage.analysis.frames", "keystage.analysis.queries",
               "keystage.analysis.national")


def figures_code_digest() -> str:
    """The source of the code and data that compute figures, and of the code that derives the
    pupils' characteristics: part of every kept figure's fingerprint, so an upgrade that
    changes a definition makes them computed again without anyone having to say so."""
    from keystage.context.queries import CHARACTERISTICS_CODE

    return source_digest(FIGURE_CODE + CHARACTERISTICS_CODE, ("measures/data",))


@dataclass
class Inputs:
    """What a dataset and year's figures are made from."""

    fingerprint: str
    files: int
    latest: str
    latest_at: datetime | None
    # Some of the dataset's own current files are early results loaded as provisional.
    provisional: bool = False

    def describe(self) -> dict:
        return {"files": self.files, "latest": self.latest,
                "latest_at": self.latest_at.isoformat() if self.latest_at else "",
                "provisional": self.provisional}


def _sources(dataset: str, year: int) -> list[tuple[str, int]]:
    """The (collection, year) pairs whose files a dataset's figures read (characteristics come
    from the census, pupil premium and extra fields of the year)."""
    pairs = [(dataset, year), ("census", year), ("pp", year), ("extra", year)]
    if dataset == "phonics":
        pairs.append(("phonics", year - 1))
    if dataset == "ks4":
        pairs.append(("ks2", year - 5))
    if dataset == "ks2":
        pairs.append(("ks1", year - 4))  # the prior of KS1 to KS2 progress
    return pairs


def report_inputs(dataset: str, year: int) -> Inputs:
    """The fingerprint of every current file (every LA: national rows read them all), social
    care return and figure-changing edit (FIGURE_EVENTS) the figures of a dataset and year
    depend on."""
    from django.db.models import Q

    from keystage.collection.models import Submission
    from keystage.socialcare.models import CareReturn

    wanted = Q()
    for collection, y in _sources(dataset, year):
        wanted |= Q(collection=collection, year=y)
    current = Submission.objects.filter(wanted, status="current")
    ids = sorted(current.values_list("pk", flat=True))
    care = sorted(CareReturn.objects.filter(status="current", year__in=(year - 1, year))
                  .values_list("pk", flat=True))
    edits = max(figure_edits().values(), default=0)
    digest = hashlib.sha256(f"{dataset}:{year}:{ids}:{care}:{edits}:{figures_code_digest()}"
                            .encode()).hexdigest()
    # No file name: the national rows read other LAs' files, whose names are theirs.
    provisional = current.filter(collection=dataset, year=year, provisional=True).exists()
    return Inputs(digest, len(ids), "",
                  current.aggregate(Max("submitted_at"))["submitted_at__max"], provisional)


def stored_report(la, dataset: str, year: int, *, by: str | None, national: bool,
                  inputs: Inputs | None = None) -> tuple[list[list], bool, dict]:
    """The report's rows, whether the LA has data, and where they came from: the worker's
    stored rows while their inputs are unchanged, else computed now."""
    # A page asking for several reports of one dataset and year works the fingerprint out once.
    inputs = inputs or report_inputs(dataset, year)
    found = StoredReport.objects.filter(la=la, dataset=dataset, year=year, by=by or "",
                                        national=national).first()
    if found is not None and found.fingerprint == inputs.fingerprint:
        return found.rows, found.counted, {"computed_at": found.computed_at, "stored": True,
                                           **found.inputs}
    rows, counted = report_rows(la, dataset, year, by=by, national=national)
    return rows, counted, {"computed_at": timezone.now(), "stored": False, **inputs.describe()}


def store_reports(la, year: int, *, datasets=None, progress=None) -> int:
    """Compute and keep the LA's report variants of each dataset for a year; the count kept.
    Run by the worker's compute-reports job (queued after every load)."""
    from keystage.analysis.national import refresh_national_pictures

    datasets = list(datasets or primary.DATASETS)
    # The national pictures first, LA by LA (each LA's characteristics read once for every
    # dataset whose part of it changed), outside the reports' transaction: each part is kept
    # on its own, and many LAs' parts may be summed on two connections at once.
    refresh_national_pictures(year, datasets)
    with transaction.atomic():
        return _store_each(la, year, datasets, progress)


def _store_each(la, year: int, datasets: list[str], progress) -> int:
    done = 0
    for index, dataset in enumerate(datasets):
        if progress:
            progress(index, len(datasets), f"Computing the {dataset} {year} reports")
        inputs = report_inputs(dataset, year)
        for by, national in VARIANTS:
            rows, counted = report_rows(la, dataset, year, by=by or None, national=national)
            StoredReport.objects.update_or_create(
                la=la, dataset=dataset, year=year, by=by, national=national,
                defaults={"fingerprint": inputs.fingerprint, "rows": rows, "counted": counted,
                          "inputs": inputs.describe(), "computed_at": timezone.now()})
            done += 1
    return done


def current_school_rows(dataset: str, year: int,
                        inputs: Inputs | None = None) -> list[list] | None:
    """Every LA's stored school rows of a dataset and year, if every LA with data has them
    computed from the current files; None otherwise (the caller then computes)."""
    from keystage.collection.models import Submission

    fingerprint = (inputs or report_inputs(dataset, year)).fingerprint
    stored = list(StoredReport.objects.filter(dataset=dataset, year=year, by="school",
                                              national=True, fingerprint=fingerprint)
                  .values_list("la_id", "rows"))
    with_data = set(Submission.objects.filter(collection=dataset, year=year, status="current")
                    .values_list("la_id", flat=True).distinct())
    if not with_data or not with_data <= {la for la, _ in stored}:
        return None
    return [row for _, rows in stored for row in rows]
