"""The LA's children's social care returns (SSDA903, CIN census), their children and rows.

A return is one load of one dataset for one collection year (1 April to 31 March, named by the
year it ends: 2026 is 2025-26), from one or several files (the 903 comes as a set of tables).
Each child of a return is a CareChild, linked to a Keystage pupil through identity where a
match is found; every row of every table is kept as the file gave it (CareRow.data, text by
column), so what is stored can be compared field by field with what the file says.
Social-care rows are seen only by roles given the social-care permissions.
"""

from __future__ import annotations

from django.db import models

from keystage import datasets
from keystage.core.fields import JSONTextField

SOCIAL_CARE_CHOICES = datasets.choices(datasets.of_family(datasets.Family.SOCIAL_CARE))


class ReturnStatus(models.TextChoices):
    CURRENT = "current", "Current"
    REPLACED = "replaced", "Replaced by a later return"


class CareReturn(models.Model):
    """One load of the SSDA903 or the CIN census for an LA and collection year."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    dataset = models.CharField(max_length=10, choices=SOCIAL_CARE_CHOICES)
    year = models.PositiveSmallIntegerField(help_text="collection year, by the 31 March it ends")
    status = models.CharField(max_length=10, choices=ReturnStatus.choices,
                              default=ReturnStatus.CURRENT)
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    files = models.ManyToManyField("collection.ReceivedFile", related_name="+")
    # A digest of the return's files together: the same files again change nothing.
    digest = models.CharField(max_length=64)
    reference_date = models.DateField(null=True, blank=True)
    software = models.CharField(max_length=100, blank=True)
    children = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    submitted_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    submitted_by_name = models.CharField(max_length=150)
    submitted_at = models.DateTimeField(auto_now_add=True)
    # {"warnings": [...], "tables": {table: rows}, "files": [names], "kind": ...}
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["la", "dataset", "year"],
                                    condition=models.Q(status="current"),
                                    name="one_current_care_return"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} {self.year} ({self.la_id})"


class CareChild(models.Model):
    """One child of a return: identifiers as the file gives them, the pupil they are linked to,
    and how many rows of each kind the return holds for them."""

    # No database constraint on the return and the LA (the return's, kept on the child for the
    # LA's lists), as on the rows' keys: checking both for every child at commit cost a tenth
    # of a load. Children are written only by do_load_care_return, with the return it has just
    # created and that return's LA, and deleted with the return (on_delete runs in Django).
    care_return = models.ForeignKey(CareReturn, on_delete=models.CASCADE,
                                    related_name="care_children", db_constraint=False)
    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+",
                           db_index=False, db_constraint=False)
    child_id = models.CharField(max_length=40)  # 903 CHILD, CIN LAchildID
    line = models.PositiveIntegerField(default=0)  # the header row or <Child> line
    upn = models.CharField(max_length=20, blank=True)
    former_upn = models.CharField(max_length=20, blank=True)
    upn_unknown = models.CharField(max_length=10, blank=True)  # CIN UN1-UN7
    dob_text = models.CharField(max_length=40, blank=True)  # as the file gives it
    dob = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=1, blank=True)  # "M", "F" or ""
    sex_code = models.CharField(max_length=10, blank=True)  # as the file gives it
    ethnicity = models.CharField(max_length=10, blank=True)
    episodes = models.PositiveIntegerField(null=True, blank=True)
    reviews = models.PositiveIntegerField(null=True, blank=True)
    missing = models.PositiveIntegerField(null=True, blank=True)
    cin_details = models.PositiveIntegerField(null=True, blank=True)
    assessments = models.PositiveIntegerField(null=True, blank=True)
    cpp_plans = models.PositiveIntegerField(null=True, blank=True)
    # Indexed only where set (below): a return's children arrive unlinked.
    pupil = models.ForeignKey("pupils.Pupil", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="care_children", db_index=False)
    link_method = models.CharField(max_length=20, blank=True)
    link_score = models.FloatField(null=True, blank=True)
    # An officer looked at an unlinked child and chose to leave them unlinked.
    left_unlinked = models.BooleanField(default=False)

    class Meta:
        ordering = ["care_return", "line", "id"]
        # The LA's children (its list pages) by the LA; no index on (la, upn): no query looks a
        # child up by UPN (the list's search ignores case, which such an index does not serve).
        indexes = [models.Index(fields=["la", "child_id"]),
                   models.Index(fields=["pupil"], condition=models.Q(pupil__isnull=False),
                                name="socialcare_child_linked_idx")]

    def __str__(self) -> str:
        return f"{self.child_id} ({self.upn or 'no UPN'})"


class CareRow(models.Model):
    """One row of one table of a return, every column as the file gives it."""

    # No database constraint on these two keys: a national return holds millions of rows and
    # checking every key at commit cost more than writing them. The rows are written only by
    # do_load_care_return, with the keys of the return and children it has just created, and
    # deleted with them (on_delete runs in Django).
    # One index besides the primary key, on the child: every read of rows goes through the
    # children (a child's page; a table's rows of the children of a return, see
    # rows_of_children), and each index costs as much again as the row itself to write.
    care_return = models.ForeignKey(CareReturn, on_delete=models.CASCADE, related_name="rows_of",
                                    db_constraint=False, db_index=False)
    child = models.ForeignKey(CareChild, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="rows_of", db_constraint=False)
    table = models.CharField(max_length=30)
    line = models.PositiveIntegerField(default=0)
    # {column: text} as the file gives it, kept as JSON text (json, not jsonb, on PostgreSQL).
    data = JSONTextField(default=dict)

    class Meta:
        ordering = ["care_return", "table", "line", "id"]

    def __str__(self) -> str:
        return f"{self.table} line {self.line}"


class CohortChange(models.TextChoices):
    CAME_INTO_CARE = "in", "Came into care"
    LEFT_CARE = "out", "Left care"


class LookedAfterChange(models.Model):
    """A hand edit of the current looked-after cohort between returns, with its date and why."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    child_id = models.CharField(max_length=40)
    pupil = models.ForeignKey("pupils.Pupil", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    change = models.CharField(max_length=3, choices=CohortChange.choices)
    on = models.DateField()
    reason = models.CharField(max_length=300)
    made_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-on", "-id"]
        indexes = [models.Index(fields=["la", "child_id"])]

    def __str__(self) -> str:
        return f"{self.child_id} {self.change} {self.on}"


class FindingSeverity(models.TextChoices):
    ERROR = "error", "Error"
    QUERY = "query", "Query"


class CareFinding(models.Model):
    """A schema check's finding in a return (keystage.formats.socialcare_checks), for the LA
    to fix in its case management system and send again."""

    care_return = models.ForeignKey(CareReturn, on_delete=models.CASCADE,
                                    related_name="findings")
    code = models.CharField(max_length=10)
    severity = models.CharField(max_length=5, choices=FindingSeverity.choices)
    table = models.CharField(max_length=30)
    line = models.PositiveIntegerField(default=0)
    column = models.CharField(max_length=60)
    child_id = models.CharField(max_length=40, blank=True)
    value = models.CharField(max_length=100, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["care_return", "table", "line", "code", "id"]

    def __str__(self) -> str:
        return f"{self.code} {self.table} line {self.line}"
