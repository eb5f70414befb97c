"""The background worker: claiming, running, progress, failures."""

from __future__ import annotations

import pytest

from keystage.cli import main
from keystage.jobs.actions import claim_next_job, do_queue_job, run_pending_jobs
from keystage.jobs.models import Job, JobStatus
from keystage.jobs.registry import job_kind


@job_kind("test-count-to-ten")
def _count(context):
    for i in range(11):
        context.report(i, 10, f"counted {i}")
    return {"summary": "counted to ten", "url": "/"}


@job_kind("test-explode")
def _explode(context):
    raise ValueError("the file broke.csv, line 3: bad value")


@pytest.fixture
def admin(transactional_db, world):
    # The worker closes old connections between jobs, as it must in production: the tests
    # therefore run outside a wrapping transaction.
    return world.a.users["la_admin"]


def test_queueing_a_job_of_unknown_kind_fails_at_once(admin):
    with pytest.raises(KeyError):
        do_queue_job("no-such-kind", "Nothing", params={}, la=admin.la, acting_user=admin)
    assert not Job.objects.exists()


def test_worker_runs_queued_jobs_in_order_and_records_the_result(admin):
    first = do_queue_job("test-count-to-ten", "First", params={}, la=admin.la, acting_user=admin)
    second = do_queue_job("test-count-to-ten", "Second", params={}, la=admin.la,
                          acting_user=admin)
    assert run_pending_jobs() == 2
    for job in (first, second):
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED
        assert job.percent == 100
        assert job.result["summary"] == "counted to ten"
        assert job.result_url == "/"
        assert job.started_at <= job.finished_at


def test_a_failing_job_is_marked_failed_and_the_worker_goes_on(admin):
    bad = do_queue_job("test-explode", "Bad", params={}, la=admin.la, acting_user=admin)
    good = do_queue_job("test-count-to-ten", "Good", params={}, la=admin.la, acting_user=admin)
    assert run_pending_jobs() == 2
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.status == JobStatus.FAILED
    assert "broke.csv, line 3" in bad.error
    assert good.status == JobStatus.SUCCEEDED


def test_a_claimed_job_is_not_claimed_twice(admin):
    do_queue_job("test-count-to-ten", "Once", params={}, la=admin.la, acting_user=admin)
    assert claim_next_job() is not None
    assert claim_next_job() is None


def test_worker_once_command_runs_what_is_queued(admin, capsys):
    do_queue_job("test-count-to-ten", "CLI", params={}, la=admin.la, acting_user=admin)
    assert main(["worker", "--once"]) == 0
    assert "Ran 1 job(s)." in capsys.readouterr().out
    assert Job.objects.get().status == JobStatus.SUCCEEDED


def test_job_status_page_shows_progress_to_its_owner_only(admin, world, client):
    job = do_queue_job("test-count-to-ten", "Mine", params={}, la=admin.la, acting_user=admin)
    client.force_login(admin)
    page = client.get(f"/jobs/{job.pk}/")
    assert page.status_code == 200
    assert b"Waiting to start" in page.content
    run_pending_jobs()
    status = client.get(f"/jobs/{job.pk}/status/").json()
    assert status == {
        "status": "succeeded", "status_label": "Finished", "percent": 100,
        "message": "counted to ten", "error": "", "next_step": "", "result_url": "/",
        "finished": True,
    }
    client.force_login(world.b.users["la_admin"])
    assert client.get(f"/jobs/{job.pk}/status/").status_code == 404
