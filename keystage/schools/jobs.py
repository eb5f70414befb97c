"""Background job kinds of the schools app."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.urls import reverse

from keystage.jobs.registry import JobContext, job_kind
from keystage.schools.actions import do_import_establishments


@job_kind(
    "import-gias", permission="manage-schools", retry_if_stale=True,
    after_failure="Nothing was changed: the register is loaded all or nothing. Correct the file "
    "and upload it again.",
)
def run_gias_import(context: JobContext) -> dict:
    """Load an uploaded GIAS extract for the LA that uploaded it."""
    job = context.job
    path = Path(settings.MEDIA_ROOT) / job.params["path"]
    try:
        outcome = do_import_establishments(
            path.read_bytes(), filename=job.params["filename"], la_code=job.params["la_code"],
            acting_user=job.created_by, progress=context.report,
        )
    finally:
        path.unlink(missing_ok=True)
    result = {"summary": outcome.summary(),
              "done": bool(outcome.added or outcome.changed or outcome.las_created)}
    if outcome.imports:
        result["url"] = reverse("schools:import-detail", args=[outcome.imports[0].pk])
    return result
