"""Queueing and running background jobs."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from keystage.audit.log import record_event
from keystage.audit.models import EventType
from keystage.jobs.messages import public_message, public_result
from keystage.jobs.models import Job, JobStatus
from keystage.jobs.registry import JobContext, runner_for, spec_for

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


STALE_MESSAGE = (
    "The worker stopped while this job ran; nothing it was doing was saved. Start it again."
)


def worker_name() -> str:
    """This process as a worker: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_next_job() -> Job | None:
    """Take the oldest queued job, so that two workers never run the same one."""
    while True:
        job = Job.objects.filter(status=JobStatus.QUEUED).order_by("created_at", "id").first()
        if job is None:
            return None
        now = timezone.now()
        # A conditional update is atomic on SQLite and PostgreSQL alike: only one worker wins.
        won = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker_name(),
            attempts=job.attempts + 1, progress_message="Starting",
        )
        if won:
            job.refresh_from_db()
            return job


class _Heartbeat(threading.Thread):
    """Touches a running job's heartbeat every few seconds, however long one step takes."""

    def __init__(self, job_id: int, every: float) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id, self.every = job_id, every
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                try:
                    Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # a locked SQLite file: the next beat tries again
                    logger.debug("heartbeat of job %s not written", self.job_id, exc_info=True)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def run_job(job: Job) -> Job:
    """Run one claimed job to the end, recording progress, the result or the error."""
    last_write = 0.0
    mine = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, worker=job.worker)

    def report(done: int, total: int, message: str) -> None:
        nonlocal last_write
        now = time.monotonic()
        # Progress rows are written at most a few times a second: enough for a progress bar.
        if now - last_write < 0.25 and done < total:
            return
        last_write = now
        Job.objects.filter(pk=job.pk).update(
            progress_done=done, progress_total=total,
            progress_message=public_message(message)[:300], heartbeat_at=timezone.now(),
        )

    heartbeat = None
    if not connection.in_atomic_block:
        # (Under a test's wrapping transaction a second connection would not see the job.)
        heartbeat = _Heartbeat(job.pk, settings.KEYSTAGE_JOB_HEARTBEAT_SECONDS)
        heartbeat.start()
    try:
        result = runner_for(job.kind)(JobContext(job=job, report=report)) or {}
    except Exception as error:  # the worker must survive any one job's failure
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        message = public_message(str(error) or error.__class__.__name__)
        mine.update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            error=message,
            progress_message="Failed",
            result={"traceback": traceback.format_exc(limit=5)},
        )
    else:
        result = public_result(result)
        done = bool(result.get("done", True))
        summary = result.get("summary", "")
        mine.update(
            status=JobStatus.SUCCEEDED,
            finished_at=timezone.now(),
            result=result,
            result_url=result.get("url", ""),
            progress_message=(summary or "Finished") if done else (
                f"Nothing to do: {summary}" if summary else "Nothing to do"),
            progress_done=job.progress_total or 1,
            progress_total=job.progress_total or 1,
        )
    finally:
        if heartbeat is not None:
            heartbeat.stop()
    job.refresh_from_db()
    return job


def _worker_alive(worker: str) -> bool:
    """Whether a job's worker is a live process on this machine (unknown elsewhere: False)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def do_recover_stale_jobs(*, stale_seconds: float | None = None) -> list[Job]:
    """Fail, or queue again when its kind allows, each running job whose worker has died.

    A job is stale when its heartbeat is older than KEYSTAGE_JOB_STALE_SECONDS and its worker
    is not a live process on this machine. Each recovery is audited. Returns the jobs recovered.
    """
    seconds = settings.KEYSTAGE_JOB_STALE_SECONDS if stale_seconds is None else stale_seconds
    cutoff = timezone.now() - timedelta(seconds=seconds)
    recovered = []
    candidates = Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
    for job in candidates.order_by("id"):
        if _worker_alive(job.worker) and job.worker != worker_name():
            continue
        with transaction.atomic():
            try:
                retry = spec_for(job.kind).retry_if_stale
            except KeyError:
                retry = False
            retry = retry and job.attempts < settings.KEYSTAGE_JOB_MAX_ATTEMPTS
            update = (
                {"status": JobStatus.QUEUED, "progress_message": "Waiting to start again "
                 "(the worker stopped while it ran)", "progress_done": 0, "worker": ""}
                if retry else
                {"status": JobStatus.FAILED, "finished_at": timezone.now(),
                 "error": STALE_MESSAGE, "progress_message": "Failed"}
            )
            # Only if nobody finished or recovered it meanwhile.
            if not Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING,
                                      worker=job.worker).update(**update):
                continue
            record_event(
                EventType.JOB_STALE, acting_user=None, la=job.la, obj=job,
                summary=(f"{job.title}: the worker stopped; "
                         + ("queued again" if retry else "marked failed"))[:300],
                kind=job.kind, worker=job.worker, attempts=job.attempts,
                heartbeat_at=job.heartbeat_at.isoformat(), retried=retry,
            )
        job.refresh_from_db()
        logger.warning("job %s (%s) was stale: %s", job.pk, job.kind,
                       "queued again" if retry else "failed")
        recovered.append(job)
    return recovered


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
