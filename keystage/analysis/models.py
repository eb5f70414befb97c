"""What each LA shares of its reports with its schools."""

from __future__ import annotations

from django.db import models

from keystage import datasets
from keystage.core.fields import JSONTextField
from keystage.measures.primary import DATASETS

REPORT_DATASET_CHOICES = datasets.choices([datasets.dataset(code) for code in DATASETS])


class ReportSharing(models.Model):
    """Whether an LA's schools see the emerging LA and national figures of a dataset yet."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    dataset = models.CharField(max_length=10, choices=REPORT_DATASET_CHOICES)
    share_with_schools = models.BooleanField(default=False)
    changed_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["la", "dataset"],
                                               name="one_sharing_per_la_dataset")]

    def __str__(self) -> str:
        return f"{self.la_id} {self.dataset}: {'shared' if self.share_with_schools else 'not'}"


class StoredReport(models.Model):
    """A report's rows as the worker computed them, with the fingerprint of the files they came
    from: a page shows them only while the fingerprint still matches (never stale)."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.CASCADE, related_name="+")
    dataset = models.CharField(max_length=10, choices=REPORT_DATASET_CHOICES)
    year = models.PositiveSmallIntegerField()
    by = models.CharField(max_length=6, blank=True)  # "", "school" or "group"
    national = models.BooleanField(default=False)
    fingerprint = models.CharField(max_length=64)
    rows = models.JSONField(default=list)
    counted = models.BooleanField(default=False)
    # {"files": n, "latest": file name, "latest_at": ISO time}: what the figures were made from.
    inputs = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["la", "dataset", "year", "by", "national"],
                                               name="one_stored_report")]

    def __str__(self) -> str:
        return f"{self.dataset} {self.year} {self.by or 'la'} ({self.la_id})"


class NationalSummary(models.Model):
    """The emerging national picture of a dataset and year, summed once for every LA's reports
    (keystage.analysis.national), kept with the fingerprint of every LA's files it was made
    from: used only while the fingerprint still matches, so never stale."""

    dataset = models.CharField(max_length=10, choices=REPORT_DATASET_CHOICES)
    year = models.PositiveSmallIntegerField()
    fingerprint = models.CharField(max_length=64)
    # [[measure, group, value, pupils, total], ...]: counted pupils and their values' total.
    sums = models.JSONField(default=list)
    # Progress measures' national SDs ({measure: sd}), or null.
    sds = models.JSONField(null=True, blank=True)
    # KS1 to KS2 emerging estimates: [[ks1_aps, est_read, est_writing, est_maths], ...].
    estimates = models.JSONField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "year"],
                                               name="one_national_summary")]

    def __str__(self) -> str:
        return f"national {self.dataset} {self.year}"


class LaSummary(models.Model):
    """One LA's part of the emerging national picture of a dataset and year: its counted pupils
    and their values' total by measure, group and value (keystage.analysis.national), kept with
    the fingerprint of that LA's own files. The national picture is the sum of every LA's part,
    so a load in one LA sums only that LA's pupils again."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.CASCADE, related_name="+")
    dataset = models.CharField(max_length=10, choices=REPORT_DATASET_CHOICES)
    year = models.PositiveSmallIntegerField()
    fingerprint = models.CharField(max_length=64)
    # [[measure, group, value, pupils, total], ...], as NationalSummary.sums; read whole.
    sums = JSONTextField(default=list)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "year", "la"],
                                               name="one_la_summary")]

    def __str__(self) -> str:
        return f"{self.dataset} {self.year} ({self.la_id})"
