"""Every write to users: adding, re-roling, disabling, logins, lockout, settings."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from keystage.accounts.models import LA_ROLES, Role, User
from keystage.audit.log import record_event
from keystage.audit.models import EventType
from keystage.schools.models import Establishment, LocalAuthority


class ScopeError(ValueError):
    """A role was given the wrong kind of organisation."""


def _scope_for(role: str, la: LocalAuthority | None, school: Establishment | None,
               agency=None):
    if role not in Role.values:
        raise ScopeError(f"Unknown role {role!r}. Roles: {', '.join(Role.values)}.")
    if role == Role.SCHOOL_USER:
        if school is None:
            raise ScopeError("A school user needs a school (--school LAESTAB).")
        return school.la, school
    if role == Role.AGENCY_USER:
        if agency is None or la is not None or school is not None:
            raise ScopeError("An agency user belongs to an agency (--agency REFERENCE) and to "
                             "no LA or school.")
        return None, None
    if agency is not None:
        raise ScopeError(f"The role {role} belongs to no agency.")
    if role in LA_ROLES:
        if la is None:
            raise ScopeError(f"The role {role} needs a local authority (--la LLL).")
        if school is not None:
            raise ScopeError(f"The role {role} works for an LA, not a school.")
        return la, None
    if la is not None or school is not None:
        raise ScopeError("A national analyst belongs to no LA or school.")
    return None, None


class LastAdministratorError(ValueError):
    """The change would leave an LA with no active administrator."""


def _keep_an_administrator(user: User) -> None:
    """Refuse a change that takes away the last active administrator of the user's LA."""
    if user.role != Role.LA_ADMIN or not user.is_active or user.la_id is None:
        return
    # Lock the LA so two administrators cannot each remove the other at the same time.
    LocalAuthority.objects.select_for_update().filter(pk=user.la_id).first()
    others = User.objects.filter(
        la_id=user.la_id, role=Role.LA_ADMIN, is_active=True
    ).exclude(pk=user.pk)
    if not others.exists():
        raise LastAdministratorError(
            f"{user.username} is the only active administrator of {user.la.name}. Make another "
            "user an LA administrator first, so the LA can still manage its users."
        )


@transaction.atomic
def do_create_user(
    username: str,
    *,
    role: str,
    la: LocalAuthority | None = None,
    school: Establishment | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
    acting_user,
    reason: str = "",
    agency=None,
) -> User:
    """Add a user with a role in one LA, school or agency; without a password they must reset
    it."""
    la, school = _scope_for(role, la, school, agency)
    if User.objects.filter(username__iexact=username).exists():
        raise ValueError(f"The user name {username!r} is already taken.")
    user = User(
        username=username, role=role, la=la, school=school, email=email,
        first_name=first_name, last_name=last_name, agency=agency,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    record_event(
        EventType.USER_CREATED, acting_user=acting_user, la=la, school=school, obj=user,
        summary=f"User {username} added as {user.get_role_display()}", reason=reason,
        new={"username": username, "role": role, "email": email,
             "school": school.urn if school else None,
             **({"agency": agency.reference} if agency else {})},
    )
    return user


@transaction.atomic
def do_change_user_role(
    user: User, role: str, *, school: Establishment | None = None, acting_user, reason: str = ""
) -> User:
    """Give a user another role within the same LA (a school user keeps or changes school)."""
    la, school = _scope_for(role, user.la, school if role == Role.SCHOOL_USER else None)
    if la != user.la:
        raise ScopeError("A user cannot be moved to another local authority.")
    if role != Role.LA_ADMIN:
        _keep_an_administrator(user)
    old = {"role": user.role, "school": user.school.urn if user.school else None}
    user.role, user.school = role, school
    user.save(update_fields=["role", "school"])
    record_event(
        EventType.USER_ROLE_CHANGED, acting_user=acting_user, la=user.la, school=school, obj=user,
        summary=f"User {user.username} is now {user.get_role_display()}", reason=reason, old=old,
        new={"role": role, "school": school.urn if school else None},
    )
    return user


@transaction.atomic
def do_set_user_active(user: User, active: bool, *, acting_user, reason: str = "") -> User:
    """Disable a user (they can no longer log in) or enable them again."""
    if acting_user is not None and user.pk == acting_user.pk and not active:
        raise ValueError("You cannot disable your own account.")
    if not active:
        _keep_an_administrator(user)
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    record_event(
        EventType.USER_ENABLED if active else EventType.USER_DISABLED, acting_user=acting_user,
        la=user.la, school=user.school, obj=user, reason=reason,
        summary=f"User {user.username} {'enabled' if active else 'disabled'}",
        old={"is_active": not active}, new={"is_active": active},
    )
    return user


@transaction.atomic
def do_unlock_user(user: User, *, acting_user, reason: str = "") -> User:
    """Lift every lockout of a user name after failed logins, from every address."""
    from keystage.accounts.throttle import failed_logins, reset_user

    old = {"failed_login_count": failed_logins(user.username)}
    reset_user(user.username)
    record_event(
        EventType.USER_UNLOCKED, acting_user=acting_user, la=user.la, school=user.school,
        obj=user, summary=f"User {user.username} unlocked", reason=reason,
        old=old, new={"failed_login_count": 0},
    )
    return user


@transaction.atomic
def do_record_failed_login(username: str, *, ip_address: str | None = None) -> User | None:
    """Audit a failed login for a known user (django-axes counts and throttles it)."""
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        return None
    record_event(
        EventType.USER_LOGIN_FAILED, acting_user=None, la=user.la, school=user.school, obj=user,
        summary=f"Failed login for {user.username}", ip_address=ip_address or "",
    )
    return user


@transaction.atomic
def do_record_lockout(username: str, *, ip_address: str | None, cool_off) -> None:
    """Audit that one address must wait before trying a user name again."""
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        return
    record_event(
        EventType.USER_LOCKED, acting_user=None, la=user.la, school=user.school, obj=user,
        summary=f"Logins as {user.username} from {ip_address or 'an unknown address'} paused "
        f"after failed logins",
        new={"ip_address": ip_address or "",
             "cool_off_minutes": int(cool_off.total_seconds() // 60)},
    )


@transaction.atomic
def do_record_login(user: User) -> None:
    """Audit a successful login."""
    record_event(
        EventType.USER_LOGGED_IN, acting_user=user, la=user.la, school=user.school, obj=user,
        summary=f"{user.username} logged in",
    )


@transaction.atomic
def do_set_password(user: User, password: str, *, acting_user, via_reset: bool = False) -> None:
    """Set a user's password (their own change, or a reset by email link, which also unlocks)."""
    from keystage.accounts.throttle import reset_user

    user.set_password(password)
    user.save(update_fields=["password"])
    if via_reset:
        # Whoever holds the emailed link owns the account: let them in from wherever they are.
        reset_user(user.username)
    record_event(
        EventType.USER_PASSWORD_RESET if via_reset else EventType.USER_PASSWORD_CHANGED,
        acting_user=acting_user, la=user.la, school=user.school, obj=user,
        summary=f"Password {'reset' if via_reset else 'changed'} for {user.username}",
    )


@transaction.atomic
def do_change_user_settings(user: User, *, page_size: int, acting_user) -> User:
    """Change a user's own settings (grid page size)."""
    if page_size not in settings.PAGE_SIZE_CHOICES:
        raise ValueError(f"Page size must be one of {settings.PAGE_SIZE_CHOICES}.")
    if user.page_size != page_size:
        old = user.page_size
        user.page_size = page_size
        user.save(update_fields=["page_size"])
        record_event(
            EventType.USER_SETTINGS_CHANGED, acting_user=acting_user, la=user.la,
            school=user.school, obj=user, summary=f"Page size set to {page_size}",
            old={"page_size": old}, new={"page_size": page_size},
        )
    return user
