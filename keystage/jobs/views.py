"""Following a background job's progress."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render

from keystage.accounts import access


@login_required
def job_detail(request, job_id: int):
    """A job's progress bar; the page refreshes itself until the job has finished."""
    job = access.access_job_by_id(request.user, job_id)
    return render(request, "jobs/job_detail.html", {"job": job})


@login_required
def job_status(request, job_id: int):
    """A job's progress as JSON, for the progress bar."""
    job = access.access_job_by_id(request.user, job_id)
    return JsonResponse({
        "status": job.status, "status_label": job.headline, "percent": job.percent,
        "message": job.progress_message, "error": job.error, "next_step": job.next_step,
        "result_url": job.result_url, "finished": job.is_finished,
    })
