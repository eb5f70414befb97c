"""keystage serve: the web application on 127.0.0.1, with the background worker beside it."""

import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from keystage.jobs.management.commands.worker import report_stale_jobs
from keystage.jobs.supervisor import WorkerSupervisor


class Command(BaseCommand):
    help = "Serve the web application on 127.0.0.1 (waitress) and start the background worker."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1",
                            help="address to listen on (default 127.0.0.1: this machine only)")
        parser.add_argument("--no-worker", action="store_true",
                            help="do not start the background worker (run `keystage worker`)")
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, port: int, host: str, no_worker: bool, threads: int, **options):
        from waitress import serve

        from keystage.wsgi import application

        def stop(signum, frame):
            # A service manager stops us with SIGTERM: leave as on Ctrl-C, taking the worker along.
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        worker = None
        if no_worker:
            # Jobs left "running" by a worker that died with an earlier serve are settled first
            # (a worker started here settles them itself as it starts).
            report_stale_jobs(self.stdout.write)
        else:
            worker = WorkerSupervisor(
                lambda: subprocess.Popen([sys.executable, "-m", "keystage.cli", "worker"]),
                log=self.stdout.write,
            )
            worker.start()
        self.stdout.write(f"Keystage is serving on http://{host}:{port}/ (Ctrl-C to stop).")
        try:
            # Waitress buffers a request body to disk before Django sees it; above its own limit
            # it answers 413 itself. Leave room above Keystage's upload limit so that a
            # too-large upload gets the upload form's message instead.
            body_limit = 2 * settings.KEYSTAGE_UPLOAD_MAX_BYTES + 64 * 1024 * 1024
            serve(application, host=host, port=port, threads=threads, ident="Keystage",
                  max_request_body_size=body_limit)
        except KeyboardInterrupt:
            pass
        finally:
            if worker is not None:
                worker.stop()
