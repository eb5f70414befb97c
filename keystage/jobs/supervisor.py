"""Keeping the background worker alive beside the web server: restart it when it dies."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable


class WorkerSupervisor:
    """Starts a worker process and starts it again, with a growing pause, whenever it exits.

    The pause doubles after each quick death (up to max_delay), so a worker that cannot start
    does not spin; one that ran for a while (healthy_after seconds) starts again at once.
    """

    def __init__(
        self,
        start: Callable[[], subprocess.Popen],
        *,
        log: Callable[[str], None],
        first_delay: float = 1.0,
        max_delay: float = 60.0,
        healthy_after: float = 60.0,
        poll: float = 0.5,
    ) -> None:
        self.start_process = start
        self.log = log
        self.first_delay, self.max_delay = first_delay, max_delay
        self.healthy_after, self.poll = healthy_after, poll
        self.stopping = threading.Event()
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the worker, and watch it from a background thread."""
        self.process = self.start_process()
        self.log(f"Background worker started (pid {self.process.pid}).")
        self._thread = threading.Thread(target=self.watch, name="worker-supervisor", daemon=True)
        self._thread.start()

    def watch(self) -> None:
        """Wait for the worker to exit; start it again after the pause, until told to stop."""
        delay = self.first_delay
        started = time.monotonic()
        while not self.stopping.is_set():
            if self.process.poll() is None:
                self.stopping.wait(self.poll)
                continue
            code = self.process.returncode
            if time.monotonic() - started >= self.healthy_after:
                delay = self.first_delay
            self.log(f"Background worker (pid {self.process.pid}) exited with status {code}; "
                     f"starting it again in {delay:g} s.")
            if self.stopping.wait(delay):
                break
            delay = min(delay * 2, self.max_delay)
            try:
                self.process = self.start_process()
            except OSError as error:
                self.log(f"The background worker could not be started ({error}); "
                         "trying again.")
                continue
            started = time.monotonic()
            self.restarts += 1
            self.log(f"Background worker started again (pid {self.process.pid}).")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching, then ask the worker to stop (Ctrl-C), killing it if it does not."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
