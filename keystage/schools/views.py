"""The schools register: list, detail, edit, PVI settings, GIAS import and academic year."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from keystage.accounts import access
from keystage.accounts.permissions import has_permission
from keystage.core.inputs import choice_param, text_param
from keystage.core.pagination import paginate
from keystage.jobs.actions import do_queue_job
from keystage.schools.actions import (
    EDITABLE_FIELDS,
    do_add_pvi_setting,
    do_set_current_year,
    do_update_establishment,
)
from keystage.schools.forms import (
    CurrentYearForm,
    EstablishmentEditForm,
    GiasUploadForm,
    PviSettingForm,
)

SORTS = {
    "name": "name", "-name": "-name", "laestab": "laestab", "-laestab": "-laestab",
    "phase": "phase", "-phase": "-phase", "status": "status", "-status": "-status",
    "urn": "urn", "-urn": "-urn",
}


@login_required
def school_list(request):
    """The register of the user's LA (or their own school), filtered, sorted and paged."""
    schools = access.access_schools(request.user)
    query = text_param(request, "q")
    if query:
        schools = schools.filter(
            Q(name__icontains=query) | Q(urn=query) | Q(laestab=query) | Q(postcode__iexact=query)
        )
    phase = text_param(request, "phase", max_length=60)
    if phase:
        schools = schools.filter(phase=phase)
    status = choice_param(request, "status", ("open", "closed", "all"), default="open")
    if status == "open":
        schools = schools.filter(status__startswith="Open")
    elif status == "closed":
        schools = schools.filter(status="Closed")
    if request.GET.get("pvi") == "1":
        schools = schools.filter(is_pvi=True)
    sort = choice_param(request, "sort", SORTS, default="name", lenient=True)
    schools = schools.order_by(SORTS[sort], "urn")
    phases = (
        access.access_schools(request.user).exclude(phase="").order_by("phase")
        .values_list("phase", flat=True).distinct()
    )
    return render(request, "schools/school_list.html", {
        "grid": paginate(request, schools), "query": query, "phase": phase, "status": status,
        "phases": list(phases), "sort": sort,
        "can_manage": has_permission(request.user, "manage-schools"),
    })


@login_required
def school_detail(request, urn: str):
    """One school's register entry."""
    school = access.access_school_by_urn(request.user, urn)
    return render(request, "schools/school_detail.html", {
        "school": school, "can_manage": has_permission(request.user, "manage-schools"),
    })


@login_required
@require_http_methods(["GET", "POST"])
def school_edit(request, urn: str):
    """Edit a school's register entry by hand, with a reason."""
    school = access.access_school_by_urn(request.user, urn, action="manage-schools")
    # The form gets a copy: validating sets the typed values on its instance, and the page must
    # go on naming the school as the register holds it when the input is refused.
    form = EstablishmentEditForm(request.POST or None, instance=copy.copy(school))
    if request.method == "POST" and form.is_valid():
        # The form must not save the instance itself: the action does, with its audit row.
        changes = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS}
        school.refresh_from_db()
        diff = do_update_establishment(
            school, changes, acting_user=request.user, reason=form.cleaned_data["reason"]
        )
        messages.success(
            request, f"{school.name} updated." if diff else "Nothing was changed."
        )
        return redirect("schools:detail", urn=school.urn)
    return render(request, "schools/school_edit.html", {"form": form, "school": school})


@login_required
@require_http_methods(["GET", "POST"])
def pvi_add(request):
    """Add a private, voluntary or independent early years setting that GIAS lacks."""
    la = access.access_user_la(request.user, "manage-schools")
    form = PviSettingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            school = do_add_pvi_setting(
                la, urn=data["urn"], name=data["name"], postcode=data["postcode"],
                acting_user=request.user, reason=data["reason"],
            )
        except ValueError as error:
            form.add_error("urn", str(error))
        else:
            messages.success(request, f"{school.name} has been added to the register.")
            return redirect("schools:detail", urn=school.urn)
    return render(request, "schools/pvi_add.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def gias_import(request):
    """Upload a GIAS extract; the worker loads it and reports what changed."""
    la = access.access_user_la(request.user, "manage-schools")
    form = GiasUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["extract"]
        folder = Path(settings.MEDIA_ROOT) / "jobs"
        folder.mkdir(parents=True, exist_ok=True)
        stored = f"jobs/{uuid.uuid4().hex}.csv"
        with open(Path(settings.MEDIA_ROOT) / stored, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        job = do_queue_job(
            "import-gias", f"Import {upload.name}", la=la, acting_user=request.user,
            params={"path": stored, "filename": upload.name, "la_code": la.code},
        )
        return redirect("jobs:detail", job_id=job.pk)
    imports = access.access_register_imports(request.user)
    return render(request, "schools/gias_import.html", {
        "form": form, "grid": paginate(request, imports),
    })


@login_required
def import_detail(request, import_id: int):
    """What one GIAS extract added, changed, closed and moved in or out of the LA's register."""
    log = access.access_register_import_by_id(request.user, import_id)
    report = log.report
    names = dict(
        access.access_schools(request.user, "manage-schools")
        .filter(urn__in=[*report.get("added", []), *report.get("changed", {})])
        .values_list("urn", "name")
    )
    changed = [
        {"urn": urn, "name": names.get(urn, ""), "closed": urn in report.get("closed", []),
         "fields": [(f, old, new) for f, (old, new) in fields.items()]}
        for urn, fields in report.get("changed", {}).items()
    ]
    added = [{"urn": urn, "name": names.get(urn, "")} for urn in report.get("added", [])]
    moved_in = [{"urn": urn, "name": names.get(urn, ""), "from": codes[0]}
                for urn, codes in report.get("moved", {}).items()]
    # Schools moved out are no longer the LA's: the report keeps the name the LA knew them by.
    moved_out = [{"urn": urn, "name": out["name"], "to": out["to"]}
                 for urn, out in report.get("moved_out", {}).items()]
    return render(request, "schools/import_detail.html", {
        "log": log, "changed": changed, "added": added, "moved_in": moved_in,
        "moved_out": moved_out,
        "unknown_columns": report.get("unknown_columns", []),
    })


@login_required
@require_http_methods(["GET", "POST"])
def academic_year(request):
    """Set the LA's current academic year."""
    la = access.access_user_la(request.user, "manage-schools")
    initial = la.current_year.start_year if la.current_year else None
    form = CurrentYearForm(request.POST or None, initial={"start_year": initial})
    if request.method == "POST" and form.is_valid():
        year = do_set_current_year(la, form.cleaned_data["start_year"], acting_user=request.user)
        messages.success(request, f"The current academic year is now {year.label}.")
        return redirect("schools:list")
    return render(request, "schools/academic_year.html", {"form": form, "la": la})
