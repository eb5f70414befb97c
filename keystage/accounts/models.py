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
    VIRTUAL_SCHOOL = "virtual_school", "Virtual school"
    TRANSFER_OFFICER = "transfer_officer", "Transfer officer"
    LOST_PUPILS_OFFICER = "lost_pupils_officer", "Lost-pupils officer"
    SCHOOL_USER = "school_user", "School user"
    NATIONAL_ANALYST = "national_analyst", "National analyst"
    AGENCY_USER = "agency_user", "Agency user"


LA_ROLES = frozenset(
    {
        Role.LA_ADMIN,
        Role.LA_DATA_OFFICER,
        Role.LA_ANALYST,
        Role.VIRTUAL_SCHOOL,
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
    # An agency user's agency (health, police ...): it downloads the extracts LAs send it.
    agency = models.ForeignKey("transfer.Agency", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="users")
    page_size = models.PositiveSmallIntegerField(default=settings.DEFAULT_PAGE_SIZE)

    class Meta:
        ordering = ["username"]
        constraints = [
            # Tenancy is structural: LA roles need an LA, school users a school (and its LA),
            # agency users an agency, national analysts none of them.
            models.CheckConstraint(
                name="user_scope_matches_role",
                condition=(
                    models.Q(role="national_analyst", la__isnull=True, school__isnull=True)
                    | models.Q(role="agency_user", la__isnull=True, school__isnull=True,
                               agency__isnull=False)
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
        """True when some address is cooling off after failed logins as this user."""
        from keystage.accounts.throttle import is_locked_out

        return is_locked_out(self.username)

    @property
    def failed_login_count(self) -> int:
        """Failed logins counted now against this user, from every address."""
        from keystage.accounts.throttle import failed_logins

        return failed_logins(self.username)

    @property
    def organisation_name(self) -> str:
        """The organisation shown in the page header."""
        if self.school_id:
            return self.school.name
        if self.la_id:
            return self.la.name
        if self.role == Role.NATIONAL_ANALYST:
            return "National"
        if self.agency_id:
            return self.agency.name
        return ""


class PasswordResetRequest(models.Model):
    """One request for a reset email, kept an hour or so to limit emails per account and address.

    Not audited: anyone may ask, and a row per anonymous request would flood the audit log.
    """

    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    email_sent = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Reset request at {self.requested_at:%Y-%m-%d %H:%M} from {self.ip_address}"
