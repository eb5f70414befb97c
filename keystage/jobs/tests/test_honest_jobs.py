"""Jobs that tell the truth: heartbeats, stale jobs, the worker's supervisor, outcomes."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path
from subprocess import Popen

import pytest
from django.conf import settings
from django.utils import timezone

from keystage.audit.models import AuditEvent, EventType
from keystage.cli import main
from keystage.jobs.actions import (
    STALE_MESSAGE,
    claim_next_job,
    do_queue_job,
    do_recover_stale_jobs,
    run_pending_jobs,
)
from keystage.jobs.messages import public_message
from keystage.jobs.models import Job, JobStatus
from keystage.jobs.registry import job_kind
from keystage.jobs.supervisor import WorkerSupervisor


@job_kind("test-slow")
def _slow(context):
    time.sleep(0.4)
    return {"summary": "slept"}


@job_kind("test-retry-safe", retry_if_stale=True)
def _retry_safe(context):
    return {"summary": "3 rows loaded"}


@job_kind("test-idle")
def _idle(context):
    return {"summary": "all 2 files were already loaded", "done": False}


@job_kind("test-leaky", after_failure="Correct the archive and upload it again.")
def _leaky(context):
    stored = Path(settings.MEDIA_ROOT) / "uploads" / "12" / "00000__broken.zip"
    raise ValueError(f"{stored}: the ZIP archive is damaged")


@pytest.fixture
def admin(transactional_db, world):
    return world.a.users["la_admin"]


def _orphan(admin, kind: str, *, seconds_ago: float = 600) -> Job:
    """A job left running by a worker that died (on another machine) some time ago."""
    job = do_queue_job(kind, f"Orphan {kind}", params={}, la=admin.la, acting_user=admin)
    claim_next_job()
    Job.objects.filter(pk=job.pk).update(
        worker="gone-host:4242", heartbeat_at=timezone.now() - timedelta(seconds=seconds_ago)
    )
    return Job.objects.get(pk=job.pk)


def test_a_job_whose_worker_died_is_failed_with_an_honest_message_and_audited(admin):
    job = _orphan(admin, "test-slow")
    assert [j.pk for j in do_recover_stale_jobs()] == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert job.error == STALE_MESSAGE
    event = AuditEvent.objects.get(event_type=EventType.JOB_STALE)
    assert event.object_id == str(job.pk) and event.extra_data["retried"] is False
    assert do_recover_stale_jobs() == []  # settled once


def test_a_stale_job_of_a_kind_safe_to_retry_is_queued_again_and_runs(admin):
    job = _orphan(admin, "test-retry-safe")
    do_recover_stale_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert run_pending_jobs() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert AuditEvent.objects.get(event_type=EventType.JOB_STALE).extra_data["retried"] is True


def test_a_job_retried_up_to_its_limit_is_then_failed(admin, settings):
    settings.KEYSTAGE_JOB_MAX_ATTEMPTS = 1
    job = _orphan(admin, "test-retry-safe")
    do_recover_stale_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == STALE_MESSAGE


def test_a_job_with_a_recent_heartbeat_is_left_running(admin):
    job = _orphan(admin, "test-slow", seconds_ago=5)
    assert do_recover_stale_jobs() == []
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_the_worker_settles_stale_jobs_when_it_starts(admin, capsys):
    job = _orphan(admin, "test-slow")
    assert main(["worker", "--once"]) == 0
    assert f"Job {job.pk} (Orphan test-slow) was left running by a stopped worker: failed" in (
        capsys.readouterr().out)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_serve_settles_stale_jobs_before_it_serves(admin, capsys, monkeypatch):
    import waitress

    job = _orphan(admin, "test-slow")

    def serve(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(waitress, "serve", serve)
    assert main(["serve", "--no-worker", "--port", "8999"]) == 0
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_a_long_job_keeps_its_heartbeat_fresh(admin, settings):
    settings.KEYSTAGE_JOB_HEARTBEAT_SECONDS = 0.05
    job = do_queue_job("test-slow", "Slow", params={}, la=admin.la, acting_user=admin)
    run_pending_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    # Beats went on while the job slept, with no progress reported.
    assert job.heartbeat_at - job.started_at >= timedelta(seconds=0.2)


def test_a_job_that_did_nothing_says_so_not_finished(admin, client):
    job = do_queue_job("test-idle", "Idle", params={}, la=admin.la, acting_user=admin)
    run_pending_jobs()
    client.force_login(admin)
    status = client.get(f"/jobs/{job.pk}/status/").json()
    assert status["status_label"] == "Nothing to do"
    assert status["message"] == "Nothing to do: all 2 files were already loaded"
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Nothing to do: all 2 files were already loaded" in page
    assert "Finished" not in page


def test_a_job_that_did_something_shows_what_with_its_counts(admin, client):
    job = do_queue_job("test-retry-safe", "Load", params={}, la=admin.la, acting_user=admin)
    run_pending_jobs()
    client.force_login(admin)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Finished" in page and "3 rows loaded" in page


def test_a_failed_job_says_what_to_do_next_and_shows_no_server_path(admin, client):
    job = do_queue_job("test-leaky", "Leaky", params={}, la=admin.la, acting_user=admin)
    run_pending_jobs()
    job.refresh_from_db()
    assert job.error == "broken.zip: the ZIP archive is damaged"
    client.force_login(admin)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Correct the archive and upload it again." in page
    assert "Nothing was changed" not in page
    assert str(settings.MEDIA_ROOT) not in page and "00000__" not in page
    assert client.get(f"/jobs/{job.pk}/status/").json()["next_step"] == (
        "Correct the archive and upload it again.")


@pytest.mark.parametrize(("raw", "shown"), [
    ("/srv/keystage/var/media/uploads/12/00000__broken.zip: empty", "broken.zip: empty"),
    ("uploads/12/00003__ctf one.xml: bad", "ctf one.xml: bad"),
    ("00001__batch.zip/A.xml: not a CTF", "batch.zip/A.xml: not a CTF"),
    ("could not open '/tmp/x/y.xml'", "could not open 'y.xml'"),
    ("3/10 files done", "3/10 files done"),
])
def test_job_messages_never_show_server_paths_or_stored_names(raw, shown):
    assert public_message(raw) == shown


# -- The worker's supervisor ----------------------------------------------------------------


def _wait_for(condition, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_the_supervisor_restarts_a_worker_that_dies_with_a_growing_pause():
    lines: list[str] = []
    started: list[Popen] = []

    def start():
        started.append(Popen([sys.executable, "-c", "raise SystemExit(3)"]))
        return started[-1]

    supervisor = WorkerSupervisor(start, log=lines.append, first_delay=0.01, max_delay=0.04,
                                  poll=0.01)
    supervisor.start()
    try:
        _wait_for(lambda: supervisor.restarts >= 4)
    finally:
        supervisor.stop()
    exits = [line for line in lines if "exited with status 3" in line]
    assert [line.rsplit("in ", 1)[1] for line in exits[:4]] == [
        "0.01 s.", "0.02 s.", "0.04 s.", "0.04 s."]
    assert any("started again" in line for line in lines)


def test_stopping_the_supervisor_stops_a_live_worker_and_starts_no_other():
    started: list[Popen] = []

    def start():
        started.append(Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        return started[-1]

    supervisor = WorkerSupervisor(start, log=lambda line: None, poll=0.01)
    supervisor.start()
    supervisor.stop(timeout=5)
    assert len(started) == 1 and started[0].poll() is not None
