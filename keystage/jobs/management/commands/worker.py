"""keystage worker: runs queued background jobs."""

import time

from django.core.management.base import BaseCommand

from keystage.jobs.actions import run_pending_jobs


class Command(BaseCommand):
    help = "Run queued background jobs (imports and other long work), polling for new ones."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run what is queued, then stop")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")

    def handle(self, *args, once: bool, interval: float, **options):
        if once:
            ran = run_pending_jobs()
            self.stdout.write(f"Ran {ran} job(s).")
            return
        self.stdout.write("Keystage worker: waiting for jobs (Ctrl-C to stop).")
        try:
            while True:
                if not run_pending_jobs():
                    time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Worker stopped.")
