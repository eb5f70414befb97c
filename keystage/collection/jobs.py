"""Background job kinds of the collection app: importing a batch of uploaded files."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from keystage import datasets
from keystage.accounts.models import Role
from keystage.collection.actions import do_import_batch, preview_key
from keystage.collection.inputs import count_input_files, iter_input_files
from keystage.jobs.models import Job
from keystage.jobs.registry import JobContext, job_kind
from keystage.schools.models import LocalAuthority
from keystage.years import census_term_label


def uploaded_name(path: Path) -> str:
    """The name the user uploaded a file under (it is stored as NNNNN__name)."""
    return path.name.split("__", 1)[-1]


@job_kind(
    "import-files", permission="import-files",
    after_failure="Files the batch page lists as loaded were kept; the file being loaded when "
    "it failed was not. Correct it and upload it again: files already loaded show as unchanged.",
)
def run_file_import(context: JobContext) -> dict:
    """Import the files of an upload; keep those that wait for confirmation of a replacement."""
    job = context.job
    folder = Path(settings.MEDIA_ROOT) / job.params["folder"]
    la = LocalAuthority.objects.get(code=job.params["la_code"])
    user = job.created_by
    if not folder.is_dir():
        # Its files waited too long for confirmation and were deleted (expire-uploads).
        return {"url": reverse("collection:batch", args=[job.pk]), "summary": "0 files",
                "year": job.params["year"], "waiting": [], "files": [], "expired": True}
    paths = sorted(p for p in folder.iterdir() if p.is_file())
    only_school = user.school if user is not None and user.role == Role.SCHOOL_USER else None
    names = {}

    def items():
        # One file at a time: a ZIP's members are decompressed as the import asks for them.
        for path in paths:
            for name, data in iter_input_files([path]):
                display = name.split("/", 1)[1] if name.startswith(path.name + "/") else name
                label = (f"{uploaded_name(path)}/{display}" if display != name
                         else uploaded_name(path))
                names[label] = path
                yield label, data

    outcomes = do_import_batch(
        items(), la=la, year=job.params["year"], acting_user=user,
        confirm_replacements=job.params.get("confirm", False), only_school=only_school,
        progress=context.report, total=count_input_files(paths),
        previewed=job.params.get("previewed") if job.params.get("confirm") else None,
        extra_fields=job.params.get("extra_fields"),
        provisional=job.params.get("provisional", False),
    ).outcomes
    waiting = sorted({names[o.filename].name for o in outcomes
                      if o.status == "needs-confirmation"})
    for path in paths:
        if path.name not in waiting:
            path.unlink(missing_ok=True)
    if not waiting:
        shutil.rmtree(folder, ignore_errors=True)
    # What each waiting replacement was compared against, for its confirmation to check.
    previewed = {
        preview_key(c.school, c.collection, c.term): c.replaces.pk if c.replaces else None
        for o in outcomes if o.status == "needs-confirmation" for c in o.changes
    }
    counts = file_counts(outcomes)
    # The title counts files, not the archives they came in (a ZIP of 30 files is 30).
    title = batch_title(job, counts)
    Job.objects.filter(pk=job.pk).update(title=title[:200])
    replacing = [c for o in outcomes for c in o.changes if c.replaces is not None]
    return {
        "url": reverse("collection:batch", args=[job.pk]),
        "totals": {"added": sum(len(c.added) for c in replacing),
                   "removed": sum(len(c.removed) for c in replacing),
                   "changed": sum(len(c.changed) for c in replacing)},
        "previewed": previewed,
        "summary": counts_text(counts),
        "counts": counts,
        "done": any(o.status == "committed" for o in outcomes),
        "year": job.params["year"],
        "waiting": waiting,
        "files": [
            {
                "filename": o.filename, "status": o.status, "message": o.message,
                "warnings": o.warnings,
                "newer_url": reverse("collection:submission", args=[o.newer.pk])
                if o.newer else "",
                "changes": [
                    {"collection": c.collection, "school": c.school.name, "pupils": c.pupils,
                     "label": datasets.DATASETS[c.collection].label
                     + (f" ({census_term_label(c.term)})" if c.term else ""),
                     "replaces": c.replaces is not None, "added": c.added,
                     "removed": c.removed, "changed": c.changed, "la_edits": c.la_edits,
                     "added_pupils": [{"upn": u, "name": c.names.get(u, "")} for u in c.added],
                     "removed_pupils": [{"upn": u, "name": c.names.get(u, "")}
                                        for u in c.removed],
                     "details": c.details}
                    for c in o.changes
                ],
            }
            for o in outcomes
        ],
    }


FILE_STATES = [("committed", "loaded"), ("unchanged", "unchanged"),
               ("needs-confirmation", "waiting"), ("refused", "refused"),
               ("skipped", "skipped")]


def file_counts(outcomes) -> dict[str, int]:
    """How many files of a batch were loaded, unchanged, waiting, refused and skipped."""
    counts = {label: 0 for _, label in FILE_STATES}
    labels = dict(FILE_STATES)
    for outcome in outcomes:
        counts[labels.get(outcome.status, "refused")] += 1
    return counts


def counts_text(counts: dict[str, int]) -> str:
    """'30 files: 28 loaded, 2 refused' (states with no file left out)."""
    total = sum(counts.values())
    parts = [f"{counts[label]} {label}" for _, label in FILE_STATES if counts.get(label)]
    return f"{total} file{'s' if total != 1 else ''}" + (": " + ", ".join(parts) if parts
                                                          else "")


def batch_title(job, counts: dict[str, int]) -> str:
    """The batch's title once its files are counted."""
    verb = "Confirm" if job.params.get("confirm") else "Import"
    return f"{verb} {counts_text(counts)}"
