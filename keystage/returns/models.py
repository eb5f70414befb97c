"""The DfE return files an LA generated: what went in, who made them, and what changed."""

from __future__ import annotations

from django.db import models

from keystage import datasets


class ReturnFile(models.Model):
    """One generated return file, kept so it can be downloaded again and compared."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    collection = models.CharField(max_length=10, choices=datasets.choices(datasets.RETURNS))
    year = models.PositiveSmallIntegerField(help_text="assessment year (summer)")
    serial = models.PositiveSmallIntegerField()
    filename = models.CharField(max_length=100)
    # Relative to MEDIA_ROOT.
    stored_path = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    layout = models.CharField(max_length=10)
    rule_set_version = models.CharField(max_length=10)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    schools = models.PositiveIntegerField(default=0)
    pupils = models.PositiveIntegerField(default=0)
    # {component: {result: n}}
    counts = models.JSONField(default=dict, blank=True)
    # The queries the maker accepted: {rule_code: n}; who accepted them is created_by.
    accepted_queries = models.JSONField(default=dict, blank=True)
    # Expected schools with no data when the file was made: [laestab].
    missing_schools = models.JSONField(default=list, blank=True)
    # Against the previous return of the same collection and year: schools and pupils added,
    # removed and changed, and outcome counts that moved.
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["la", "collection", "year", "serial"],
                                    name="one_serial_per_la_collection_year")
        ]

    def __str__(self) -> str:
        return self.filename
