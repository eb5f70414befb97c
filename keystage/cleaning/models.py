"""Cleaning: the issues the rules found, each run of the rules, and the LA's own edits."""

from __future__ import annotations

from django.db import models

from keystage import datasets
from keystage.cleaning.ruleset import CLEANED_DATASETS
from keystage.core.plural import counted

# The rules run over the statutory collections and the context datasets (ruleset.CLEANED_DATASETS).
COLLECTION_CHOICES = datasets.choices(CLEANED_DATASETS)
# The LA edits pupils of the statutory collections only.
EDITED_CHOICES = datasets.choices(datasets.COLLECTIONS)


class Severity(models.TextChoices):
    ERROR = "error", "Error"
    QUERY = "query", "Query"


class CleaningRun(models.Model):
    """One run of the rules over an LA's collection and year, with what changed since the last."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    collection = models.CharField(max_length=10, choices=COLLECTION_CHOICES)
    year = models.PositiveSmallIntegerField(help_text="assessment year (summer)")
    rule_set_version = models.CharField(max_length=10)
    # The census term whose records were checked ("AUT", "SPR", "SUM"); empty for other datasets.
    term = models.CharField(max_length=3, blank=True, default="")
    trigger = models.CharField(max_length=20)  # import, edit, manual, command
    run_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    run_by_name = models.CharField(max_length=150)
    run_at = models.DateTimeField(auto_now_add=True)
    seconds = models.FloatField(default=0.0)
    pupils = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    queries = models.PositiveIntegerField(default=0)
    new_issues = models.PositiveIntegerField(default=0)
    resolved_issues = models.PositiveIntegerField(default=0)
    # {"new": {rule_code: n}, "resolved": {rule_code: n}, "notes": [text]}
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-run_at", "-id"]
        indexes = [models.Index(fields=["la", "collection", "year", "-run_at"])]

    def __str__(self) -> str:
        return f"{self.collection} {self.year}: {self.errors} errors, {self.queries} queries"

    @property
    def counts(self) -> str:
        """What the run found, in words: "3 errors and 1 query in 40 pupils"."""
        return (f"{counted(self.errors, 'error')} and "
                f"{counted(self.queries, 'query', 'queries')} in {counted(self.pupils, 'pupil')}")


class Issue(models.Model):
    """One thing a rule found in the current data; replaced wholesale by each run."""

    la = models.ForeignKey(
        "schools.LocalAuthority", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    collection = models.CharField(max_length=10, choices=COLLECTION_CHOICES)
    year = models.PositiveSmallIntegerField()
    school = models.ForeignKey("schools.Establishment", on_delete=models.PROTECT, related_name="+")
    # Null for school-level issues (closed school, cohort counts, missing submission), and
    # for a pupil a resubmission removed: the issue stays until the next run, which must see
    # it to report it as resolved.
    pupil = models.ForeignKey(
        "collection.PupilRecord", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="issues",
    )
    laestab = models.CharField(max_length=10)
    upn = models.CharField(max_length=20, blank=True)
    rule_code = models.CharField(max_length=10)
    severity = models.CharField(max_length=5, choices=Severity.choices)
    field = models.CharField(max_length=100)  # EYF002 lists up to 17 components
    value = models.CharField(max_length=100, blank=True)
    message = models.TextField()

    class Meta:
        indexes = [
            models.Index(fields=["la", "collection", "year", "severity"]),
            models.Index(fields=["school", "collection", "year"]),
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} {self.upn} {self.field}={self.value}"


class LaEdit(models.Model):
    """A change the LA made to a pupil's details or result, with its reason."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("schools.Establishment", on_delete=models.PROTECT, related_name="+")
    submission = models.ForeignKey(
        "collection.Submission", on_delete=models.PROTECT, related_name="la_edits"
    )
    # Null once a resubmission has replaced the pupil record; the edit stays in the history.
    pupil = models.ForeignKey(
        "collection.PupilRecord", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="la_edits",
    )
    collection = models.CharField(max_length=10, choices=EDITED_CHOICES)
    year = models.PositiveSmallIntegerField()
    upn = models.CharField(max_length=20, blank=True)
    field = models.CharField(max_length=20)  # UPN, Surname, ..., or a component code
    old_value = models.CharField(max_length=100, blank=True)
    new_value = models.CharField(max_length=100, blank=True)
    reason = models.TextField()
    school_confirmed = models.BooleanField(
        default=False, help_text="the school confirmed it made the same change in its MIS"
    )
    edited_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    edited_by_name = models.CharField(max_length=150)
    edited_at = models.DateTimeField(auto_now_add=True)
    overwritten_by = models.ForeignKey(
        "collection.Submission", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text="the school's later file that replaced this edit",
    )

    class Meta:
        ordering = ["-edited_at", "-id"]

    def __str__(self) -> str:
        return f"{self.upn} {self.field}: {self.old_value} -> {self.new_value}"
