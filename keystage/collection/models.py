"""Submissions of statutory assessment files, the pupils and results they carry, and cohorts."""

from __future__ import annotations

from django.db import models

from keystage import datasets

# The statutory assessment collections (keystage.datasets.COLLECTIONS), for the pages and
# commands about them. Records and submissions may hold any dataset: DATASET_CHOICES.
Collection = models.TextChoices(
    "Collection", [(d.code.upper(), (d.code, d.label)) for d in datasets.COLLECTIONS]
)
DATASET_CHOICES = datasets.choices()


class ReceivedFile(models.Model):
    """A file as it arrived, kept unchanged for the audit trail and for download by the LA."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField()
    # Relative to MEDIA_ROOT; files are stored by hash, so the same bytes are kept once.
    stored_path = models.CharField(max_length=300)
    received_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_by_name = models.CharField(max_length=150)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return self.filename


class SubmissionStatus(models.TextChoices):
    CURRENT = "current", "Current"
    REPLACED = "replaced", "Replaced by a later file"


class Submission(models.Model):
    """One school's data for one collection and year, as committed from one file."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(
        "schools.Establishment", on_delete=models.PROTECT, related_name="submissions"
    )
    collection = models.CharField(max_length=10, choices=DATASET_CHOICES)
    year = models.PositiveSmallIntegerField(help_text="assessment year (summer)")
    # The census term ("AUT", "SPR", "SUM"; keystage.datasets CENSUS.terms) and its reference
    # date; empty for every other dataset, which has one load a year.
    term = models.CharField(max_length=3, blank=True, default="")
    # Early results loaded as provisional (datasets with early_results): the reports say so
    # until the DfE's file replaces them.
    provisional = models.BooleanField(default=False)
    reference_date = models.DateField(null=True, blank=True)
    file = models.ForeignKey(ReceivedFile, on_delete=models.PROTECT, related_name="submissions")
    status = models.CharField(
        max_length=10, choices=SubmissionStatus.choices, default=SubmissionStatus.CURRENT
    )
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ctf_version = models.CharField(max_length=10, blank=True)
    supplier = models.CharField(max_length=100, blank=True)
    pupil_count = models.PositiveIntegerField(default=0)
    result_count = models.PositiveIntegerField(default=0)
    submitted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_by_name = models.CharField(max_length=150)
    submitted_at = models.DateTimeField(auto_now_add=True)
    # {"warnings": [...], "added": [upn], "removed": [upn], "changed": [upn], "ignored_rows": n}
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "collection", "year", "term"],
                condition=models.Q(status="current"),
                name="one_current_submission_per_school_dataset_year_term",
            )
        ]
        indexes = [models.Index(fields=["la", "collection", "year", "status"])]

    def __str__(self) -> str:
        return f"{self.get_collection_display()} {self.year}: {self.school.name}"


class PupilRecord(models.Model):
    """A pupil as one submission describes them, with measures derived when it was committed."""

    # No key of a record carries a database constraint: PostgreSQL checks each at commit, row
    # by row, millions of lookups for a national census. The records are written only by the
    # imports, with the submission they create in the same transaction and an LA and school
    # they have just read, and Django enforces CASCADE, PROTECT and SET_NULL on delete. Which
    # pupil a record is changes under the LA's identity lock (keystage.pupils.locks), so no
    # pupil is deleted while records are being linked to it.
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="pupils",
                                   db_constraint=False)
    # Denormalised from the submission so whole-collection queries need no join; the
    # (la, collection, year) index below serves it, so the foreign key needs none of its own.
    la = models.ForeignKey(
        "schools.LocalAuthority", on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False,
    )
    # No index of its own: a school's records are read with the LA, collection and year.
    school = models.ForeignKey("schools.Establishment", on_delete=models.PROTECT, related_name="+",
                               db_constraint=False, db_index=False)
    collection = models.CharField(max_length=10, choices=DATASET_CHOICES)
    year = models.PositiveSmallIntegerField()
    line = models.PositiveIntegerField(help_text="line of the pupil in the file")
    upn = models.CharField(max_length=20, blank=True)
    surname = models.CharField(max_length=100, blank=True)
    forename = models.CharField(max_length=100, blank=True)
    middle_names = models.CharField(max_length=100, blank=True)
    dob = models.DateField(null=True, blank=True)
    dob_text = models.CharField(max_length=30, blank=True)
    sex = models.CharField(max_length=10, blank=True)
    ncyear = models.CharField(max_length=4, blank=True)
    # Derived measures (encodings.md section 1): computed on commit, never imported.
    gld = models.BooleanField(null=True)
    elgs_expected = models.PositiveSmallIntegerField(null=True)
    phonics_met = models.BooleanField(null=True)
    mtc_full_marks = models.BooleanField(null=True)
    # The pupil this row is (keystage.pupils), how the link was made and how sure it is.
    pupil = models.ForeignKey("pupils.Pupil", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="records", db_constraint=False)
    link_method = models.CharField(max_length=10, blank=True, db_default="")
    link_score = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["la", "collection", "year"]),
            # A pupil's records by UPN are always looked up within an LA.
            models.Index(fields=["la", "upn"], name="collection_records_la_upn"),
        ]

    def __str__(self) -> str:
        return f"{self.upn} {self.surname}, {self.forename}"


class RetiredPupilRecord(models.Model):
    """The stable key of a pupil record that a replacement file removed.

    Links to a record id (bookmarks, emails, the audit log) outlive the record: the pupil's
    page finds the key here and sends them on to the pupil's stable address. Only records with
    a UPN are kept, as the UPN is part of that address.
    """

    # The removed PupilRecord's id, which is never given to another record.
    id = models.BigIntegerField(primary_key=True)
    # Rows are only ever looked up by id, so the foreign keys need no index of their own.
    la = models.ForeignKey(
        "schools.LocalAuthority", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    school = models.ForeignKey(
        "schools.Establishment", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    collection = models.CharField(max_length=10, choices=DATASET_CHOICES)
    year = models.PositiveSmallIntegerField()
    upn = models.CharField(max_length=20)

    def __str__(self) -> str:
        return f"{self.id}: {self.collection} {self.year} {self.upn}"


class AssessmentResult(models.Model):
    """One CTF StageAssessment row of a pupil, as the file gave it."""

    # No index of its own: the (pupil, component) index below serves lookups by pupil, and each
    # index costs time on every one of the millions of rows a national load writes. No
    # database constraint either: PostgreSQL checks a deferred foreign key row by row at
    # commit, ten million lookups for a national EYFSP year. The rows are written only by the
    # imports, with the records they have just created in the same transaction, and deleted
    # with them (on_delete runs in Django), as the social care rows are.
    pupil = models.ForeignKey(
        PupilRecord, on_delete=models.CASCADE, related_name="results", db_index=False,
        db_constraint=False,
    )
    stage = models.CharField(max_length=3)
    locale = models.CharField(max_length=3, blank=True)
    year = models.PositiveSmallIntegerField(null=True)
    subject = models.CharField(max_length=3)
    method = models.CharField(max_length=3)
    component = models.CharField(max_length=3)
    status = models.CharField(max_length=1)
    qualifier = models.CharField(max_length=2)
    result = models.CharField(max_length=9)
    result_date = models.DateField(null=True)
    # The latest R row for its component: the one that counts (encodings.md section 1).
    is_latest = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["pupil", "component"])]

    def __str__(self) -> str:
        return f"{self.component}={self.result}"


class ExpectedCohort(models.Model):
    """How many pupils the LA expects from a school for a collection and year."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("schools.Establishment", on_delete=models.PROTECT, related_name="+")
    collection = models.CharField(max_length=12, choices=datasets.cohort_choices())
    year = models.PositiveSmallIntegerField(help_text="assessment year (summer)")
    expected_count = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school", "collection", "year"], name="one_expected_cohort"
            )
        ]

    def __str__(self) -> str:
        return f"{self.collection} {self.year}: {self.expected_count}"


class LaNotice(models.Model):
    """Something the LA's data officers should know, shown on their home page until dismissed."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(
        "schools.Establishment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["la", "dismissed_at"])]

    def __str__(self) -> str:
        return self.title
