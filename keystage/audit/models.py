"""One append-only log of every write: who, when, what, old and new values, and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class EventType(models.TextChoices):
    USER_CREATED = "user-created", "User added"
    USER_ROLE_CHANGED = "user-role-changed", "User role changed"
    USER_DISABLED = "user-disabled", "User disabled"
    USER_ENABLED = "user-enabled", "User enabled"
    USER_LOCKED = "user-locked", "User locked after failed logins"
    USER_UNLOCKED = "user-unlocked", "User unlocked"
    USER_LOGGED_IN = "user-logged-in", "User logged in"
    USER_LOGIN_FAILED = "user-login-failed", "Failed login"
    USER_PASSWORD_CHANGED = "user-password-changed", "Password changed"
    USER_PASSWORD_RESET = "user-password-reset", "Password reset by email"
    USER_SETTINGS_CHANGED = "user-settings-changed", "User settings changed"
    LA_CREATED = "la-created", "Local authority created"
    LA_CURRENT_YEAR_SET = "la-current-year-set", "Current academic year set"
    ESTABLISHMENT_ADDED = "establishment-added", "Establishment added"
    ESTABLISHMENT_CHANGED = "establishment-changed", "Establishment changed"
    ESTABLISHMENT_CLOSED = "establishment-closed", "Establishment closed"
    REGISTER_IMPORTED = "register-imported", "GIAS extract imported"
    ACADEMIC_YEAR_ADDED = "academic-year-added", "Academic year added"
    DEMO_LOADED = "demo-loaded", "Demo data loaded"
    JOB_QUEUED = "job-queued", "Background job queued"
    JOB_STALE = "job-stale", "Background job stopped with its worker"
    SUBMISSION_ADDED = "submission-added", "Assessment file loaded"
    SUBMISSION_REPLACED = "submission-replaced", "Assessment file replaced earlier data"
    COHORTS_IMPORTED = "cohorts-imported", "Expected cohorts imported"
    CLEANING_RUN = "cleaning-run", "Cleaning rules run"
    PUPIL_EDITED = "pupil-edited", "Pupil data edited by the LA"
    RETURN_GENERATED = "return-generated", "DfE return file generated"
    UPLOADS_EXPIRED = "uploads-expired", "Uploaded files waiting for confirmation deleted"
    NOTICE_ADDED = "notice-added", "Notice to the LA added"
    NOTICE_DISMISSED = "notice-dismissed", "Notice to the LA dismissed"
    PUPIL_LINK_CONFIRMED = "pupil-link-confirmed", "Record confirmed as a pupil's"
    PUPIL_RECORD_SPLIT = "pupil-record-split", "Record split off as a different pupil"
    PUPILS_MERGED = "pupils-merged", "Two pupils merged into one"
    CARE_RETURN_LOADED = "care-return-loaded", "Social care return loaded"
    CARE_RETURN_REPLACED = "care-return-replaced", "Social care return replaced an earlier one"
    CARE_CHILD_MATCHED = "care-child-matched", "Social care child matched to a pupil"
    CARE_CHILD_LEFT = "care-child-left", "Social care child left unlinked"
    CARE_COHORT_CHANGED = "care-cohort-changed", "Looked-after cohort changed by hand"
    REPORT_SHARING_CHANGED = "report-sharing-changed", "What schools see of the reports changed"
    TRANSFER_SENT = "transfer-sent", "Transfer file sent"
    TRANSFER_DOWNLOADED = "transfer-downloaded", "Transfer file downloaded"
    TRANSFER_REJECTED = "transfer-rejected", "Transfer file rejected"
    TRANSFER_ROUTED = "transfer-routed", "Held transfer file routed to a school"
    TRANSFERS_DELETED = "transfers-deleted", "Transfer files past retention deleted"
    LOST_PUPIL_FOUND = "lost-pupil-found", "Lost pupil found"
    LOST_MATCH_REJECTED = "lost-match-rejected", "Near match of a lost pupil rejected"
    TRANSFER_NOTICE_DISMISSED = "transfer-notice-dismissed", "Transfer notice dismissed"
    MESSAGE_SENT = "message-sent", "Secure message sent"
    MESSAGES_READ = "messages-read", "Secure messages read"
    AGENCY_REGISTERED = "agency-registered", "Agency registered"
    AGENCY_LINKED = "agency-linked", "Agency linked to another LA"
    AGENCY_EXTRACT_SENT = "agency-extract-sent", "Extract sent to an agency"
    AGENCY_EXTRACT_DOWNLOADED = "agency-extract-downloaded", "Agency extract downloaded"


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes: audit rows are written once and never changed."""

    def update(self, **kwargs):
        raise PermissionError("audit events cannot be changed")

    def delete(self):
        raise PermissionError("audit events cannot be deleted")

    _raw_delete = delete

    def _update(self, values):
        # Model.save() of an existing row and bulk_update() reach the database through here.
        raise PermissionError("audit events cannot be changed")

    def bulk_create(self, objs, *args, update_conflicts=False, **kwargs):
        if update_conflicts:
            raise PermissionError("audit events cannot be changed")
        return super().bulk_create(objs, *args, update_conflicts=update_conflicts, **kwargs)

    def update_or_create(self, *args, **kwargs):
        raise PermissionError("audit events cannot be changed")


class AuditEvent(models.Model):
    """One write, as it happened."""

    event_time = models.DateTimeField(default=timezone.now, db_index=True)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Kept as text too, so the log reads the same even for the command line and the system.
    actor = models.CharField(max_length=150)
    event_type = models.CharField(max_length=40, choices=EventType.choices, db_index=True)
    la = models.ForeignKey(
        "schools.LocalAuthority", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    school = models.ForeignKey(
        "schools.Establishment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=60, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    reason = models.TextField(blank=True)
    # {"old": {...}, "new": {...}} plus anything else the event needs to be understood later.
    extra_data = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-event_time", "-id"]
        # Django's internal manager (used for related lookups) must refuse writes too.
        base_manager_name = "objects"
        indexes = [models.Index(fields=["la", "-event_time"])]

    def __str__(self) -> str:
        return f"{self.event_time:%Y-%m-%d %H:%M} {self.actor}: {self.summary}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def save_base(self, *args, **kwargs):
        if not self._state.adding and not kwargs.get("force_insert"):
            raise PermissionError("audit events cannot be changed")
        super().save_base(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit events cannot be deleted")

    @property
    def old(self) -> dict:
        return self.extra_data.get("old", {})

    @property
    def new(self) -> dict:
        return self.extra_data.get("new", {})
