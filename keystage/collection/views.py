"""Upload, batches, completeness, submissions and exports of the statutory collections."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from keystage.accounts import access
from keystage.accounts.permissions import has_permission
from keystage.collection.actions import (
    AlreadyConfirmed,
    do_confirm_replacements,
    do_dismiss_notice,
)
from keystage.collection.choices import collection_and_year, default_year, la_of
from keystage.collection.forms import UploadForm
from keystage.collection.models import Collection
from keystage.collection.queries import (
    completeness,
    completeness_totals,
    iter_results,
    result_columns,
)
from keystage.core.downloads import csv_response, stored_file_response, xlsx_response
from keystage.core.pagination import paginate
from keystage.jobs.actions import do_queue_job


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    """Upload files, folders (as ZIPs) or ZIPs; the worker imports them with a progress bar."""
    access.require_permission(request.user, "import-files")
    la = la_of(request.user)
    current = default_year(la)
    form = UploadForm(request.POST or None, request.FILES or None,
                      years=[current - 1, current, current + 1], initial={"year": current})
    if request.method == "POST" and form.is_valid():
        folder_name = f"jobs/{uuid.uuid4().hex}"
        folder = Path(settings.MEDIA_ROOT) / folder_name
        folder.mkdir(parents=True)
        for index, upload_file in enumerate(form.cleaned_data["files"]):
            safe = Path(upload_file.name).name.replace("__", "_") or "upload"
            with open(folder / f"{index:05d}__{safe}", "wb") as out:
                for chunk in upload_file.chunks():
                    out.write(chunk)
        # The job retitles itself with its files counted once it has opened any ZIPs.
        job = do_queue_job(
            "import-files", "Import uploaded files", la=la,
            acting_user=request.user,
            params={"folder": folder_name, "la_code": la.code, "year": form.cleaned_data["year"]},
        )
        return redirect("jobs:detail", job_id=job.pk)
    return render(request, "collection/upload.html", {"form": form})


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
    })


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
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{la.code}_{collection}_{year}_completeness.csv"'
        )
        writer = csv.writer(response)
        writer.writerow(["laestab", "school", "expected", "received", "last_submission",
                         "missing"])
        for row in rows:
            writer.writerow([
                row["school"].identifier, row["school"].name,
                "" if row["expected"] is None else row["expected"], row["received"],
                row["last_submission"].isoformat() if row["last_submission"] else "",
                "yes" if row["missing"] else "no",
            ])
        return response
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
    if request.GET.get("format") == "xlsx":
        return xlsx_response(name, collection.upper(), header, rows)
    return csv_response(name, header, rows)


@login_required
@require_POST
def dismiss_notice(request, notice_id: int):
    """An LA officer has read a notice on the home page."""
    notice = access.access_la_notice_by_id(request.user, notice_id)
    do_dismiss_notice(notice, acting_user=request.user)
    return redirect("core:home")

