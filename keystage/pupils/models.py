"""One pupil per LA, known by identifiers, with every dataset row linked to them.

Every row of every dataset is a keystage.collection.models.PupilRecord; its `pupil` says which
pupil it is, with the method (`upn`, `former_upn`, `details`, `new`, `confirmed`) and score of
the link. A pupil's id is their address for life: a merge keeps the other id as an alias.
"""

from __future__ import annotations

from django.db import models


class Pupil(models.Model):
    """One child as the LA knows them, across schools, datasets and years."""

    # The (la, upn) index below serves the LA's key, so the foreign key needs none of its own:
    # every index is written again for each pupil a national census adds. Nor a database
    # constraint: PostgreSQL checks one row by row at commit (about 3 us a row, a tenth of an
    # LA's census import), pupils are made only by the imports and an officer's split, for an
    # LA they have just read, and Django enforces PROTECT on the LA's deletion.
    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+",
                           db_index=False, db_constraint=False)
    # The details of the pupil's latest record, for search and display; records keep their own.
    upn = models.CharField(max_length=20, blank=True)
    surname = models.CharField(max_length=100, blank=True)
    forename = models.CharField(max_length=100, blank=True)
    dob = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # One index: every read is of an LA's pupils, or one by UPN. The name search matches
        # the start of the surname whatever its case, which a plain index of it cannot serve.
        indexes = [models.Index(fields=["la", "upn"])]

    def __str__(self) -> str:
        return f"{self.forename} {self.surname} ({self.upn or 'no UPN'})"


class IdentifierKind(models.TextChoices):
    UPN = "upn", "UPN"
    FORMER_UPN = "former_upn", "Former UPN"
    SSDA903_CHILD = "ssda903_child", "SSDA903 child id"
    CIN_CHILD = "cin_child", "CIN census child id"


class PupilIdentifier(models.Model):
    """A value that identifies a pupil: a UPN they have had (later, social-care child ids)."""

    # The unique (pupil, kind, value) constraint's index serves the pupil's key. No database
    # constraint (checked row by row at commit): identifiers are added under the LA's identity
    # lock (keystage.pupils.locks), and Django enforces CASCADE.
    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="identifiers",
                              db_index=False, db_constraint=False)
    # Denormalised so an LA's identifiers are read with no join: the pupil's LA, so (as on the
    # pupil, and for the same reason) with no database constraint of its own.
    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+",
                           db_index=False, db_constraint=False)
    kind = models.CharField(max_length=20, choices=IdentifierKind.choices)
    value = models.CharField(max_length=40)

    class Meta:
        indexes = [
            models.Index(fields=["la", "value"]),
            # An LA's former UPNs (the characteristics read them for every pupil of a year):
            # a few rows of an index of their own, not a filter over all the LA's identifiers.
            models.Index(fields=["la"], condition=models.Q(kind="former_upn"),
                         name="pupils_former_upns_by_la"),
        ]
        constraints = [models.UniqueConstraint(fields=["pupil", "kind", "value"],
                                               name="one_identifier_per_pupil_kind_value")]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class PupilAlias(models.Model):
    """The id of a pupil merged into another: old addresses lead to the pupil kept."""

    id = models.BigIntegerField(primary_key=True)
    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.id} -> {self.pupil_id}"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Waiting for an LA officer"
    CONFIRMED = "confirmed", "Confirmed: the same pupil"
    SPLIT = "split", "Kept apart: a different pupil"


class LinkReview(models.Model):
    """A near match the matcher would not decide alone: is this record that pupil?"""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    record = models.ForeignKey("collection.PupilRecord", on_delete=models.CASCADE,
                               related_name="link_reviews")
    candidate = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=ReviewStatus.choices,
                              default=ReviewStatus.OPEN)
    decided_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "id"]
        indexes = [models.Index(fields=["la", "status"])]

    def __str__(self) -> str:
        return f"record {self.record_id} ~ pupil {self.candidate_id} ({self.score:.2f})"
