"""Users, their roles and the organisation each belongs to."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    LA_ADMIN = "la_admin", "LA administrator"
    LA_DATA_OFFICER = "la_data_officer", "LA data officer"
    LA_ANALYST = "la_analyst", "LA analyst or moderator"
    TRANSFER_OFFICER = "transfer_officer", "Transfer officer"
    LOST_PUPILS_OFFICER = "lost_pupils_officer", "Lost-pupils officer"
    SCHOOL_USER = "school_user", "School user"
    NATIONAL_ANALYST = "national_analyst", "National analyst"


LA_ROLES = frozenset(
    {
        Role.LA_ADMIN,
        Role.LA_DATA_OFFICER,
        Role.LA_ANALYST,
        Role.TRANSFER_OFFICER,
        Role.LOST_PUPILS_OFFICER,
    }
)


class User(AbstractUser):
    """A person who logs in: scoped to one LA, one school, or (national) aggregates only."""

    role = models.CharField(max_length=30, choices=Role.choices)
    la = models.ForeignKey(
        "schools.LocalAuthority",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name="local authority",
    )
    school = models.ForeignKey(
        "schools.Establishment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    page_size = models.PositiveSmallIntegerField(default=settings.DEFAULT_PAGE_SIZE)
    failed_login_count = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["username"]
        constraints = [
            # Tenancy is structural: LA roles need an LA, school users a school (and its LA),
            # national analysts neither.
            models.CheckConstraint(
                name="user_scope_matches_role",
                condition=(
                    models.Q(role="national_analyst", la__isnull=True, school__isnull=True)
                    | models.Q(role="school_user", la__isnull=False, school__isnull=False)
                    | (
                        models.Q(role__in=sorted(LA_ROLES), la__isnull=False, school__isnull=True)
                    )
                    | models.Q(role="", is_superuser=True)
                ),
            )
        ]

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()

    @property
    def organisation_name(self) -> str:
        """The organisation shown in the page header."""
        if self.school_id:
            return self.school.name
        if self.la_id:
            return self.la.name
        if self.role == Role.NATIONAL_ANALYST:
            return "National"
        return ""
