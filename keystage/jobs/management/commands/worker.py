"""keystage worker: runs queued background jobs, and sweeps expired uploads and transfer files
past their retention every hour."""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand

from keystage.jobs.actions import do_recover_stale_jobs, run_pending_jobs

logger = logging.getLogger("keystage.jobs")
# How often the worker deletes uploads that waited too long for confirmation.
SWEEP_SECONDS = 3600


def sweep() -> None:
    """Housekeeping between jobs: expired uploads and temporary files left by a crash, and
    transfer files past their retention period."""
    from keystage.collection.actions import do_expire_waiting_uploads
    from keystage.transfer.actions import do_delete_expired_transfers

    try:
        do_expire_waiting_uploads(acting_user=None)
    except Exception:  # the worker must keep running jobs even if housekeeping fails
        logger.exception("sweeping expired uploads failed")
    try:
        do_delete_expired_transfers(acting_user=None)
    except Exception:
        logger.exception("deleting transfer files past retention failed")


def report_stale_jobs(write: Callable[[str], object]) -> None:
    """Settle the jobs left running by a worker that died, and say so for each."""
    for job in do_recover_stale_jobs():
        write(f"Job {job.pk} ({job.title}) was left running by a stopped "
              f"worker: {job.get_status_display().lower()}.")


class Command(BaseCommand):
    help = (
        "Run queued background jobs (imports and other long work), polling for new ones. "
        "Jobs left running by a worker that died are failed, or queued again when safe."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run what is queued, then stop")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")

    def handle(self, *args, once: bool, interval: float, **options):
        report_stale_jobs(self.stdout.write)
        if once:
            sweep()
            ran = run_pending_jobs()
            self.stdout.write(f"Ran {ran} job(s).")
            return
        self.stdout.write("Keystage worker: waiting for jobs (Ctrl-C to stop).")
        # Look for stale jobs a few times within the stale limit, not on every poll.
        check_every = max(interval, settings.KEYSTAGE_JOB_STALE_SECONDS / 4)
        last_check = time.monotonic()
        last_sweep = 0.0
        try:
            while True:
                if time.monotonic() - last_sweep >= SWEEP_SECONDS:
                    sweep()
                    last_sweep = time.monotonic()
                if time.monotonic() - last_check >= check_every:
                    report_stale_jobs(self.stdout.write)
                    last_check = time.monotonic()
                if not run_pending_jobs():
                    time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Worker stopped.")
