"""Upload, batches, completeness, submissions and exports of the statutory collections."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from keystage import datasets
from keystage.accounts import access
from keystage.accounts.permissions import has_permission
from keystage.collection.actions import (
    AlreadyConfirmed,
    do_confirm_replacements,
    do_dismiss_notice,
)
from keystage.collection.choices import collection_and_year, default_year, la_of
from keystage.collection.forms import UploadForm
from keystage.collection.indicators import indicators
from keystage.collection.models import Collection
from keystage.collection.queries import (
    completeness,
    completeness_totals,
    iter_results,
    lock_uploads_of,
    result_columns,
    uploads_in_flight,
)
from keystage.core.downloads import csv_response, stored_file_response, xlsx_response
from keystage.core.inputs import choice_param
from keystage.core.pagination import paginate
from keystage.jobs.actions import do_queue_job
from keystage.measures.indicators import INDICATOR_COLUMNS
from keystage.years import academic_year_label, census_term_label


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    """Upload files, folders (as ZIPs) or ZIPs; the worker imports them with a progress bar."""
    access.require_permission(request.user, "import-files")
    la = la_of(request.user)
    current = default_year(la)
    years = [current - 1, current, current + 1]
    la_user = request.user.school_id is None
    too_large = _upload_too_large(request)
    if too_large:
        # Refused before the body is parsed: Django never spools the files to disk.
        form = UploadForm(years=years, initial={"year": current}, la_user=la_user)
        form.cleaned_data = {}  # an unbound form has none; add_error needs it
        form.add_error("files", too_large)
        return render(request, "collection/upload.html", {"form": form})
    form = UploadForm(request.POST or None, request.FILES or None,
                      years=years, initial={"year": current}, la_user=la_user)
    if request.method == "POST" and form.is_valid():
        size = sum(f.size for f in form.cleaned_data["files"])
        if size > settings.KEYSTAGE_UPLOAD_MAX_BYTES:
            # A body without a Content-Length (chunked) is only measured once parsed.
            form.add_error("files", _too_large_text(size))
            return render(request, "collection/upload.html", {"form": form})
        folder_name = f"jobs/{uuid.uuid4().hex}"
        folder = Path(settings.MEDIA_ROOT) / folder_name
        folder.mkdir(parents=True)
        for index, upload_file in enumerate(form.cleaned_data["files"]):
            safe = Path(upload_file.name).name.replace("__", "_") or "upload"
            with open(folder / f"{index:05d}__{safe}", "wb") as out:
                for chunk in upload_file.chunks():
                    out.write(chunk)
        with transaction.atomic():
            # One LA's uploads are checked and queued one at a time, so two at once cannot
            # both pass the limit; the files were saved first, outside the lock.
            lock_uploads_of(la)
            busy = uploads_in_flight(la)
            limit = settings.KEYSTAGE_UPLOAD_LA_IN_FLIGHT_BYTES
            job = None
            if busy + size <= limit:
                job = do_queue_job(
                    "import-files", "Import uploaded files", la=la,
                    acting_user=request.user,
                    params={"folder": folder_name, "la_code": la.code,
                            "year": form.cleaned_data["year"],
                            "extra_fields": form.cleaned_data.get("extra_fields"),
                            "provisional": form.cleaned_data.get("provisional", False)},
                )
        if job is None:
            shutil.rmtree(folder, ignore_errors=True)
            form.add_error("files", (
                f"{la.name} already has {size_text(busy)} of uploads being imported or waiting "
                f"for confirmation; with these {size_text(size)} it would pass the "
                f"{size_text(limit)} allowed at once. Wait for the imports in progress to "
                "finish, and confirm (or leave to expire) the replacements waiting on their "
                "batch pages, then upload again."))
            return render(request, "collection/upload.html", {"form": form})
        return redirect("jobs:detail", job_id=job.pk)
    return render(request, "collection/upload.html", {"form": form})


def size_text(size: int) -> str:
    """A size in bytes as people read it (1.2 GB, 40 MB, 900 KB)."""
    if size >= 1024**3:
        return f"{size / 1024**3:.1f} GB"
    if size >= 1024**2:
        return f"{size / 1024**2:.0f} MB"
    return f"{max(size, 1) / 1024:.0f} KB"


def _upload_too_large(request) -> str:
    """Why a POST is refused for its size (from Content-Length, before reading it), or ''."""
    if request.method != "POST":
        return ""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return _too_large_text(length) if length > settings.KEYSTAGE_UPLOAD_MAX_BYTES else ""


def _too_large_text(size: int) -> str:
    return (f"The files you chose come to {size_text(size)}, more than the "
            f"{size_text(settings.KEYSTAGE_UPLOAD_MAX_BYTES)} one upload may hold. Upload them "
            "in several smaller batches (for example one ZIP per group of schools).")


@login_required
def batch(request, job_id: int):
    """What happened to each file of an upload, with replacements waiting for confirmation."""
    job = access.access_job_by_id(request.user, job_id)
    if job.kind != "import-files":
        raise Http404("Not an import.")
    confirmed_by = job.result.get("confirmed_by")
    return render(request, "collection/batch.html", {
        "job": job, "files": job.result.get("files", []),
        "waiting": [] if confirmed_by else job.result.get("waiting", []),
        "confirmed_by": confirmed_by,
        "waiting_count": job.result.get("counts", {}).get(
            "waiting", len(job.result.get("waiting", []))),
        "expired_files": job.result.get("expired_files", []),
        "expired_after_days": job.result.get("expired_after_days"),
        "expired_on": _date_of(job.result.get("expired_at")),
    })


def _date_of(text: str | None):
    from datetime import datetime

    return datetime.fromisoformat(text) if text else None


@login_required
@require_POST
def confirm_batch(request, job_id: int):
    """Confirm the replacements an upload is waiting for: import those files again, confirmed."""
    job = access.access_job_by_id(request.user, job_id)
    access.require_permission(request.user, "import-files")
    waiting = job.result.get("waiting", [])
    if job.kind != "import-files" or not waiting:
        raise Http404("Nothing waits for confirmation.")
    try:
        confirmed = do_confirm_replacements(job, acting_user=request.user)
    except AlreadyConfirmed:
        messages.info(request, "These replacements were confirmed already; they were not "
                      "applied again.")
        return redirect("collection:batch", job_id=job.pk)
    return redirect("jobs:detail", job_id=confirmed.pk)


@login_required
def completeness_page(request):
    """Expected against received for every school of a collection, with LA totals."""
    schools = access.access_schools(request.user, "view-reports")
    la = la_of(request.user)
    collection, year = collection_and_year(request, la)
    rows = completeness(la, collection, year, schools=schools)
    if choice_param(request, "format", ("csv",)) == "csv":
        return csv_response(
            f"{la.code}_{collection}_{year}_completeness",
            ["laestab", "school", "expected", "received", "last_submission", "missing"],
            ([row["school"].identifier, row["school"].name,
              "" if row["expected"] is None else row["expected"], row["received"],
              row["last_submission"].isoformat() if row["last_submission"] else "",
              "yes" if row["missing"] else "no"] for row in rows),
        )
    return render(request, "collection/completeness.html", {
        "rows": rows, "totals": completeness_totals(rows), "collection": collection,
        "year": year, "collections": Collection.choices,
        "can_upload": has_permission(request.user, "import-files"),
    })


@login_required
def submission_list(request):
    """Files loaded for a collection and year, newest first."""
    submissions = access.access_submissions(request.user)
    la = la_of(request.user)
    collection, year = collection_and_year(request, la)
    rows = submissions.filter(collection=collection, year=year).order_by("-submitted_at", "-id")
    return render(request, "collection/submission_list.html", {
        "grid": paginate(request, rows), "collection": collection, "year": year,
        "collections": Collection.choices,
    })


@login_required
def submission_detail(request, submission_id: int):
    """One submission: who sent it, when, what it changed, and its pupils."""
    submission = access.access_submission_by_id(request.user, submission_id)
    pupils = submission.pupils.order_by("surname", "forename", "upn")
    return render(request, "collection/submission_detail.html", {
        "submission": submission, "grid": paginate(request, pupils),
        "can_download": has_permission(request.user, "download-originals"),
        "term_label": census_term_label(submission.term) if submission.term else "",
    })


@login_required
def download_original(request, file_id: int):
    """The file exactly as the school sent it."""
    received = access.access_received_file_by_id(request.user, file_id)
    return stored_file_response(received.stored_path, received.filename)


@login_required
def export_results(request):
    """One row per pupil of a collection as CSV or XLSX, equal to what the files said."""
    schools = access.access_schools(request.user, "view-reports")
    la = la_of(request.user)
    collection, year = collection_and_year(request, la)
    header = result_columns(collection, year)
    rows = iter_results(la, collection, year, schools=schools)
    name = f"{la.code}_{collection}_{year}_results"
    if choice_param(request, "format", ("xlsx",)) == "xlsx":
        return xlsx_response(name, collection.upper(), header, rows)
    return csv_response(name, header, rows)


@login_required
@require_POST
def dismiss_notice(request, notice_id: int):
    """An LA officer has read a notice on the home page."""
    notice = access.access_la_notice_by_id(request.user, notice_id)
    do_dismiss_notice(notice, acting_user=request.user)
    return redirect("core:home")



@login_required
def indicators_page(request):
    """Import indicators of the user's LA: every dataset over five years, gaps highlighted."""
    la = access.access_user_la(request.user, "view-reports")
    rows = indicators(la=la)
    if request.GET.get("format") == "csv":
        return csv_response(f"indicators_{la.code}.csv", INDICATOR_COLUMNS,
                            ([r[c] for c in INDICATOR_COLUMNS] for r in rows))
    labels = {d.code: d.label for d in datasets.DATASETS.values()}
    years = sorted({r["year"] for r in rows})
    table = {}
    for r in rows:
        table.setdefault(r["dataset"], {})[r["year"]] = r
    return render(request, "collection/indicators.html", {
        "years": years, "year_labels": [academic_year_label(y) for y in years],
        "table": [(labels[code], [cells[y] for y in years]) for code, cells in table.items()],
    })
