"""Background jobs: long work queued by the web app and run by the worker, with progress."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    FAILED = "failed", "Failed"


class Job(models.Model):
    """One piece of background work and how far it has got."""

    kind = models.CharField(max_length=60)
    title = models.CharField(max_length=200)
    la = models.ForeignKey(
        "schools.LocalAuthority", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    params = models.JSONField(default=dict)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_message = models.CharField(max_length=300, blank=True)
    # Where the user goes to see what the job made (a report page), once it has succeeded.
    result_url = models.CharField(max_length=300, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker running the job touches this every few seconds; an old one means it died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # "host:pid" of the worker running the job, so a live worker's job is never taken as stale.
    worker = models.CharField(max_length=120, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(100 * self.progress_done / self.progress_total))

    @property
    def did_something(self) -> bool:
        """Whether a finished job changed or made anything (its kind says; by default yes)."""
        return self.status == JobStatus.SUCCEEDED and bool(self.result.get("done", True))

    @property
    def headline(self) -> str:
        """The one-word outcome: "Finished" only when something was done."""
        if self.status == JobStatus.SUCCEEDED and not self.did_something:
            return "Nothing to do"
        return self.get_status_display()

    @property
    def outcome(self) -> str:
        """What the job did, in a sentence, once it has finished."""
        if self.status != JobStatus.SUCCEEDED:
            return ""
        return self.result.get("summary", "") or self.progress_message

    @property
    def next_step(self) -> str:
        """For a failed job, what the user should do now (the kind's advice)."""
        from keystage.jobs.registry import spec_for

        if self.status != JobStatus.FAILED:
            return ""
        try:
            return spec_for(self.kind).after_failure
        except KeyError:
            return ""

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
