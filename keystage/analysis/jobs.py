"""Background job kinds of the analysis app: keeping an LA's reports computed."""

from __future__ import annotations

from django.urls import reverse

from keystage.jobs.registry import JobContext, job_kind
from keystage.schools.models import LocalAuthority


@job_kind(
    "compute-reports", permission="view-analysis", retry_if_stale=True,
    after_failure="The reports are computed when a page is opened until this job runs again; "
    "start it again from the reports page, or load a file.",
)
def compute_reports_job(context: JobContext) -> dict:
    """Compute and store every dataset's reports of a year for an LA."""
    from keystage.analysis.stored import store_reports

    job = context.job
    la = LocalAuthority.objects.get(code=job.params["la_code"])
    year = int(job.params["year"])
    kept = store_reports(la, year, datasets=job.params.get("datasets"), progress=context.report)
    return {"url": reverse("analysis:report") + f"?year={year}",
            "summary": {"reports": kept}, "done": bool(kept)}
