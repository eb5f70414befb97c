"""Social care pages: the returns, their children and links, and the virtual school's cohort."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from keystage import years
from keystage.accounts import access
from keystage.accounts.permissions import has_permission
from keystage.core.downloads import csv_response, xlsx_response
from keystage.core.pagination import paginate
from keystage.pupils.actions import IdentityRefused
from keystage.socialcare.actions import (
    do_leave_care_child,
    do_match_care_child,
    do_record_care_change,
)
from keystage.socialcare.cohort import COLUMNS, looked_after_cohort
from keystage.socialcare.forms import ChangeForm, LeaveForm, MatchForm
from keystage.socialcare.models import ReturnStatus


@login_required
def home(request):
    """The LA's social care returns by year, with how many children are linked to pupils."""
    returns = (access.access_care_returns(request.user).filter(status=ReturnStatus.CURRENT)
               .annotate(linked=Count("care_children",
                                      filter=Q(care_children__pupil__isnull=False)))
               .order_by("-year", "dataset"))
    rows = [{"r": r, "year": years.academic_year_label(r.year),
             "unlinked": r.children - r.linked} for r in returns]
    return render(request, "socialcare/home.html", {
        "rows": rows, "can_match": has_permission(request.user, "manage-care-cohort")})


FINDING_COLUMNS = ("code", "severity", "table", "line", "column", "child_id", "upn", "value",
                   "message")


@login_required
def care_return(request, return_id: int):
    """One return: its files, tables and the schema checks' findings (CSV download)."""
    found = access.access_care_return_by_id(request.user, return_id)
    findings = found.findings.order_by("table", "line", "code", "id")
    if request.GET.get("format") == "csv":
        upns = dict(found.care_children.values_list("child_id", "upn"))
        return csv_response(
            f"{found.la.code}_{found.dataset}_{found.year}_findings", FINDING_COLUMNS,
            ([f.code, f.severity, f.table, f.line, f.column, f.child_id,
              upns.get(f.child_id, ""), f.value, f.message] for f in findings))
    return render(request, "socialcare/return.html", {
        "r": found, "grid": paginate(request, findings),
        "year": years.academic_year_label(found.year),
        "tables": sorted((found.report or {}).get("tables", {}).items())})


@login_required
def children(request):
    """The children of the current returns; `?unlinked=1` lists those with no pupil yet."""
    found = (access.access_care_children(request.user)
             .filter(care_return__status=ReturnStatus.CURRENT)
             .select_related("care_return", "pupil").order_by("-care_return__year",
                                                               "care_return__dataset",
                                                               "line", "id"))
    unlinked = request.GET.get("unlinked") == "1"
    if unlinked:
        found = found.filter(pupil__isnull=True, left_unlinked=False)
    query = request.GET.get("q", "").strip()[:40]
    if query:
        found = found.filter(Q(child_id__iexact=query) | Q(upn__iexact=query))
    return render(request, "socialcare/children.html", {
        "grid": paginate(request, found), "unlinked": unlinked, "query": query})


@login_required
@require_http_methods(["GET", "POST"])
def child(request, child_id: int):
    """One child of a return: identifiers, rows, the link, and (for officers) match or leave."""
    found = access.access_care_child_by_id(request.user, child_id)
    match_form, leave_form = MatchForm(prefix="match"), LeaveForm(prefix="leave")
    if request.method == "POST":
        access.require_permission(request.user, "manage-care-cohort")
        if "match-pupil" in request.POST:
            match_form = MatchForm(request.POST, prefix="match")
            if match_form.is_valid():
                pupils = access.access_pupils(request.user, "manage-care-cohort")
                pupil = pupils.filter(pk=match_form.cleaned_data["pupil"]).first()
                if pupil is None:
                    match_form.add_error("pupil", "No pupil of your LA has that number.")
                else:
                    try:
                        do_match_care_child(found, pupil, acting_user=request.user,
                                            reason=match_form.cleaned_data["reason"])
                    except IdentityRefused as refusal:
                        match_form.add_error("pupil", str(refusal))
                    else:
                        messages.success(request, f"Child {found.child_id} linked to pupil "
                                         f"{pupil.pk}.")
                        return redirect("socialcare:child", child_id=found.pk)
        else:
            leave_form = LeaveForm(request.POST, prefix="leave")
            if leave_form.is_valid():
                do_leave_care_child(found, acting_user=request.user,
                                    reason=leave_form.cleaned_data["reason"])
                messages.success(request, f"Child {found.child_id} left unlinked.")
                return redirect("socialcare:children")
    candidates = []
    if found.pupil_id is None and found.dob is not None:
        candidates = list(access.access_pupils(request.user, "view-social-care")
                          .filter(dob=found.dob, sex=found.sex).order_by("surname", "id")[:20])
    rows = found.rows_of.order_by("table", "line", "id")
    return render(request, "socialcare/child.html", {
        "child": found, "rows": rows, "candidates": candidates, "match_form": match_form,
        "leave_form": leave_form,
        "can_match": has_permission(request.user, "manage-care-cohort"),
        "year": years.academic_year_label(found.care_return.year)})


@login_required
@require_http_methods(["GET", "POST"])
def cohort(request):
    """The virtual school's children: looked after now, their schools and latest results."""
    la = access.access_user_la(request.user, "view-social-care")
    care_return, children = looked_after_cohort(la)
    download = request.GET.get("format")
    if download in ("csv", "xlsx"):
        rows = [c.row() for c in children]
        name = f"{la.code}_looked_after_cohort"
        if download == "csv":
            return csv_response(name, COLUMNS, rows)
        return xlsx_response(name, "Looked after", COLUMNS, rows)
    form = ChangeForm()
    if request.method == "POST":
        access.require_permission(request.user, "manage-care-cohort")
        form = ChangeForm(request.POST)
        if form.is_valid():
            pupil = None
            if form.cleaned_data["pupil"]:
                pupil = access.access_pupils(request.user, "manage-care-cohort").filter(
                    pk=form.cleaned_data["pupil"]).first()
                if pupil is None:
                    form.add_error("pupil", "No pupil of your LA has that number.")
            if not form.errors:
                do_record_care_change(la, child_id=form.cleaned_data["child_id"],
                                      change=form.cleaned_data["change"],
                                      on=form.cleaned_data["on"],
                                      reason=form.cleaned_data["reason"],
                                      acting_user=request.user, pupil=pupil)
                messages.success(request, "The looked-after cohort was changed.")
                return redirect("socialcare:cohort")
    changes = access.access_care_changes(request.user).select_related("made_by")[:50]
    return render(request, "socialcare/cohort.html", {
        "care_return": care_return, "children": children, "form": form, "changes": changes,
        "without_record": sum(1 for c in children if not c.has_education_record),
        "can_change": has_permission(request.user, "manage-care-cohort"),
        "year": years.academic_year_label(care_return.year) if care_return else ""})
