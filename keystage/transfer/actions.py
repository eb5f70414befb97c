"""Every write of school-to-school transfer and the lost-pupils register, each an audited action.

A school sends CTFs (`send_transfer_files`, one transaction per file: all or nothing); each is
routed by its header's DestSchool: to a school of this deployment (its inbox), held for the LA's
transfer officer (a destination closed or not in the register), outside Keystage (an LA this
deployment does not hold), or to the sending LA's lost-pupils register (XXX/XXXX unknown,
MMM/MMMM left the maintained sector). Lost pupils are found by `find_lost_pupils` whenever a
load names them (keystage.transfer.lost).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from keystage.audit.log import actor_name, record_event
from keystage.audit.models import EventType
from keystage.core.sealed import seal, unseal
from keystage.formats.ctf import CtfReader
from keystage.formats.errors import FormatError
from keystage.schools.models import Establishment, LocalAuthority
from keystage.transfer.models import (
    LEFT_MAINTAINED_SECTOR,
    UNKNOWN_DESTINATION,
    LostMatch,
    LostPupil,
    LostStatus,
    MatchStatus,
    TransferFile,
    TransferNotice,
    TransferPupil,
    TransferStatus,
)

SEND_STATUSES = ("sent", "held", "outside", "lost", "duplicate", "refused")
_LOST_CODES = {("XXX", "XXXX"): UNKNOWN_DESTINATION, ("MMM", "MMMM"): LEFT_MAINTAINED_SECTOR}


class TransferRefused(ValueError):
    """A file that cannot be sent, with the message for the sender."""


@dataclass
class SendOutcome:
    """What happened to one file a school sent."""

    name: str
    status: str  # one of SEND_STATUSES
    message: str
    transfer: TransferFile | None = None


def send_transfer_files(items: Iterable[tuple[str, object]], *, from_school: Establishment,
                        acting_user) -> list[SendOutcome]:
    """Send each CTF (name, bytes | InputFile | FormatError) from a school; one outcome each."""
    outcomes = []
    for name, data in items:
        if isinstance(data, FormatError):
            outcomes.append(SendOutcome(name, "refused", str(data)))
            continue
        try:
            raw = data if isinstance(data, bytes) else data.read_bytes()
        finally:
            if hasattr(data, "close"):
                data.close()
        try:
            outcomes.append(do_send_transfer_file(name, raw, from_school=from_school,
                                                  acting_user=acting_user))
        except TransferRefused as error:
            outcomes.append(SendOutcome(name, "refused", str(error)))
    return outcomes


def _read(name: str, data: bytes):
    try:
        with CtfReader(data, filename=name) as reader:
            header = reader.header
            pupils = list(reader.pupils())
    except FormatError as error:
        raise TransferRefused(str(error)) from error
    return header, pupils


def _destination(name: str, header, from_school: Establishment):
    """(status, to_laestab, to_school, to_la, note) for a file's DestSchool."""
    la_code = (header.dest_la or "").strip().upper()
    estab = (header.dest_estab or "").strip().upper()
    lost = _LOST_CODES.get((la_code, estab))
    if lost:
        return TransferStatus.LOST, lost, None, from_school.la, ""
    if not (len(la_code) == 3 and la_code.isdigit() and len(estab) == 4
            and (estab.isdigit() or estab == "LLLL")):
        shown = f"{la_code or '(none)'}/{estab or '(none)'}"
        raise TransferRefused(
            f"{name}: the destination in the header (Header/DestSchool LEA and Estab: {shown}) "
            "is missing or not a school. Export the file again from your MIS with the new "
            "school's LA number and establishment number, or XXX and XXXX if nobody knows "
            "where the pupil went (MMM and MMMM if they left the maintained sector).")
    laestab = la_code + estab
    if laestab == from_school.laestab:
        raise TransferRefused(
            f"{name}: the file is addressed to your own school ({laestab}). Export it again "
            "with the destination school's LA and establishment numbers.")
    authority = LocalAuthority.objects.filter(code=la_code).first()
    if estab == "LLLL":
        if authority is None:
            return TransferStatus.OUTSIDE, laestab, None, None, (
                f"LA {la_code} does not use this Keystage: send it through the DfE's "
                "school to school service.")
        return TransferStatus.HELD, laestab, None, authority, (
            "addressed to the LA rather than a school")
    school = Establishment.objects.filter(laestab=laestab, is_pvi=False).select_related(
        "la").first()
    if school is not None and school.status.lower().startswith("closed"):
        return TransferStatus.HELD, laestab, None, school.la, (
            f"the destination school {school.name} is closed")
    if school is not None:
        return TransferStatus.SENT, laestab, school, school.la, ""
    if authority is not None:
        return TransferStatus.HELD, laestab, None, authority, (
            f"no open school {laestab} in LA {la_code}'s register")
    return TransferStatus.OUTSIDE, laestab, None, None, (
        f"LA {la_code} does not use this Keystage: send the file through the DfE's school to "
        "school service.")


def _left_on(header) -> dt.date:
    text = (header.date_time or "")[:10]
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return timezone.localdate()


def _pupil_fields(p) -> dict:
    sex = p.sex if p.sex in ("M", "F") else ""
    return {"line": p.line, "upn": p.upn[:20], "former_upn": p.former_upn[:20],
            "surname": p.surname[:100], "forename": p.forename[:100], "dob": p.dob, "sex": sex}


def _expires() -> dt.datetime:
    return timezone.now() + dt.timedelta(days=settings.TRANSFER_RETENTION_DAYS)


@transaction.atomic
def do_send_transfer_file(name: str, data: bytes, *, from_school: Establishment,
                          acting_user) -> SendOutcome:
    """Store one CTF a school sends and route it by its destination; refuses a bad file."""
    name = name[-255:]
    digest = hashlib.sha256(data).hexdigest()
    earlier = TransferFile.objects.filter(from_school=from_school, sha256=digest,
                                          forwarded_from__isnull=True).first()
    if earlier is not None:
        return SendOutcome(name, "duplicate", (
            f"{name}: this file was already sent on {timezone.localtime(earlier.sent_at):%d %B %Y}"
            f" (as {earlier.file_name}); nothing new was stored."), earlier)
    header, pupils = _read(name, data)
    source = header.source_laestab
    if source is None:
        raise TransferRefused(f"{name}: the header has no sending school (Header/SourceSchool "
                              "LEA and Estab). Export the file again from your MIS.")
    if source != from_school.laestab:
        raise TransferRefused(
            f"{name}: the file says it is from school {source}, not {from_school.laestab} "
            f"({from_school.name}). Send it as the school that made it.")
    if not pupils:
        raise TransferRefused(f"{name}: the file holds no pupils; export it again with the "
                              "pupils who are leaving.")
    status, to_laestab, to_school, to_la, note = _destination(name, header, from_school)
    transfer = TransferFile.objects.create(
        from_school=from_school, from_la=from_school.la, from_laestab=from_school.laestab,
        to_laestab=to_laestab, to_school=to_school, to_la=to_la, file_name=name,
        sha256=digest, size=len(data), content=seal(data), pupils=len(pupils), status=status,
        note=note[:300], sent_by=acting_user, sent_by_name=actor_name(acting_user),
        expires_at=_expires())
    rows = [_pupil_fields(p) for p in pupils]
    TransferPupil.objects.bulk_create([TransferPupil(transfer=transfer, **r) for r in rows],
                                      batch_size=2000)
    record_event(EventType.TRANSFER_SENT, acting_user=acting_user, la=from_school.la,
                 school=from_school, obj=transfer,
                 summary=f"{name}: {len(pupils)} pupil{'s' if len(pupils) != 1 else ''} from "
                 f"{from_school.laestab} to {to_laestab} ({TransferStatus(status).label})",
                 sha256=digest, to_la=to_la.code if to_la else "")
    if status == TransferStatus.LOST:
        left_on = _left_on(header)
        LostPupil.objects.bulk_create([
            LostPupil(la=from_school.la, transfer=transfer, last_laestab=from_school.laestab,
                      left_on=left_on, destination=to_laestab, position=position,
                      **{k: v for k, v in r.items() if k != "line"})
            for position, r in enumerate(rows)],
            batch_size=2000)
        _notice(from_school.la, None, f"{len(rows)} pupil{'s' if len(rows) != 1 else ''} of "
                f"{from_school.name} added to the lost-pupils register",
                f"{name} names no destination. The pupils wait in the register until a load "
                "finds them.", transfer=transfer)
        from keystage.transfer.lost import find_lost_in_loaded_data

        registered = list(LostPupil.objects.filter(transfer=transfer).values_list("pk",
                                                                                  flat=True))
        already = find_lost_in_loaded_data(registered, acting_user=acting_user)
        message = (f"{name}: {len(rows)} pupil(s) added to the LA's lost-pupils register; you "
                   "will be told when they are found.")
        if already:
            message += f" {already} of them found at once in data already loaded."
    elif status == TransferStatus.SENT:
        _notice(to_school.la, to_school, f"A pupil file from {from_school.name} is waiting",
                f"{name} ({len(rows)} pupil{'s' if len(rows) != 1 else ''}) is in your "
                "transfer inbox.", transfer=transfer, email=True)
        message = f"{name}: sent to {to_school.name} ({to_laestab})."
    elif status == TransferStatus.HELD:
        _notice(to_la, None, f"A pupil file for {to_laestab} needs routing",
                f"{name} from {from_school.name}: {note}. Route it to a school.",
                transfer=transfer, email=True)
        message = f"{name}: held for LA {to_la.code}'s transfer officer to route ({note})."
    else:
        message = f"{name}: not sent. {note}"
    if status in (TransferStatus.SENT, TransferStatus.HELD):
        from keystage.transfer.lost import find_lost_in_transfer

        find_lost_in_transfer(transfer)
    return SendOutcome(name, status, message, transfer)


NOTICE_EMAIL_ROLES = ("transfer_officer", "lost_pupils_officer")


def _notice(la, school, title: str, body: str, *, transfer=None, lost=None,
            email: bool = False) -> TransferNotice:
    """A notice on the school's (or the LA's officers') transfer page, and an email without the
    pupils' details once the write commits."""
    from django.core.mail import send_mail

    from keystage.accounts.models import Role, User

    notice = TransferNotice.objects.create(la=la, school=school, title=title[:200],
                                           body=body[:500], transfer=transfer, lost=lost)
    if email:
        users = User.objects.filter(is_active=True).exclude(email="")
        users = (users.filter(school=school, role=Role.SCHOOL_USER) if school is not None
                 else users.filter(la=la, role__in=NOTICE_EMAIL_ROLES))
        recipients = list(users.values_list("email", flat=True))
        if recipients:
            transaction.on_commit(lambda: send_mail(
                f"Keystage: {title}", "Sign in to Keystage to see it on your transfer page.",
                None, recipients, fail_silently=True))
    return notice


def open_transfer_file(transfer: TransferFile) -> bytes:
    """The file as it was sent (decrypted); ValueError once retention has deleted it, or when
    none of this server's keys opens it."""
    from keystage.core.sealed import SealBroken

    if transfer.content is None:
        raise ValueError(f"{transfer.file_name} was deleted at the end of its retention period.")
    try:
        return unseal(transfer.content)
    except SealBroken as error:
        raise ValueError(
            f"{transfer.file_name} cannot be opened with this server's file keys (the "
            "SECRET_KEY or KEYSTAGE_FILE_KEYS changed). Ask your administrator to add the old "
            "key to KEYSTAGE_FILE_KEYS.") from error


def read_transfer_pupils(transfer: TransferFile) -> list:
    """The file's pupils with every container of their record (CtfPupil.sections); empty once
    the file is deleted."""
    if transfer.content is None:
        return []
    try:
        data = open_transfer_file(transfer)
    except ValueError:
        return []  # the page says why when the file is downloaded
    with CtfReader(data, filename=transfer.file_name, full=True) as reader:
        return list(reader.pupils())


@transaction.atomic
def do_download_transfer_file(transfer: TransferFile, *, acting_user,
                              school: Establishment | None = None) -> bytes:
    """The file's bytes for its receiving school (it becomes downloaded) or an LA officer's
    copy; every download is recorded."""
    data = open_transfer_file(transfer)
    receiving = school if school is not None else getattr(acting_user, "school", None)
    by_receiver = receiving is not None and receiving.pk == transfer.to_school_id
    if by_receiver and transfer.status == TransferStatus.SENT:
        transfer.status = TransferStatus.DOWNLOADED
        transfer.downloaded_at = timezone.now()
        transfer.save(update_fields=["status", "downloaded_at"])
    record_event(EventType.TRANSFER_DOWNLOADED, acting_user=acting_user,
                 la=transfer.to_la or transfer.from_la, school=receiving, obj=transfer,
                 summary=f"{transfer.file_name} downloaded"
                 f"{' by the receiving school' if by_receiver else ' (a copy)'}")
    return data


@transaction.atomic
def do_reject_transfer_file(transfer: TransferFile, *, reason: str, acting_user) -> TransferFile:
    """The receiving school (or its LA) says the file is not theirs; the sender is told."""
    reason = reason.strip()
    if not reason:
        raise TransferRefused("Say why the file is rejected, so the sending school can act.")
    if transfer.status not in (TransferStatus.SENT, TransferStatus.DOWNLOADED,
                               TransferStatus.HELD):
        raise TransferRefused(f"{transfer.file_name} is {transfer.get_status_display().lower()}"
                              " and cannot be rejected.")
    old = transfer.status
    transfer.status = TransferStatus.REJECTED
    transfer.note = reason[:300]
    transfer.save(update_fields=["status", "note"])
    _notice(transfer.from_la, transfer.from_school, f"{transfer.file_name} was rejected",
            f"{transfer.to_laestab} rejected the file: {reason}"[:500], transfer=transfer,
            email=True)
    record_event(EventType.TRANSFER_REJECTED, acting_user=acting_user,
                 la=transfer.to_la or transfer.from_la, school=transfer.to_school, obj=transfer,
                 summary=f"{transfer.file_name} rejected", reason=reason,
                 old={"status": old}, new={"status": transfer.status})
    return transfer


@transaction.atomic
def do_route_transfer_file(transfer: TransferFile, *, school: Establishment, acting_user,
                           reason: str = "") -> TransferFile:
    """An LA transfer officer sends a held file on to a school of this deployment."""
    if transfer.status != TransferStatus.HELD:
        raise TransferRefused(f"{transfer.file_name} is not held for routing.")
    if school.pk == transfer.from_school_id:
        raise TransferRefused("A file cannot be routed back to the school that sent it.")
    old = transfer.to_laestab
    transfer.to_school = school
    transfer.to_la = school.la
    transfer.to_laestab = school.laestab or transfer.to_laestab
    transfer.status = TransferStatus.SENT
    transfer.note = ""
    transfer.save(update_fields=["to_school", "to_la", "to_laestab", "status", "note"])
    _notice(school.la, school, f"A pupil file from {transfer.from_school.name} is waiting",
            f"{transfer.file_name} was routed to you by the LA.", transfer=transfer, email=True)
    record_event(EventType.TRANSFER_ROUTED, acting_user=acting_user, la=school.la,
                 school=school, obj=transfer, reason=reason,
                 summary=f"{transfer.file_name} routed to {school.laestab}",
                 old={"to_laestab": old}, new={"to_laestab": transfer.to_laestab})
    return transfer


@transaction.atomic
def do_delete_expired_transfers(*, acting_user=None, now: dt.datetime | None = None) -> int:
    """Delete the content of transfer files and agency extracts past their retention period
    (their rows stay, for the record); one audit event. Returns the transfer files deleted."""
    from keystage.transfer.models import AgencyExtract

    now = now or timezone.now()
    ids = list(TransferFile.objects.filter(expires_at__lte=now, content__isnull=False)
               .values_list("pk", flat=True))
    extracts = list(AgencyExtract.objects.filter(expires_at__lte=now, content__isnull=False)
                    .values_list("pk", flat=True))
    if not ids and not extracts:
        return 0
    TransferFile.objects.filter(pk__in=ids).update(content=None, deleted_at=now)
    AgencyExtract.objects.filter(pk__in=extracts).update(content=None)
    record_event(EventType.TRANSFERS_DELETED, acting_user=acting_user,
                 summary=f"{len(ids)} transfer file(s) and {len(extracts)} agency extract(s) "
                 "past retention deleted", object_type="transferfile",
                 object_id=",".join(map(str, ids[:50])), extracts=extracts[:50])
    return len(ids)


@transaction.atomic
def do_mark_lost_pupil_found(lost: LostPupil, *, laestab: str, how: str, note: str,
                             acting_user) -> LostPupil:
    """A lost-pupils officer records where and how a pupil was found."""
    from keystage.transfer.lost import mark_found

    if lost.status == LostStatus.FOUND:
        raise TransferRefused("This pupil is already marked found.")
    laestab = laestab.strip().upper()
    if laestab and not (len(laestab) == 7 and laestab.isdigit()):
        raise TransferRefused("Give the school's LAESTAB as seven digits, or leave it empty if "
                              "the pupil is not at a school in England.")
    if not note.strip():
        raise TransferRefused("Say how the pupil was found (for example: 'the new school "
                              "phoned').")
    mark_found([(lost, laestab, "by hand", "confirmed", 1.0, note.strip()[:300])],
               acting_user=acting_user)
    lost.refresh_from_db()
    return lost


@transaction.atomic
def do_decide_lost_match(match: LostMatch, *, confirm: bool, reason: str,
                         acting_user) -> LostMatch:
    """An officer confirms a near match (the pupil is found there) or rejects it."""
    from keystage.transfer.lost import mark_found

    if match.status != MatchStatus.OPEN:
        raise TransferRefused("This match has already been decided.")
    if not reason.strip():
        raise TransferRefused("Give a reason for the decision.")
    match.status = MatchStatus.CONFIRMED if confirm else MatchStatus.REJECTED
    match.save(update_fields=["status"])
    if confirm and match.lost.status == LostStatus.LOST:
        mark_found([(match.lost, match.laestab, match.source, "confirmed", match.score,
                     reason.strip()[:300])], acting_user=acting_user)
        LostMatch.objects.filter(lost=match.lost, status=MatchStatus.OPEN).update(
            status=MatchStatus.REJECTED)
    elif not confirm:
        record_event(EventType.LOST_MATCH_REJECTED, acting_user=acting_user, la=match.la,
                     obj=match, reason=reason,
                     summary=f"Near match of lost pupil {match.lost_id} at {match.laestab} "
                     "rejected")
    return match


@transaction.atomic
def do_dismiss_transfer_notice(notice: TransferNotice, *, acting_user) -> TransferNotice:
    """A notice has been read: it leaves the page, and the log says who."""
    if notice.dismissed_at is None:
        notice.dismissed_at = timezone.now()
        notice.save(update_fields=["dismissed_at"])
        record_event(EventType.TRANSFER_NOTICE_DISMISSED, acting_user=acting_user,
                     la=notice.la, school=notice.school, obj=notice,
                     summary=f"Dismissed: {notice.title}"[:300])
    return notice
