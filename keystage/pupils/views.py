"""Pupil pages: search, one pupil's every record, and the near matches officers decide."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from keystage import datasets, years
from keystage.accounts import access
from keystage.accounts.permissions import has_permission
from keystage.core.pagination import paginate
from keystage.pupils.actions import (
    IdentityRefused,
    do_confirm_link,
    do_merge_pupils,
    do_split_record,
)
from keystage.pupils.models import ReviewStatus

_MAX_QUERY = 100


def _dataset_label(code: str) -> str:
    return datasets.DATASETS[code].label if code in datasets.DATASETS else code


@login_required
def search(request):
    """Find a pupil by UPN (current or former) or by name ("surname" or "surname, forename")."""
    pupils = access.access_pupils(request.user)
    query = request.GET.get("q", "").strip()[:_MAX_QUERY]
    found = pupils.none()
    if query:
        upn = query.replace(" ", "").upper()
        by_name = Q()
        surname, _, forename = (part.strip() for part in query.partition(","))
        if surname:
            by_name = Q(surname__istartswith=surname)
            if forename:
                by_name &= Q(forename__istartswith=forename)
        found = pupils.filter(Q(upn=upn) | Q(identifiers__value=upn) | by_name).distinct()
        found = found.order_by("surname", "forename", "id")
    return render(request, "pupils/search.html", {
        "query": query, "grid": paginate(request, found) if query else None,
        "open_reviews": access.access_link_reviews(request.user).filter(
            status=ReviewStatus.OPEN).count()
        if has_permission(request.user, "manage-identity") else None,
    })


@login_required
def detail(request, pupil_id: int):
    """One pupil for life: identifiers and every record of every dataset and year."""
    pupil, moved = access.access_pupil_identity_by_id(request.user, pupil_id)
    if moved:
        return redirect("pupils:detail", pupil_id=pupil.pk)
    records = (access.access_pupil_records(request.user, pupil)
               .select_related("school", "submission").order_by("-year", "collection", "-id"))
    rows = [{"record": r, "dataset": _dataset_label(r.collection),
             "year": years.academic_year_label(r.year),
             "term": years.census_term_label(r.submission.term) if r.submission.term else ""}
            for r in records]
    from keystage.context.queries import pupil_characteristics
    from keystage.measures.characteristics import EXPORT_COLUMNS

    hidden = {"upn", "former_upns", "surname", "forename", "dob", "sex"}
    if not has_permission(request.user, "view-social-care"):
        # Social care status is shown only to roles given social-care data (LA analysts read
        # it only as aggregate groups in reports).
        hidden |= {"cla", "cin", "cpp"}
    shown = [c for c in EXPORT_COLUMNS if c not in hidden]
    characteristics = []
    for year in sorted({r.year for r in records}, reverse=True):
        frame = pupil_characteristics(pupil.la, year, pupil_id=pupil.pk)
        if frame.height:
            row = frame.row(0, named=True)
            characteristics.append({"year": years.academic_year_label(year),
                                    "values": [row[c] for c in shown]})
    from keystage.analysis.queries import ks4_working, ks5_working

    ks4 = [{"year": years.academic_year_label(year), "working": working}
           for year in sorted({r.year for r in records if r.collection == "ks4"}, reverse=True)
           if (working := ks4_working(pupil, year))]
    ks5 = [{"year": years.academic_year_label(year), "working": working}
           for year in sorted({r.year for r in records if r.collection == "ks5"}, reverse=True)
           if (working := ks5_working(pupil, year))]
    return render(request, "pupils/detail.html", {
        "pupil": pupil, "rows": rows, "columns": shown, "characteristics": characteristics,
        "ks4": ks4, "ks5": ks5,
        "identifiers": pupil.identifiers.order_by("kind", "value"),
        "can_manage": has_permission(request.user, "manage-identity"),
    })


@login_required
def reviews(request):
    """Near matches waiting for an officer: the record beside the pupil it may be."""
    queue = (access.access_link_reviews(request.user).filter(status=ReviewStatus.OPEN)
             .select_related("record", "record__school", "candidate").order_by("-score", "id"))
    return render(request, "pupils/reviews.html", {"grid": paginate(request, queue)})


@login_required
@require_POST
def decide(request, review_id: int):
    """Confirm a near match (the same child) or split it (a different child)."""
    review = access.access_link_review_by_id(request.user, review_id)
    decision = request.POST.get("decision")
    reason = request.POST.get("reason", "")
    try:
        if decision == "confirm":
            do_confirm_link(review, acting_user=request.user, reason=reason)
            messages.success(request, "Confirmed: the record is now this pupil's.")
        elif decision == "split":
            do_split_record(review.record, acting_user=request.user, reason=reason,
                            review=review)
            messages.success(request, "Kept apart: the record stays a pupil of its own.")
        else:
            messages.error(request, "Choose whether the record is the same child or not.")
    except IdentityRefused as refusal:
        messages.error(request, str(refusal))
    return redirect("pupils:reviews")


@login_required
@require_http_methods(["GET", "POST"])
def merge(request, pupil_id: int):
    """Merge another pupil (found by id or UPN) into this one, with a reason."""
    keep, moved = access.access_pupil_identity_by_id(request.user, pupil_id,
                                                     action="manage-identity")
    if moved:
        return redirect("pupils:merge", pupil_id=keep.pk)
    error = ""
    other_text = request.POST.get("other", "").strip()[:_MAX_QUERY]
    if request.method == "POST":
        pupils = access.access_pupils(request.user, action="manage-identity")
        key = other_text.replace(" ", "").upper()
        other = None
        if key.isdigit():
            other = pupils.filter(pk=int(key)).first()
        if other is None and key:
            other = pupils.filter(Q(upn=key) | Q(identifiers__value=key)).distinct().first()
        if other is None:
            error = "No pupil of your LA has that id or UPN."
        else:
            try:
                do_merge_pupils(keep, other, acting_user=request.user,
                                reason=request.POST.get("reason", ""))
            except IdentityRefused as refusal:
                error = str(refusal)
            else:
                messages.success(request, f"Pupil {other.pk} was merged into this pupil.")
                return redirect("pupils:detail", pupil_id=keep.pk)
    return render(request, "pupils/merge.html", {"pupil": keep, "error": error,
                                                 "other": other_text})
