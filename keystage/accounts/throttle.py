"""Login and password-reset throttling: the settings hooks django-axes calls, and reset limits.

Failures are counted by axes in the database per (user name, source address) pair; see
docs/adr/0001-login-throttling.md. Nothing here ends a session or says whether a user exists.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

MAX_COOL_OFF = dt.timedelta(hours=24)
# Lockouts within this window make the next one longer.
BACKOFF_WINDOW = dt.timedelta(hours=24)


def username_for(request, credentials) -> str:
    """The user name axes counts failures under: case-folded, as logins match it."""
    name = (credentials or {}).get("username")
    if name is None and request is not None:
        name = request.POST.get("username", "")
    return (name or "").strip().lower()


def _lockouts(request) -> int:
    """Lockouts of this request's (user name, address) pair that began within the window."""
    from axes.helpers import get_client_ip_address
    from axes.models import AccessFailureLog

    return AccessFailureLog.objects.filter(
        username=username_for(request, None),
        ip_address=get_client_ip_address(request),
        locked_out=True,
        attempt_time__gte=timezone.now() - BACKOFF_WINDOW,
    ).count()


def _wait(lockouts: int) -> dt.timedelta:
    base = dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    return min(base * 2 ** min(max(lockouts - 1, 0), 16), MAX_COOL_OFF)


def cool_off(request=None) -> dt.timedelta:
    """How long a locked pair waits: doubling with each lockout of the pair in the last day.

    axes logs a failure that starts a lockout with `locked_out` set, so the count of those is
    the number of lockouts, the current one included, once it has begun.
    """
    if request is None or request.method != "POST":
        return _wait(1)
    return _wait(_lockouts(request))


def cool_off_of_new_lockout(request) -> dt.timedelta:
    """The wait of a lockout beginning now (axes logs its failure after announcing it)."""
    return _wait(_lockouts(request) + 1)


def lockout_response(request, original_response=None, credentials=None):
    """Answer a locked pair exactly as a wrong password: the login page and its usual error.

    The login view has already rendered that page (authentication failed); hashing a throwaway
    password costs what checking a real one would, so the answer takes as long too.
    """
    make_password("keystage-throttle-timing")
    return original_response


def failed_logins(username: str) -> int:
    """Failures counted now against a user name, from every address."""
    from axes.models import AccessAttempt

    return sum(
        AccessAttempt.objects.filter(username=username.lower())
        .values_list("failures_since_start", flat=True)
    )


def _locking_attempts(username):
    """axes' counts that hold a user name locked (`username` a value or an expression)."""
    from axes.models import AccessAttempt

    return AccessAttempt.objects.filter(
        username=username,
        failures_since_start__gte=settings.LOGIN_LOCKOUT_ATTEMPTS,
        attempt_time__gte=timezone.now() - MAX_COOL_OFF,
    )


def is_locked_out(username: str) -> bool:
    """True when at least one address must wait before logging in as this user name."""
    return _locking_attempts(username.lower()).exists()


def with_locked_out(users):
    """Annotate a user queryset with `locked_out` (as `User.is_locked`), in the same query."""
    from django.db.models import Exists, OuterRef
    from django.db.models.functions import Lower

    return users.annotate(locked_out=Exists(_locking_attempts(Lower(OuterRef("username")))))


def reset_user(username: str) -> int:
    """Clear every counted failure for a user name (all addresses); returns how many pairs."""
    from axes.utils import reset

    return reset(username=username.lower())


def client_address(request) -> str | None:
    """The source address, as axes reads it."""
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request)
