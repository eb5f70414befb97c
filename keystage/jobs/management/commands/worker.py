"""keystage worker: runs queued background jobs, and sweeps expired uploads every hour."""

import logging
import time

from django.core.management.base import BaseCommand

from keystage.jobs.actions import run_pending_jobs

logger = logging.getLogger("keystage.jobs")
# How often the worker deletes uploads that waited too long for confirmation.
SWEEP_SECONDS = 3600


def sweep() -> None:
    """Housekeeping between jobs: expired uploads and temporary files left by a crash."""
    from keystage.collection.actions import do_expire_waiting_uploads

    try:
        do_expire_waiting_uploads(acting_user=None)
    except Exception:  # the worker must keep running jobs even if housekeeping fails
        logger.exception("sweeping expired uploads failed")


class Command(BaseCommand):
    help = "Run queued background jobs (imports and other long work), polling for new ones."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run what is queued, then stop")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")

    def handle(self, *args, once: bool, interval: float, **options):
        if once:
            sweep()
            ran = run_pending_jobs()
            self.stdout.write(f"Ran {ran} job(s).")
            return
        self.stdout.write("Keystage worker: waiting for jobs (Ctrl-C to stop).")
        last_sweep = 0.0
        try:
            while True:
                if time.monotonic() - last_sweep >= SWEEP_SECONDS:
                    sweep()
                    last_sweep = time.monotonic()
                if not run_pending_jobs():
                    time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Worker stopped.")
