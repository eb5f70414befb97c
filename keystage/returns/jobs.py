"""Background job kinds of the returns app: making a return file."""

from __future__ import annotations

from django.urls import reverse

from keystage.core.plural import counted
from keystage.jobs.registry import JobContext, job_kind
from keystage.returns.actions import NoReturnData, ReturnBlocked, do_make_return
from keystage.schools.models import LocalAuthority


@job_kind(
    "make-return", permission="make-returns", retry_if_stale=True,
    after_failure="No return file was made. Start it again from the returns page; if it fails "
    "again, report it as a fault.",
)
def make_return_job(context: JobContext) -> dict:
    """Make one return; when errors or unaccepted queries stop it, say so and write nothing."""
    job = context.job
    la = LocalAuthority.objects.get(code=job.params["la_code"])
    collection, year = job.params["collection"], job.params["year"]
    back = reverse("returns:list") + f"?collection={collection}&year={year}"
    try:
        made = do_make_return(
            la,
            collection,
            year,
            acting_user=job.created_by,
            accept_queries=job.params.get("accept_queries", False),
            progress=context.report,
        )
    except (ReturnBlocked, NoReturnData) as refused:
        check = getattr(refused, "check", None)
        return {"url": back, "summary": f"No file was made: {refused}", "done": False,
                "refused": str(refused),
                "errors": check.error_count if check else 0,
                "queries": check.query_count if check else 0}
    return {
        "url": reverse("returns:detail", args=[made.pk]),
        "summary": f"{made.filename}: {counted(made.pupils, 'pupil')} from "
                   f"{counted(made.schools, 'school')}",
    }
