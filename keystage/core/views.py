"""Home pages per role, the national aggregates page, and error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render

from keystage.accounts import access
from keystage.accounts.models import Role
from keystage.accounts.permissions import has_permission


@login_required
def home(request):
    """What the user can do, by role, with a summary of their register."""
    user = request.user
    context: dict = {"is_national": user.role == Role.NATIONAL_ANALYST}
    if has_permission(user, "view-schools"):
        schools = access.access_schools(user)
        context["counts"] = schools.aggregate(
            open=Count("pk", filter=Q(status__startswith="Open")),
            closed=Count("pk", filter=Q(status="Closed")),
            pvi=Count("pk", filter=Q(is_pvi=True, status__startswith="Open")),
        )
        if user.role == Role.SCHOOL_USER:
            context["school"] = user.school
    context["can"] = {
        action: has_permission(user, action)
        for action in ("manage-schools", "manage-users", "view-audit-log", "import-files",
                       "view-reports", "view-national-aggregates")
    }
    if user.la_id:
        context["la"] = user.la
    context["notices"] = access.access_la_notices(user).filter(dismissed_at=None)[:20]
    return render(request, "core/home.html", context)


@login_required
def national(request):
    """Aggregates across every LA: counts only, never another LA's rows."""
    access.require_permission(request.user, "view-national-aggregates")
    open_schools = access.access_national_register(request.user)
    by_phase = (
        open_schools
        .values("phase").annotate(n=Count("pk")).order_by("-n")
    )
    return render(request, "core/national.html", {
        "la_count": access.access_local_authority_count(request.user),
        "school_count": open_schools.count(),
        "by_phase": by_phase,
    })
