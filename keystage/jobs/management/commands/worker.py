"""keystage worker: runs queued background jobs."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from keystage.jobs.actions import do_recover_stale_jobs, run_pending_jobs


class Command(BaseCommand):
    help = (
        "Run queued background jobs (imports and other long work), polling for new ones. "
        "Jobs left running by a worker that died are failed, or queued again when safe."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run what is queued, then stop")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")

    def handle(self, *args, once: bool, interval: float, **options):
        self._recover()
        if once:
            ran = run_pending_jobs()
            self.stdout.write(f"Ran {ran} job(s).")
            return
        self.stdout.write("Keystage worker: waiting for jobs (Ctrl-C to stop).")
        # Look for stale jobs a few times within the stale limit, not on every poll.
        check_every = max(interval, settings.KEYSTAGE_JOB_STALE_SECONDS / 4)
        last_check = time.monotonic()
        try:
            while True:
                if time.monotonic() - last_check >= check_every:
                    self._recover()
                    last_check = time.monotonic()
                if not run_pending_jobs():
                    time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Worker stopped.")

    def _recover(self) -> None:
        for job in do_recover_stale_jobs():
            self.stdout.write(f"Job {job.pk} ({job.title}) was left running by a stopped "
                              f"worker: {job.get_status_display().lower()}.")
