"""Background job kinds of the cleaning app: running the rules over a collection."""

from __future__ import annotations

from django.urls import reverse

from keystage.cleaning.actions import do_run_cleaning
from keystage.jobs.registry import JobContext, job_kind
from keystage.schools.models import LocalAuthority


@job_kind(
    "run-cleaning", permission="clean-data", retry_if_stale=True,
    after_failure="The issues list is as it was before this run. Start the run again; if it "
    "fails again, report it as a fault.",
)
def run_cleaning_job(context: JobContext) -> dict:
    """Run the rules over one collection and year of an LA."""
    job = context.job
    la = LocalAuthority.objects.get(code=job.params["la_code"])
    collection, year = job.params["collection"], job.params["year"]
    context.report(0, 1, f"Checking {collection} {year} against the cleaning rules")
    run = do_run_cleaning(la, collection, year, acting_user=job.created_by, trigger="manual")
    return {
        "url": reverse("cleaning:overview") + f"?collection={collection}&year={year}",
        "summary": run.counts,
    }
