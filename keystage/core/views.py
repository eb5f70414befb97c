"""Home pages per role, the national aggregates page, and error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render

from keystage import datasets
from keystage.accounts import access
from keystage.accounts.models import Role
from keystage.accounts.permissions import has_permission
from keystage.years import academic_year_label


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
    if user.la_id and user.role != Role.SCHOOL_USER and has_permission(user, "view-reports"):
        from keystage.collection.indicators import indicator_years, indicators

        la = access.access_user_la(user, "view-reports")
        year = indicator_years(None, la)[-1]
        labels = {d.code: d.label for d in datasets.DATASETS.values()}
        context["indicators"] = [{**r, "label": labels[r["dataset"]]}
                                 for r in indicators(la=la, year=year)]
        context["indicator_year"] = academic_year_label(year)
    context["notices"] = access.access_la_notices(user).filter(dismissed_at=None)[:20]
    context["transfers"] = _transfer_summary(user)
    return render(request, "core/home.html", context)


def _transfer_summary(user) -> dict | None:
    """What waits on the transfer and lost-pupils pages: files to download or route, notices,
    lost pupils and near matches, for the roles that act on them."""
    from keystage.transfer.models import LostStatus, MatchStatus, TransferStatus

    summary = {}
    if has_permission(user, "transfer-files"):
        files = access.access_transfers(user)
        if user.role == Role.SCHOOL_USER:
            summary["waiting"] = files.filter(to_school_id=user.school_id,
                                              status=TransferStatus.SENT).count()
        else:
            summary["held"] = files.filter(to_la_id=user.la_id,
                                           status=TransferStatus.HELD).count()
        summary["notices"] = access.access_transfer_notices(user).count()
    if has_permission(user, "manage-lost-pupils"):
        summary["lost"] = access.access_lost_pupils(user).filter(status=LostStatus.LOST).count()
        summary["matches"] = access.access_lost_matches(user).filter(
            status=MatchStatus.OPEN).count()
        summary["lost_notices"] = access.access_transfer_notices(
            user, "manage-lost-pupils").filter(lost__isnull=False).count()
    return summary or None


@login_required
def national(request):
    """Aggregates across every LA: counts only, never another LA's rows."""
    access.require_permission(request.user, "view-national-aggregates")
    open_schools = access.access_national_register(request.user)
    by_phase = (
        open_schools
        .values("phase").annotate(n=Count("pk")).order_by("-n")
    )
    from keystage.collection.indicators import national_indicators

    labels = {d.code: d.label for d in datasets.DATASETS.values()}
    return render(request, "core/national.html", {
        "indicators": [{**r, "label": labels[r["dataset"]],
                        "year_label": academic_year_label(r["year"])}
                       for r in national_indicators() if r["national_pupils"]],
        "la_count": access.access_local_authority_count(request.user),
        "school_count": open_schools.count(),
        "by_phase": by_phase,
    })
