"""The context datasets' own fields, beside the PupilRecord every dataset row has.

Each census pupil, pupil premium row, KS2 result and KS4 candidate is a
keystage.collection.models.PupilRecord (identity details, school, dataset, year; linked to one
pupil by keystage.pupils). What only that dataset says is kept here, one table per kind of
fact, each row hanging off its record so a replacement file removes it with the record.

The records' keys carry no database constraint (db_constraint=False): PostgreSQL checks a
foreign key row by row, at commit, and a national census writes millions of these rows; the
checks cost about twice the COPY of the rows themselves (bench/RESULTS.md). The rows are written
only by the imports, in the transaction that creates their records, and deleted with them
(on_delete runs in Django).
"""

from __future__ import annotations

from django.db import models


class CensusDetail(models.Model):
    """What a school census says of a pupil on roll, beyond the record's identity details."""

    record = models.OneToOneField(
        "collection.PupilRecord", on_delete=models.CASCADE, primary_key=True,
        related_name="census", db_constraint=False,
    )
    former_upn = models.CharField(max_length=20, blank=True)
    uln = models.CharField(max_length=10, blank=True)
    preferred_surname = models.CharField(max_length=100, blank=True)
    former_surname = models.CharField(max_length=100, blank=True)
    ethnicity = models.CharField(max_length=4, blank=True)
    first_language = models.CharField(max_length=4, blank=True)
    enrol_status = models.CharField(max_length=1, blank=True)  # C, M, S, F, O (formats.md 4)
    entry_date = models.DateField(null=True)
    part_time = models.BooleanField(null=True)
    boarder = models.CharField(max_length=1, blank=True)
    sen_provision = models.CharField(max_length=1, blank=True)  # N, K, E
    fsm_eligible = models.BooleanField(null=True)  # on the census reference date
    service_child = models.CharField(max_length=2, blank=True)
    # AdoptedFromCare as the census gives it (adopted, or left care under an order: methods 11.1).
    adopted_from_care = models.CharField(max_length=2, blank=True)
    # The census's termly attendance and exclusions, summed over the terms it gives (null when
    # it gives none): what the virtual school reads of a child's attendance.
    sessions_possible = models.PositiveIntegerField(null=True)
    sessions_absent = models.PositiveIntegerField(null=True)  # authorised and unauthorised
    exclusions = models.PositiveIntegerField(null=True)
    exclusion_sessions = models.PositiveIntegerField(null=True)

    def __str__(self) -> str:
        return f"census detail of {self.record_id}"


class FsmPeriod(models.Model):
    """One free-school-meal eligibility period of a census pupil (end empty: still eligible)."""

    record = models.ForeignKey(
        "collection.PupilRecord", on_delete=models.CASCADE, related_name="fsm_periods",
        db_constraint=False,
    )
    start = models.DateField(null=True)
    end = models.DateField(null=True)

    def __str__(self) -> str:
        return f"FSM {self.start} to {self.end or 'now'}"


class SenNeed(models.Model):
    """One special educational need of a census pupil, ranked (1 = primary need)."""

    record = models.ForeignKey(
        "collection.PupilRecord", on_delete=models.CASCADE, related_name="sen_needs",
        db_constraint=False,
    )
    sen_type = models.CharField(max_length=4)
    rank = models.PositiveSmallIntegerField(null=True)

    def __str__(self) -> str:
        return f"{self.sen_type} ({self.rank})"


class CensusLeaver(models.Model):
    """A pupil a census lists as no longer on roll, with the date they left."""

    submission = models.ForeignKey(
        "collection.Submission", on_delete=models.CASCADE, related_name="leavers"
    )
    line = models.PositiveIntegerField()
    upn = models.CharField(max_length=20, blank=True)
    surname = models.CharField(max_length=100, blank=True)
    forename = models.CharField(max_length=100, blank=True)
    dob = models.DateField(null=True)
    sex = models.CharField(max_length=10, blank=True)
    entry_date = models.DateField(null=True)
    leaving_date = models.DateField(null=True)

    def __str__(self) -> str:
        return f"{self.upn} left {self.leaving_date}"


class PupilPremium(models.Model):
    """A pupil premium allocation row: eligible or not, and why (encodings.md section 3)."""

    record = models.OneToOneField(
        "collection.PupilRecord", on_delete=models.CASCADE, primary_key=True,
        related_name="pupil_premium", db_constraint=False,
    )
    eligible = models.BooleanField(null=True)
    reason = models.CharField(max_length=10, blank=True)  # FSM6, CLA, POSTLAC, SERVICE

    def __str__(self) -> str:
        return f"PP {self.eligible} {self.reason}"


class Ks2Result(models.Model):
    """A pupil's KS2 results as the DfE sends them: scaled scores, outcomes, TA outcomes."""

    record = models.OneToOneField(
        "collection.PupilRecord", on_delete=models.CASCADE, primary_key=True,
        related_name="ks2", db_constraint=False,
    )
    read_score = models.PositiveSmallIntegerField(null=True)
    read_outcome = models.CharField(max_length=4, blank=True)
    mat_score = models.PositiveSmallIntegerField(null=True)
    mat_outcome = models.CharField(max_length=4, blank=True)
    gps_score = models.PositiveSmallIntegerField(null=True)
    gps_outcome = models.CharField(max_length=4, blank=True)
    writ_ta_outcome = models.CharField(max_length=4, blank=True)
    sci_ta_outcome = models.CharField(max_length=4, blank=True)

    def __str__(self) -> str:
        return f"KS2 of {self.record_id}"


class Ks4Result(models.Model):
    """One KS4 qualification result of a pupil."""

    record = models.ForeignKey(
        "collection.PupilRecord", on_delete=models.CASCADE, related_name="ks4_results",
        db_constraint=False,
    )
    row = models.PositiveIntegerField()
    qualification = models.CharField(max_length=20)
    subject = models.CharField(max_length=20)
    grade = models.CharField(max_length=10)

    def __str__(self) -> str:
        return f"{self.subject} {self.grade}"


class Ks5Result(models.Model):
    """One KS5 (16-18) qualification result of a student, with their KS4 prior attainment."""

    record = models.ForeignKey(
        "collection.PupilRecord", on_delete=models.CASCADE, related_name="ks5_results",
        db_constraint=False,
    )
    row = models.PositiveIntegerField()
    qualification = models.CharField(max_length=10)  # DfE code: 111 A level, 121 AS level
    subject = models.CharField(max_length=10)  # DfE subject code, e.g. 11010 biology
    grade = models.CharField(max_length=4)
    # The student's KS4 average point score (the DfE's prior attainment for value added).
    prior_aps = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"{self.qualification} {self.subject} {self.grade}"


class ExtraValue(models.Model):
    """One LA-named field of a pupil from an extra-fields CSV (e.g. a local young-carer flag)."""

    record = models.ForeignKey(
        "collection.PupilRecord", on_delete=models.CASCADE, related_name="extra_values",
        db_constraint=False,
    )
    field = models.CharField(max_length=60)
    value = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["field"])]

    def __str__(self) -> str:
        return f"{self.field}={self.value}"


class KeptCharacteristics(models.Model):
    """An LA's pupils of a year with their characteristics (methods.md 11.1), as derived from
    its current files, kept with the fingerprint of those files, the edits since and the code
    that derived them (keystage.context.queries): used only while the fingerprint matches, so
    never stale. Reports, the national picture and `export pupils` read them many times a load;
    deriving them reads every census, result and social care row of the LA."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    fingerprint = models.CharField(max_length=64)
    # The derived frame as Parquet (polars, zstd); read whole. Frames kept by an earlier
    # format never match: the code that writes them is part of the fingerprint.
    frame = models.BinaryField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["la", "year"],
                                               name="one_kept_characteristics")]

    def __str__(self) -> str:
        return f"characteristics {self.year} ({self.la_id})"
