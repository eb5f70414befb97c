"""Transfer pages: send CTFs, the inbox and sent files, routing held files, and the LA's
lost-pupils register."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from keystage.accounts import access
from keystage.accounts.models import Role
from keystage.core.downloads import csv_response
from keystage.core.pagination import paginate
from keystage.transfer.actions import (
    TransferRefused,
    do_decide_lost_match,
    do_dismiss_transfer_notice,
    do_download_transfer_file,
    do_mark_lost_pupil_found,
    do_reject_transfer_file,
    do_route_transfer_file,
    read_transfer_pupils,
    send_transfer_files,
)
from keystage.transfer.agencies import (
    AgencyRefused,
    do_download_agency_extract,
    do_link_agency,
    do_register_agency,
    do_send_agency_extract,
)
from keystage.transfer.forms import (
    AgencyForm,
    DecideForm,
    ExtractForm,
    FoundForm,
    LinkAgencyForm,
    NewThreadForm,
    RejectForm,
    ReplyForm,
    RouteForm,
    SendForm,
)
from keystage.transfer.management.commands.lost import LOST_COLUMNS, lost_rows
from keystage.transfer.messages import (
    MessageRefused,
    do_mark_thread_read,
    do_send_message,
    do_start_thread,
)
from keystage.transfer.models import (
    LOST_DESTINATIONS,
    LostStatus,
    MatchStatus,
    TransferStatus,
)


def _send(request, form) -> list:
    """Save the uploads to a private scratch folder and send each CTF (ZIPs opened safely)."""
    from keystage.collection.inputs import iter_input_files

    if request.user.role == Role.SCHOOL_USER:
        school = access.access_schools(request.user, "transfer-files").first()
    else:
        school = access.access_schools(request.user, "transfer-files").filter(
            laestab=form.cleaned_data["school"], is_pvi=False).first()
    if school is None:
        form.add_error("school", "Choose one of your LA's schools.")
        return []
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="transfer-", dir=settings.MEDIA_ROOT))
    try:
        for index, upload in enumerate(form.cleaned_data["files"]):
            safe = Path(upload.name).name or "upload.xml"
            with open(folder / f"{index:05d}__{safe}", "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
        items = ((name.split("__", 1)[-1], data)
                 for name, data in iter_input_files(sorted(folder.iterdir())))
        return send_transfer_files(items, from_school=school, acting_user=request.user)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@login_required
@require_http_methods(["GET", "POST"])
def home(request):
    """A school's inbox and sent files, or an LA transfer officer's view of its schools'
    traffic and the files held for it to route; both can send CTFs here."""
    files = access.access_transfers(request.user)
    school_user = request.user.role == Role.SCHOOL_USER
    schools = None if school_user else access.access_schools(
        request.user, "transfer-files").filter(is_pvi=False).order_by("name")
    form = SendForm(request.POST or None, request.FILES or None, schools=schools)
    outcomes = []
    if request.method == "POST" and form.is_valid():
        outcomes = _send(request, form)
    notices = access.access_transfer_notices(request.user).select_related("transfer")[:20]
    if school_user:
        inbox = files.filter(to_school_id=request.user.school_id)
        sent = files.filter(from_school_id=request.user.school_id)
        held = files.none()
    else:
        inbox = files.filter(to_la_id=request.user.la_id).exclude(status=TransferStatus.HELD)
        sent = files.filter(from_la_id=request.user.la_id)
        held = files.filter(to_la_id=request.user.la_id, status=TransferStatus.HELD)
    status = request.GET.get("status", "")
    if status in TransferStatus.values:
        inbox, sent = inbox.filter(status=status), sent.filter(status=status)
    return render(request, "transfer/home.html", {
        "form": form, "outcomes": outcomes, "notices": notices,
        "inbox": paginate(request, inbox), "sent": sent[:50], "held": held[:50],
        "school_user": school_user, "statuses": TransferStatus.choices, "status": status})


@login_required
def download(request, transfer_id: int):
    """The file as sent: the receiving school's download marks it downloaded; recorded."""
    found = access.access_transfer_by_id(request.user, transfer_id)
    try:
        data = do_download_transfer_file(found, acting_user=request.user)
    except ValueError as error:
        messages.error(request, str(error))
        return redirect("transfer:file", transfer_id=found.pk)
    response = HttpResponse(data, content_type="application/xml")
    name = Path(found.file_name).name.replace('"', "") or "transfer.xml"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _receiver(user, transfer) -> bool:
    if user.role == Role.SCHOOL_USER:
        return transfer.to_school_id == user.school_id
    return transfer.to_la_id == user.la_id


@login_required
@require_http_methods(["GET", "POST"])
def transfer_file(request, transfer_id: int):
    """One file: its pupils and state; the receiver may reject it, the LA route a held one."""
    found = access.access_transfer_by_id(request.user, transfer_id)
    receiver = _receiver(request.user, found)
    reject_form, route_form = RejectForm(prefix="reject"), RouteForm(prefix="route")
    if request.method == "POST":
        if not receiver:
            raise PermissionDenied("Only the receiving school or its LA can act on this file.")
        try:
            if "route-laestab" in request.POST and request.user.role != Role.SCHOOL_USER:
                route_form = RouteForm(request.POST, prefix="route")
                if route_form.is_valid():
                    school = access.access_schools(request.user, "transfer-files").filter(
                        laestab=route_form.cleaned_data["laestab"], is_pvi=False).first()
                    if school is None:
                        route_form.add_error("laestab", "No school of your LA has that LAESTAB.")
                    else:
                        do_route_transfer_file(found, school=school, acting_user=request.user,
                                               reason=route_form.cleaned_data["reason"])
                        messages.success(request, f"{found.file_name} routed to {school.name}.")
                        return redirect("transfer:home")
            else:
                reject_form = RejectForm(request.POST, prefix="reject")
                if reject_form.is_valid():
                    do_reject_transfer_file(found, reason=reject_form.cleaned_data["reason"],
                                            acting_user=request.user)
                    messages.success(request, f"{found.file_name} rejected; the sender is told.")
                    return redirect("transfer:home")
        except TransferRefused as error:
            messages.error(request, str(error))
    return render(request, "transfer/file.html", {
        "t": found, "pupils": found.rows.all()[:500], "receiver": receiver,
        "records": read_transfer_pupils(found)[:50],
        "reject_form": reject_form, "route_form": route_form,
        "can_reject": receiver and found.status in (TransferStatus.SENT,
                                                    TransferStatus.DOWNLOADED,
                                                    TransferStatus.HELD),
        "can_route": receiver and found.status == TransferStatus.HELD
        and request.user.role != Role.SCHOOL_USER})


@login_required
@require_POST
def dismiss(request, notice_id: int):
    """Take a read notice off the page."""
    notice = access.access_transfer_notice_by_id(request.user, notice_id)
    do_dismiss_transfer_notice(notice, acting_user=request.user)
    return redirect("transfer:lost" if notice.lost_id and request.user.role ==
                    Role.LOST_PUPILS_OFFICER else "transfer:home")


@login_required
def lost_register(request):
    """The LA's lost-pupils register: search, near matches to judge, print and CSV."""
    pupils = access.access_lost_pupils(request.user)
    query = request.GET.get("q", "").strip()[:100]
    if query:
        words = query.split()
        for word in words[:4]:
            pupils = pupils.filter(Q(upn__iexact=word) | Q(former_upn__iexact=word)
                                   | Q(surname__icontains=word) | Q(forename__icontains=word)
                                   | Q(last_laestab=word) | Q(dob__iexact=word)
                                   | Q(left_on__iexact=word))
    destination = request.GET.get("destination", "")
    if destination in LOST_DESTINATIONS:
        pupils = pupils.filter(destination=destination)
    status = request.GET.get("status", LostStatus.LOST)
    if status in LostStatus.values:
        pupils = pupils.filter(status=status)
    pupils = pupils.order_by("-left_on", "surname", "forename", "id")
    if request.GET.get("format") == "csv":
        return csv_response(f"{request.user.la.code}_lost_pupils", LOST_COLUMNS,
                            lost_rows(pupils))
    matches = (access.access_lost_matches(request.user).filter(status=MatchStatus.OPEN)
               .select_related("lost")[:50])
    notices = access.access_transfer_notices(request.user, "manage-lost-pupils").filter(
        lost__isnull=False)[:20]
    return render(request, "transfer/lost.html", {
        "grid": paginate(request, pupils), "query": query, "status": status,
        "matches": matches, "notices": notices, "decide_form": DecideForm(),
        "destination": destination, "destinations": LOST_DESTINATIONS.items()})


@login_required
@require_http_methods(["GET", "POST"])
def lost_pupil(request, lost_id: int):
    """One lost pupil: their details, the file, and (while lost) marking them found."""
    found = access.access_lost_pupil_by_id(request.user, lost_id)
    form = FoundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            do_mark_lost_pupil_found(found, laestab=form.cleaned_data["laestab"], how="by hand",
                                     note=form.cleaned_data["note"], acting_user=request.user)
        except TransferRefused as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{found.forename} {found.surname} marked found.")
            return redirect("transfer:lost-pupil", lost_id=found.pk)
    return render(request, "transfer/lost_pupil.html", {
        "p": found, "form": form, "matches": found.matches.all(),
        "can_find": found.status == LostStatus.LOST})


@login_required
@require_POST
def decide_match(request, match_id: int):
    """Confirm a near match (the pupil is found there) or say it is another child."""
    match = access.access_lost_match_by_id(request.user, match_id)
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose yes or no and give a reason.")
    else:
        try:
            do_decide_lost_match(match, confirm=form.cleaned_data["decision"] == "confirm",
                                 reason=form.cleaned_data["reason"], acting_user=request.user)
            messages.success(request, "Decision recorded.")
        except TransferRefused as error:
            messages.error(request, str(error))
    return redirect("transfer:lost")



@login_required
def threads(request):
    """The conversations of the user's school or LA, newest first, with what is unread."""
    from django.db.models import Count

    found = access.access_threads(request.user).annotate(
        unread=Count("messages", filter=~Q(messages__author=request.user)
                     & ~Q(messages__reads__reader=request.user), distinct=True)
    ).order_by("-last_message_at", "-id")
    return render(request, "transfer/threads.html", {"grid": paginate(request, found)})


@login_required
@require_http_methods(["GET", "POST"])
def new_thread(request):
    """Start a conversation: an LA user with one of its schools or another LA; a school with
    its LA."""
    access.require_permission(request.user, "send-messages")
    school_user = request.user.role == Role.SCHOOL_USER
    form = NewThreadForm(request.POST or None, school_user=school_user,
                         initial={"upn": request.GET.get("upn", "")[:20]})
    # A thread about a transfer file the user can see (its sender, receiver or their LAs).
    about = request.POST.get("transfer") or request.GET.get("transfer") or ""
    transfer = (access.access_transfers(request.user, "send-messages").filter(
        pk=int(about)).first() if about.isdigit() and len(about) < 12 else None)
    if request.method == "POST" and form.is_valid():
        school = other_la = None
        to = form.cleaned_data.get("to", "").strip()
        if not school_user:
            if len(to) == 7:
                school = access.access_schools(request.user, "send-messages").filter(
                    laestab=to).first()
            elif len(to) == 3:
                other_la = access.access_local_authorities(request.user).filter(
                    code=to).first()
            if school is None and other_la is None:
                form.add_error("to", "Give the LAESTAB of one of your schools, or the number "
                               "of an LA that uses this Keystage.")
        if not form.errors:
            try:
                made = do_start_thread(acting_user=request.user, school=school,
                                       other_la=other_la,
                                       subject=form.cleaned_data["subject"],
                                       body=form.cleaned_data["body"],
                                       upn=form.cleaned_data["upn"], transfer=transfer)
            except MessageRefused as error:
                form.add_error(None, str(error))
            else:
                return redirect("transfer:thread", thread_id=made.pk)
    return render(request, "transfer/new_thread.html", {"form": form, "transfer": transfer,
                                                        "school_user": school_user})


@login_required
@require_http_methods(["GET", "POST"])
def thread(request, thread_id: int):
    """One conversation: every message with who has read it, and a reply."""
    found = access.access_thread_by_id(request.user, thread_id)
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            do_send_message(found, body=form.cleaned_data["body"], acting_user=request.user)
        except MessageRefused as error:
            form.add_error(None, str(error))
        else:
            return redirect("transfer:thread", thread_id=found.pk)
    do_mark_thread_read(found, acting_user=request.user)
    messages_ = found.messages.select_related("from_school", "from_la").prefetch_related(
        "reads__reader")
    return render(request, "transfer/thread.html", {"t": found, "messages_": messages_,
                                                    "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def agencies(request):
    """The agencies the LA works with: register or link one, and send one an extract."""
    from keystage.collection.choices import default_year

    linked = access.access_agencies(request.user).order_by("name")
    la = access.access_user_la(request.user, "manage-agencies")
    current = default_year(la)
    years = [current, current - 1]
    agency_form = AgencyForm(request.POST if "register" in request.POST else None,
                             prefix="agency")
    link_form = LinkAgencyForm(request.POST if "link" in request.POST else None,
                               prefix="link")
    extract_form = ExtractForm(request.POST if "extract" in request.POST else None,
                               prefix="extract", agencies=linked, years=years,
                               initial={"year": current})
    try:
        if "register" in request.POST and agency_form.is_valid():
            made = do_register_agency(la, acting_user=request.user,
                                      **agency_form.cleaned_data)
            messages.success(request, f"{made.name} registered as {made.reference}.")
            return redirect("transfer:agencies")
        if "link" in request.POST and link_form.is_valid():
            made = do_link_agency(la, reference=link_form.cleaned_data["reference"],
                                  acting_user=request.user)
            messages.success(request, f"Your LA now works with {made}.")
            return redirect("transfer:agencies")
        if "extract" in request.POST and extract_form.is_valid():
            data = extract_form.cleaned_data
            agency = linked.filter(pk=data["agency"]).first()
            school = None
            if data["school"].strip():
                school = access.access_schools(request.user, "manage-agencies").filter(
                    laestab=data["school"].strip()).first()
                if school is None:
                    raise AgencyRefused("No school of your LA has that LAESTAB.")
            made = do_send_agency_extract(
                la, agency, year=data["year"], fields=data["fields"], purpose=data["purpose"],
                acting_user=request.user, school=school,
                upns=None if school else data["upns"].split())
            messages.success(request, f"Extract {made.reference} ({made.pupils} pupils) is "
                             f"waiting for {agency.name} to download.")
            return redirect("transfer:agencies")
    except AgencyRefused as error:
        form = (agency_form if "register" in request.POST else link_form
                if "link" in request.POST else extract_form)
        form.add_error(None, str(error))
    sent = access.access_agency_extracts(request.user, "manage-agencies")[:50]
    return render(request, "transfer/agencies.html", {
        "agencies": linked, "agency_form": agency_form, "link_form": link_form,
        "extract_form": extract_form, "sent": sent})


@login_required
def extracts(request):
    """The agency's extracts from every LA it works with, each downloadable once."""
    found = access.access_agency_extracts(request.user, "agency-downloads")
    return render(request, "transfer/extracts.html", {"grid": paginate(request, found)})


@login_required
@require_POST
def extract_download(request, extract_id: int):
    """Hand the extract over, once (a POST: a link preview must not spend it)."""
    found = access.access_agency_extract_by_id(request.user, extract_id)
    try:
        data = do_download_agency_extract(found, acting_user=request.user)
    except AgencyRefused as error:
        messages.error(request, str(error))
        return redirect("transfer:extracts")
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{found.reference}.csv"'
    return response
