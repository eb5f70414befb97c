"""The establishments register: local authorities, schools and PVI settings, academic years."""

from __future__ import annotations

from django.db import models

from keystage.years import academic_year_label


class AcademicYear(models.Model):
    """An academic year, named by the calendar year it starts in (2025 means 2025/26)."""

    start_year = models.PositiveSmallIntegerField(unique=True)

    class Meta:
        ordering = ["-start_year"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return academic_year_label(self.assessment_year)

    @property
    def assessment_year(self) -> int:
        """The calendar year of the summer term, when the statutory assessments are made."""
        return self.start_year + 1


class LocalAuthority(models.Model):
    """A local authority, identified by its three-digit DfE LA code."""

    code = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=200)
    current_year = models.ForeignKey(
        AcademicYear, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "local authorities"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class EstablishmentSource(models.TextChoices):
    GIAS = "gias", "GIAS extract"
    MANUAL = "manual", "Added by hand"


class Establishment(models.Model):
    """A school or early years setting in an LA's register, keyed by URN."""

    la = models.ForeignKey(LocalAuthority, on_delete=models.PROTECT, related_name="establishments")
    urn = models.CharField("URN", max_length=6, unique=True)
    estab = models.CharField("establishment number", max_length=4, null=True, blank=True)
    # Not unique: an academy converter often keeps its predecessor's LAESTAB under a new URN.
    laestab = models.CharField("LAESTAB", max_length=7, null=True, blank=True, db_index=True)
    name = models.CharField(max_length=200)
    type_name = models.CharField("type", max_length=120, blank=True)
    type_group = models.CharField("type group", max_length=120, blank=True)
    phase = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=60, default="Open")
    low_age = models.PositiveSmallIntegerField("lowest age", null=True, blank=True)
    high_age = models.PositiveSmallIntegerField("highest age", null=True, blank=True)
    open_date = models.DateField(null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    is_pvi = models.BooleanField("PVI setting", default=False)
    source = models.CharField(
        max_length=10, choices=EstablishmentSource.choices, default=EstablishmentSource.GIAS
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["la", "name"]), models.Index(fields=["la", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})"

    @property
    def identifier(self) -> str:
        """LAESTAB for schools, the EY URN for PVI settings: how files name the sender."""
        return self.laestab or self.urn

    @property
    def report_code(self) -> str:
        """The code a school goes by in reports: its LAESTAB, or a PVI setting's URN (in SQL:
        keystage.schools.queries.laestab_sql)."""
        return self.urn if self.is_pvi else (self.laestab or self.urn)

    @property
    def is_open(self) -> bool:
        return self.status.startswith("Open")

    # The fields a GIAS extract sets, in the order the register shows them.
    REGISTER_FIELDS = (
        "estab", "laestab", "name", "type_name", "type_group", "phase", "status",
        "low_age", "high_age", "open_date", "close_date", "postcode",
    )


class EstablishmentImport(models.Model):
    """One GIAS extract loaded into the register, with what it added, changed and closed."""

    la = models.ForeignKey(
        LocalAuthority, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    imported_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    imported_by_name = models.CharField(max_length=150)
    imported_at = models.DateTimeField(auto_now_add=True)
    rows_read = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    las_created = models.PositiveIntegerField(default=0)
    # Schools a national import moved into this LA (counted in `changed` too), and out of it: the
    # old LA gets a report of its own, so its users see where their school went.
    moved_in = models.PositiveIntegerField(default=0)
    moved_out = models.PositiveIntegerField(default=0)
    # {"added": [urn...], "changed": {urn: {field: [old, new]}}, "closed": [urn...],
    #  "moved": {urn: [old LA code, new LA code]} (moved in),
    #  "moved_out": {urn: {"name": name in this LA, "to": new LA code}},
    #  "unknown_columns": [...], "las_created": [code...]}
    report = models.JSONField(default=dict)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.imported_at:%Y-%m-%d %H:%M})"
