"""Returns: the gate and the history of return files; moderation exports per school."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from keystage.accounts import access
from keystage.accounts.models import Role
from keystage.accounts.permissions import has_permission
from keystage.collection.choices import collection_and_year, la_of
from keystage.collection.models import Collection
from keystage.collection.queries import iter_results, result_columns
from keystage.core.downloads import csv_response, stored_file_response, xlsx_sheets_response
from keystage.core.inputs import choice_param, int_param
from keystage.core.ordering import mark_key
from keystage.core.pagination import paginate
from keystage.datasets import RETURNS, choices
from keystage.jobs.actions import do_queue_job
from keystage.jobs.models import Job, JobStatus
from keystage.returns.actions import MISSING_SCHOOL_RULE
from keystage.returns.layout import RETURN_COLLECTIONS
from keystage.returns.moderation import SUMMARY_COLUMNS, school_summary
from keystage.years import MAX_YEAR, MIN_YEAR

RETURN_CHOICES = choices(RETURNS)


def _return_choice(request, la) -> tuple[str, int]:
    collection, year = collection_and_year(request, la)
    return (collection if collection in RETURN_COLLECTIONS else RETURN_COLLECTIONS[0]), year


@login_required
def return_list(request):
    """The gate for a collection's return, from the latest run of the rules, and its history."""
    returns = access.access_returns(request.user)
    la = request.user.la
    collection, year = _return_choice(request, la)
    issues = access.access_issues(request.user).filter(collection=collection, year=year)
    errors = issues.filter(severity="error")
    queries = issues.filter(severity="query")
    history = returns.filter(collection=collection, year=year).order_by("-serial")
    latest = history.first()
    return render(
        request,
        "returns/list.html",
        {
            "collection": collection,
            "year": year,
            "collections": RETURN_CHOICES,
            "has_data": access.access_submissions(request.user).filter(
                collection=collection, year=year, status="current"
            ).exists(),
            "error_count": errors.count(),
            "errors": errors.select_related("pupil").order_by("laestab", "upn", "rule_code")[:50],
            "query_count": queries.count(),
            "queries": queries.values("rule_code", "message").distinct().order_by("rule_code"),
            "missing": queries.filter(rule_code=MISSING_SCHOOL_RULE).values_list(
                "laestab", flat=True
            ),
            "grid": paginate(request, history),
            "can_make": has_permission(request.user, "make-returns"),
            "last_attempt": _refused_attempt(request.user, la, collection, year, latest),
            "query": f"collection={collection}&year={year}",
        },
    )


def _refused_attempt(user, la, collection: str, year: int, latest) -> Job | None:
    """The latest attempt at this return, when it made no file (refused or failed)."""
    if la is None:
        return None
    attempts = access.access_jobs(user).filter(
        kind="make-return", la=la, params__collection=collection, params__year=year
    )
    if latest is not None:
        attempts = attempts.filter(created_at__gt=latest.created_at)
    attempt = attempts.select_related("created_by").order_by("-created_at", "-id").first()
    if attempt is None:
        return None
    if attempt.status == JobStatus.FAILED:
        return attempt
    if attempt.status == JobStatus.SUCCEEDED and attempt.result.get("refused"):
        return attempt
    return None


@login_required
@require_POST
def make_return(request):
    """Queue the return: the worker checks again, writes, validates and keeps the file."""
    la = access.access_user_la(request.user, "make-returns")
    collection = request.POST.get("collection", "")
    if collection not in RETURN_COLLECTIONS:
        raise Http404("No such return.")
    year = int_param(request, "year", min_value=MIN_YEAR, max_value=MAX_YEAR,
                     source=request.POST)
    if year is None:
        raise Http404("No such year.")
    accepted = request.POST.get("accept_queries") == "yes"
    job = do_queue_job(
        "make-return",
        f"Make the {collection.upper()} {year} return",
        la=la,
        acting_user=request.user,
        params={
            "la_code": la.code,
            "collection": collection,
            "year": year,
            "accept_queries": accepted,
        },
    )
    return redirect("jobs:detail", job_id=job.pk)


@login_required
def return_detail(request, return_id: int):
    """One return file: who made it and when, what it holds, and what changed since the last."""
    made = access.access_return_by_id(request.user, return_id)
    counts = [
        {"component": component, "results": sorted(results.items(), key=lambda r: mark_key(r[0]))}
        for component, results in sorted(made.counts.items())
    ]
    return render(request, "returns/detail.html", {"made": made, "counts": counts})


@login_required
def download_return(request, return_id: int):
    """The return file exactly as it was made."""
    made = access.access_return_by_id(request.user, return_id)
    return stored_file_response(made.stored_path, made.filename, "application/xml")


@login_required
def moderation_list(request):
    """Every school with data this year, with its moderation downloads."""
    schools = access.access_schools(request.user, "view-reports")
    if request.user.role == Role.SCHOOL_USER:
        return redirect("returns:moderation-school", urn=request.user.school.urn)
    la = la_of(request.user)
    _, year = collection_and_year(request, la)
    with_data = access.access_submissions(request.user).filter(
        year=year, status="current").values("school")
    rows = schools.filter(pk__in=with_data).order_by("name")
    return render(
        request,
        "returns/moderation_list.html",
        {
            "grid": paginate(request, rows),
            "year": year,
        },
    )


@login_required
def moderation_export(request, urn: str):
    """One school's pupil results and headline summary, for moderators and to share with it."""
    school = access.access_school_by_urn(request.user, urn, "view-reports")
    _, year = collection_and_year(request, school.la)
    loaded = [
        c
        for c in Collection.values
        if access.access_submissions(request.user).filter(
            school=school, collection=c, year=year, status="current"
        ).exists()
    ]
    summary = school_summary(school, year, loaded)
    name = f"{school.identifier}_{year}_moderation"
    wanted = choice_param(request, "format", ("csv", "xlsx"))
    table = request.GET.get("table", "summary")
    if wanted == "xlsx":
        sheets = [("Summary", SUMMARY_COLUMNS, summary)] + [
            (
                collection.upper(),
                result_columns(collection, year),
                iter_results(school.la, collection, year, schools=[school]),
            )
            for collection in loaded
        ]
        return xlsx_sheets_response(name, sheets)
    if wanted == "csv":
        if table in loaded:
            return csv_response(
                f"{name}_{table}",
                result_columns(table, year),
                iter_results(school.la, table, year, schools=[school]),
            )
        return csv_response(f"{name}_summary", SUMMARY_COLUMNS, summary)
    return render(
        request,
        "returns/moderation_school.html",
        {
            "school": school,
            "year": year,
            "summary": summary,
            "loaded": loaded,
            "is_school_user": request.user.role == Role.SCHOOL_USER,
        },
    )
