"""Queueing and running background jobs."""

from __future__ import annotations

import logging
import time
import traceback

from django.db import close_old_connections, transaction
from django.utils import timezone

from keystage.audit.log import record_event
from keystage.audit.models import EventType
from keystage.jobs.models import Job, JobStatus
from keystage.jobs.registry import JobContext, runner_for

logger = logging.getLogger("keystage.jobs")


@transaction.atomic
def do_queue_job(kind: str, title: str, *, params: dict, la=None, acting_user) -> Job:
    """Queue a job for the worker and record who asked for it."""
    runner_for(kind)  # fail now, not in the worker, when the kind is unknown
    job = Job.objects.create(kind=kind, title=title, la=la, created_by=acting_user, params=params)
    record_event(
        EventType.JOB_QUEUED, acting_user=acting_user, la=la, obj=job, summary=title,
        kind=kind,
    )
    return job


def claim_next_job() -> Job | None:
    """Take the oldest queued job, so that two workers never run the same one."""
    while True:
        job = Job.objects.filter(status=JobStatus.QUEUED).order_by("created_at", "id").first()
        if job is None:
            return None
        # A conditional update is atomic on SQLite and PostgreSQL alike: only one worker wins.
        won = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING, started_at=timezone.now(), progress_message="Starting"
        )
        if won:
            job.refresh_from_db()
            return job


def run_job(job: Job) -> Job:
    """Run one claimed job to the end, recording progress, the result or the error."""
    last_write = 0.0

    def report(done: int, total: int, message: str) -> None:
        nonlocal last_write
        now = time.monotonic()
        # Progress rows are written at most a few times a second: enough for a progress bar.
        if now - last_write < 0.25 and done < total:
            return
        last_write = now
        Job.objects.filter(pk=job.pk).update(
            progress_done=done, progress_total=total, progress_message=message[:300]
        )

    try:
        result = runner_for(job.kind)(JobContext(job=job, report=report)) or {}
    except Exception as error:  # the worker must survive any one job's failure
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        message = str(error) or error.__class__.__name__
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            error=message,
            progress_message="Failed",
            result={"traceback": traceback.format_exc(limit=5)},
        )
    else:
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.SUCCEEDED,
            finished_at=timezone.now(),
            result=result,
            result_url=result.get("url", ""),
            progress_message="Finished",
            progress_done=job.progress_total or 1,
            progress_total=job.progress_total or 1,
        )
    job.refresh_from_db()
    return job


def run_pending_jobs(limit: int | None = None) -> int:
    """Run queued jobs until none is left (or the limit); returns how many ran."""
    count = 0
    while limit is None or count < limit:
        job = claim_next_job()
        if job is None:
            break
        run_job(job)
        close_old_connections()
        count += 1
    return count
