"""Cleaning reports: the LA overview, the issue grid, school reports, pupils, edits, rules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from keystage import datasets
from keystage.accounts import access
from keystage.accounts.models import Role
from keystage.accounts.permissions import has_permission
from keystage.cleaning.actions import (
    PUPIL_FIELDS,
    EditRefused,
    current_values,
    do_edit_pupil,
    editable_fields,
)
from keystage.cleaning.queries import (
    GRID_COLUMNS,
    REPORT_COLUMNS,
    SCHOOL_REPORT_COLUMNS,
    by_rule,
    by_school,
    filtered_issues,
    school_report_rows,
)
from keystage.cleaning.ruleset import CLEANED_CODES, CLEANED_DATASETS, rule_set_for
from keystage.collection.choices import la_of, year_param
from keystage.core.downloads import csv_response, xlsx_response
from keystage.core.inputs import choice_param
from keystage.core.pagination import paginate
from keystage.core.plural import counted
from keystage.jobs.actions import do_queue_job

CLEANED_CHOICES = datasets.choices(CLEANED_DATASETS)


def _dataset_and_year(request, la, *, source=None) -> tuple[str, int]:
    """The collection or context dataset and the year a cleaning page asks for (a statutory
    collection by default); an unknown one is a 404."""
    collection = choice_param(request, "collection", CLEANED_CODES,
                              default=datasets.COLLECTION_CODES[0], source=source)
    return collection, year_param(request, la, source=source)


def _rule_set(year: int):
    try:
        return rule_set_for(year)
    except LookupError:
        return None


@login_required
def overview(request):
    """Errors and queries by rule and by school, and what changed since the previous run."""
    user = request.user
    issues = access.access_issues(user)
    la = la_of(user)
    collection, year = _dataset_and_year(request, la)
    if user.role == Role.SCHOOL_USER:
        query = f"?collection={collection}&year={year}"
        return redirect(reverse("cleaning:school", args=[user.school.urn]) + query)
    runs = access.access_cleaning_runs(user).filter(collection=collection, year=year)
    latest = runs.first()
    issues = issues.filter(collection=collection, year=year)
    rule_set = _rule_set(year)
    return render(request, "cleaning/overview.html", {
        "collection": collection, "year": year, "collections": CLEANED_CHOICES,
        "run": latest, "rules": by_rule(issues, rule_set),
        "grid": paginate(request, by_school(issues)),
        "can_clean": has_permission(user, "clean-data"),
        "query": f"collection={collection}&year={year}",
    })


@login_required
@require_POST
def run_rules(request):
    """Queue a run of the rules over a collection; the worker shows its progress."""
    la = access.access_user_la(request.user, "clean-data")
    collection, year = _dataset_and_year(request, la, source=request.POST)
    job = do_queue_job(
        "run-cleaning", f"Check {collection.upper()} {year}", la=la, acting_user=request.user,
        params={"la_code": la.code, "collection": collection, "year": year},
    )
    return redirect("jobs:detail", job_id=job.pk)


@login_required
def issue_list(request):
    """Every issue of a collection, sortable and filterable, paged; CSV in the report layout."""
    user = request.user
    la = la_of(user)
    collection, year = _dataset_and_year(request, la)
    issues = access.access_issues(user).filter(collection=collection, year=year)
    rows, applied = filtered_issues(issues, request.GET)
    if choice_param(request, "format", ("csv",)) == "csv":
        return csv_response(f"{la.code}_{collection}_{year}_issues", REPORT_COLUMNS,
                            rows.values_list(*REPORT_COLUMNS).iterator(chunk_size=5000))
    return render(request, "cleaning/issue_list.html", {
        "collection": collection, "year": year, "collections": CLEANED_CHOICES,
        "grid": paginate(request, rows), "applied": applied, "sort_columns": GRID_COLUMNS,
        "query": f"collection={collection}&year={year}",
    })


@login_required
def school_report(request, urn: str):
    """One school's report, to send back to it; school users see their own school's."""
    school = access.access_school_by_urn(request.user, urn, "view-reports")
    collection, year = _dataset_and_year(request, school.la)
    issues = access.access_issues(request.user).filter(
        school=school, collection=collection, year=year
    )
    name = f"{school.identifier}_{collection}_{year}_cleaning_report"
    wanted = choice_param(request, "format", ("csv", "xlsx"))
    if wanted == "csv":
        return csv_response(name, SCHOOL_REPORT_COLUMNS, school_report_rows(issues))
    if wanted == "xlsx":
        return xlsx_response(name, f"{collection.upper()} {year}", SCHOOL_REPORT_COLUMNS,
                             school_report_rows(issues))
    rows, applied = filtered_issues(issues, request.GET)
    return render(request, "cleaning/school_report.html", {
        "school": school, "collection": collection, "year": year,
        "collections": CLEANED_CHOICES, "grid": paginate(request, rows),
        "applied": applied, "sort_columns": GRID_COLUMNS,
        "errors": issues.filter(severity="error").count(),
        "queries": issues.filter(severity="query").count(),
        "query": f"collection={collection}&year={year}",
        "is_school_user": request.user.role == Role.SCHOOL_USER,
    })


@login_required
def pupil_detail(request, pupil_id: int):
    """One pupil record by id: sent on to the pupil's stable address when it has a UPN.

    An id that a replacement file removed still leads there, so old links keep working.
    """
    try:
        pupil = access.access_pupil_by_id(request.user, pupil_id)
    except Http404:
        # A record a replacement removed: its kept key (always with a UPN) leads on.
        pupil = access.access_retired_pupil_by_id(request.user, pupil_id)
    if pupil.upn:
        return redirect("cleaning:pupil-at", collection=pupil.collection, year=pupil.year,
                        urn=pupil.school.urn, upn=pupil.upn)
    return _pupil_page(request, pupil)


@login_required
def pupil_at(request, collection: str, year: int, urn: str, upn: str):
    """One pupil at an address that survives resubmissions (the school's file replaced)."""
    return _pupil_page(request, access.access_pupil_by_key(request.user, collection, year,
                                                          urn, upn))


def _pupil_page(request, pupil):
    """One pupil: details, results, the issues found and the LA's edits."""
    results = access.access_assessment_results(request.user, pupil).order_by(
        "component", "-is_latest", "id")
    return render(request, "cleaning/pupil.html", {
        "pupil": pupil, "results": results,
        "issues": pupil.issues.order_by("severity", "rule_code", "field"),
        "edits": access.access_la_edits(request.user).filter(pupil=pupil),
        # The LA edits the statutory collections' pupils; context rows are corrected at source.
        "can_edit": (has_permission(request.user, "clean-data")
                     and pupil.collection in datasets.COLLECTION_CODES),
    })


@login_required
@require_http_methods(["GET", "POST"])
def pupil_edit(request, pupil_id: int):
    """Edit a pupil's details or results with a reason; the rules must still pass.

    An id a replacement file removed leads (GET) to the pupil's current page; a POST to it
    answers 404 and edits nothing, as the record it was made against is gone.
    """
    try:
        pupil = access.access_pupil_by_id(request.user, pupil_id, "clean-data")
    except Http404:
        if request.method != "GET":
            raise
        retired = access.access_retired_pupil_by_id(request.user, pupil_id, "clean-data")
        return redirect("cleaning:pupil-at", collection=retired.collection, year=retired.year,
                        urn=retired.school.urn, upn=retired.upn)
    fields = editable_fields(pupil)
    values = current_values(pupil)
    errors: dict[str, str] = {}
    form = {name: values.get(name, "") for name in fields}
    reason, confirmed = "", False
    if request.method == "POST":
        form = {name: request.POST.get(f"f_{name}", values.get(name, "")) for name in fields}
        reason = request.POST.get("reason", "")
        confirmed = request.POST.get("school_confirmed") == "yes"
        try:
            outcome = do_edit_pupil(pupil, form, reason=reason, school_confirmed=confirmed,
                                    acting_user=request.user)
        except EditRefused as refusal:
            errors[refusal.field or "reason"] = str(refusal)
        else:
            changed = ", ".join(e.field for e in outcome.edits)
            messages.success(request, f"Saved: {changed}. The rules ran again: "
                                      f"{counted(outcome.run.errors, 'error')} and "
                                      f"{counted(outcome.run.queries, 'query', 'queries')} "
                                      f"in {pupil.collection.upper()} {pupil.year}.")
            return redirect("cleaning:pupil", pupil_id=pupil.pk)
    field_rows = [
        {"name": name, "id": f"f_{name}", "value": form.get(name, ""),
         "label": name if name not in PUPIL_FIELDS else {
             "UPN": "UPN", "Surname": "Surname", "Forename": "Forename",
             "DOB": "Date of birth (YYYY-MM-DD)", "Sex": "Sex (M or F)",
             "NCyearActual": "NC year"}[name],
         "error": errors.get(name, "")}
        for name in fields
    ]
    summary = [{"text": text, "href": f"#f_{name}" if name != "reason" else "#reason"}
               for name, text in errors.items()]
    return render(request, "cleaning/pupil_edit.html", {
        "pupil": pupil, "fields": field_rows, "reason": reason, "confirmed": confirmed,
        "reason_error": errors.get("reason", ""), "error_summary": summary,
    }, status=400 if errors else 200)


@login_required
def rule_catalogue(request):
    """The rules in force in a year, generated from the rule data."""
    year = year_param(request, la_of(request.user))
    rule_set = _rule_set(year)
    rules = rule_set.rules if rule_set is not None else ()
    collection = choice_param(request, "collection", CLEANED_CODES, default="")
    if collection:
        rules = tuple(r for r in rules if collection in r.collections)
    order = {value: i for i, value in enumerate(CLEANED_CODES)}
    rows = [
        {"code": r.code, "severity": r.severity, "title": r.title, "message": r.message,
         "rationale": r.rationale, "fields": " ".join(r.fields),
         "collections": ", ".join(sorted(r.collections, key=lambda c: order.get(c, 99)))}
        for r in rules
    ]
    return render(request, "cleaning/rules.html", {
        "rule_set": rule_set, "rules": rows, "year": year, "collection": collection,
        "collections": CLEANED_CHOICES,
    })
