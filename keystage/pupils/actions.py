"""What an LA officer does to pupil identity: confirm a near match, split a record, merge two.

Each is one transaction with its audit row, and says why (the reason is required).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from keystage.audit.log import record_event
from keystage.audit.models import EventType
from keystage.collection.models import PupilRecord
from keystage.pupils import locks
from keystage.pupils.models import (
    IdentifierKind,
    LinkReview,
    Pupil,
    PupilAlias,
    PupilIdentifier,
    ReviewStatus,
)


class IdentityRefused(ValueError):
    """A change to pupil identity that cannot be made; the message says why."""


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise IdentityRefused("Say why: the reason is kept in the audit log.")
    return reason[:500]


def hold_identity_for_officer(la_id: int) -> None:
    """The LA's identity lock (keystage.pupils.locks) for an officer's change: an import of the
    LA's files linking pupils right now is waited for, for a minute at most."""
    try:
        locks.hold_pupil_identity(la_id, wait_seconds=locks.OFFICER_WAIT_SECONDS)
    except locks.IdentityBusy as busy:
        raise IdentityRefused(str(busy)) from busy


def _current(rows, pk: int, gone: str):
    """The row of `rows` (a model's manager or a queryset) as it is now that the lock is held;
    refused with `gone` if it no longer is one of them."""
    found = rows.filter(pk=pk).first()
    if found is None:
        raise IdentityRefused(gone)
    return found


def current_pupil(pk: int) -> Pupil:
    """The pupil as it is now that the identity lock is held; refused if merged away since the
    page that chose them was read."""
    return _current(Pupil.objects, pk, "That pupil was merged into another meanwhile: find them "
                    "again and retry.")


def _label(pupil: Pupil) -> str:
    return f"pupil {pupil.pk} ({pupil.upn or 'no UPN'})"


def _add_identifiers(pupil: Pupil, record: PupilRecord) -> None:
    if record.upn and not pupil.identifiers.filter(value=record.upn).exists():
        PupilIdentifier.objects.create(pupil=pupil, la_id=pupil.la_id, kind=IdentifierKind.UPN,
                                       value=record.upn)


def _drop_if_empty(pupil: Pupil, successor: Pupil) -> None:
    """A pupil left with no records goes; its id leads to the successor from then on."""
    if pupil.pk == successor.pk or PupilRecord.objects.filter(pupil=pupil).exists():
        return
    from keystage.socialcare.models import CareChild, LookedAfterChange

    PupilAlias.objects.filter(pupil=pupil).update(pupil=successor)
    PupilAlias.objects.create(id=pupil.pk, pupil=successor)
    # Social care children linked to the pupil are the successor's too (deleting the pupil
    # would leave them unlinked).
    CareChild.objects.filter(pupil=pupil).update(pupil=successor)
    LookedAfterChange.objects.filter(pupil=pupil).update(pupil=successor)
    LinkReview.objects.filter(candidate=pupil).delete()
    pupil.delete()


@transaction.atomic
def do_confirm_link(review: LinkReview, *, acting_user, reason: str) -> Pupil:
    """The record of a near match is the candidate pupil: move it (and its UPN) there."""
    reason = _require_reason(reason)
    hold_identity_for_officer(review.la_id)
    review = _current(LinkReview.objects.filter(status=ReviewStatus.OPEN), review.pk,
                      "This match has already been decided.")
    record = PupilRecord.objects.select_for_update().get(pk=review.record_id)
    candidate = review.candidate
    was = record.pupil
    record.pupil = candidate
    record.link_method = "confirmed"
    record.link_score = review.score
    record.save(update_fields=["pupil", "link_method", "link_score"])
    _add_identifiers(candidate, record)
    review.status = ReviewStatus.CONFIRMED
    review.decided_by = acting_user
    review.decided_at = timezone.now()
    review.save(update_fields=["status", "decided_by", "decided_at"])
    record_event(EventType.PUPIL_LINK_CONFIRMED, acting_user=acting_user, la=candidate.la,
                 school=record.school, obj=candidate, reason=reason,
                 summary=f"{record.collection.upper()} {record.year} record of "
                 f"{record.forename} {record.surname} confirmed as {_label(candidate)}",
                 record_id=record.pk, score=review.score,
                 old={"pupil": was.pk if was else None}, new={"pupil": candidate.pk})
    if was is not None:
        _drop_if_empty(was, candidate)
    return candidate


@transaction.atomic
def do_split_record(record: PupilRecord, *, acting_user, reason: str,
                    review: LinkReview | None = None) -> Pupil:
    """The record is a different child from the pupil it is linked to: a new pupil of its own."""
    reason = _require_reason(reason)
    hold_identity_for_officer(record.la_id)
    record = _current(PupilRecord.objects, record.pk, "This record was replaced by a newer file.")
    was = record.pupil
    if review is not None:
        review = _current(LinkReview.objects.filter(status=ReviewStatus.OPEN), review.pk,
                      "This match has already been decided.")
        review.status = ReviewStatus.SPLIT
        review.decided_by = acting_user
        review.decided_at = timezone.now()
        review.save(update_fields=["status", "decided_by", "decided_at"])
    if was is not None and not PupilRecord.objects.filter(pupil=was).exclude(
            pk=record.pk).exists():
        # Already a pupil of its own: nothing to split, the decision is recorded.
        pupil = was
    else:
        pupil = Pupil.objects.create(la=record.la, upn=record.upn, surname=record.surname,
                                     forename=record.forename, dob=record.dob, sex=record.sex)
        record.pupil = pupil
        record.link_method = "split"
        record.link_score = None
        record.save(update_fields=["pupil", "link_method", "link_score"])
        if record.upn:
            PupilIdentifier.objects.create(pupil=pupil, la_id=pupil.la_id,
                                           kind=IdentifierKind.UPN, value=record.upn)
    record_event(EventType.PUPIL_RECORD_SPLIT, acting_user=acting_user, la=record.la,
                 school=record.school, obj=pupil, reason=reason,
                 summary=f"{record.collection.upper()} {record.year} record of "
                 f"{record.forename} {record.surname} kept apart as {_label(pupil)}",
                 record_id=record.pk, old={"pupil": was.pk if was else None},
                 new={"pupil": pupil.pk})
    return pupil


@transaction.atomic
def do_merge_pupils(keep: Pupil, merge: Pupil, *, acting_user, reason: str) -> Pupil:
    """Two pupils are one child: every record and identifier of `merge` moves to `keep`."""
    reason = _require_reason(reason)
    if keep.pk == merge.pk:
        raise IdentityRefused("Choose two different pupils to merge.")
    if keep.la_id != merge.la_id:
        raise IdentityRefused("Pupils of different local authorities cannot be merged.")
    hold_identity_for_officer(keep.la_id)
    keep, merge = current_pupil(keep.pk), current_pupil(merge.pk)
    moved = PupilRecord.objects.filter(pupil=merge).update(pupil=keep, link_method="merged")
    known = set(keep.identifiers.values_list("kind", "value"))
    for identifier in merge.identifiers.all():
        if (identifier.kind, identifier.value) not in known:
            PupilIdentifier.objects.create(pupil=keep, la_id=keep.la_id, kind=identifier.kind,
                                           value=identifier.value)
    LinkReview.objects.filter(candidate=merge).update(candidate=keep)
    record_event(EventType.PUPILS_MERGED, acting_user=acting_user, la=keep.la, obj=keep,
                 reason=reason, summary=f"{_label(merge)} merged into {_label(keep)}: "
                 f"{moved} records moved", merged=merge.pk, records=moved)
    _drop_if_empty(merge, keep)
    return keep
