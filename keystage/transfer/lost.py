"""Finding lost pupils when any LA of the deployment loads data that names them.

Called inside each load's transaction (a census or assessment import after its records are
linked, a transfer after it is stored): one read of the open register (only when it holds
anyone), the pure matcher (keystage.identity.lost.find_lost) over the whole load, then bulk
writes: the register rows marked found, audit events, notices to the LA that lost the pupil,
the LA that found them and the school that sent the file, and the pupil's own file forwarded to
the new school. Near matches wait as LostMatch rows for a lost-pupils officer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import polars as pl
from django.utils import timezone

from keystage.audit.log import record_events
from keystage.audit.models import EventType
from keystage.collection.models import PupilRecord
from keystage.context.models import CensusDetail
from keystage.core.bulk import bulk_update_by_pk, read_frame, read_frame_in
from keystage.identity.lost import find_lost
from keystage.schools.models import Establishment, LocalAuthority
from keystage.transfer.models import (
    LostMatch,
    LostPupil,
    LostStatus,
    TransferFile,
    TransferNotice,
    TransferPupil,
    TransferStatus,
)

_RECORDS = {"record_id": pl.Int64, "upn": pl.String, "former_upns": pl.String,
            "surname": pl.String, "forename": pl.String, "dob": pl.Date, "sex": pl.String,
            "laestab": pl.String, "source": pl.String}
_LOST = {"lost_id": pl.Int64, "upn": pl.String, "former_upn": pl.String, "surname": pl.String,
         "forename": pl.String, "dob": pl.Date, "sex": pl.String, "last_laestab": pl.String,
         "left_on": pl.Date}
# Where a sighting comes from, as the register says it: a census or an assessment file.
_SOURCE = "CASE WHEN p.collection = 'census' THEN 'census' ELSE 'assessment' END"


def _t(model) -> str:
    return model._meta.db_table


def open_register() -> pl.DataFrame:
    """Every LA's lost pupils not yet found."""
    return read_frame(
        f"SELECT id, upn, former_upn, surname, forename, CAST(dob AS TEXT), sex, "  # noqa: S608
        f"last_laestab, CAST(left_on AS TEXT) FROM {_t(LostPupil)} WHERE status = 'lost'", [],
        _LOST)


def find_lost_in_submissions(submission_ids: Sequence[int], *, acting_user=None) -> int:
    """Find register pupils among the records of these (just loaded) submissions."""
    if not submission_ids or not LostPupil.objects.filter(status=LostStatus.LOST).exists():
        return 0
    records = read_frame_in(
        f"SELECT p.id, p.upn, COALESCE(c.former_upn, ''), p.surname, p.forename, "  # noqa: S608
        f"CAST(p.dob AS TEXT), p.sex, COALESCE(e.laestab, ''), {_SOURCE} "
        f"FROM {_t(PupilRecord)} p JOIN {_t(Establishment)} e ON e.id = p.school_id "
        f"LEFT JOIN {_t(CensusDetail)} c ON c.record_id = p.id "
        "WHERE p.submission_id IN ({values})", submission_ids, _RECORDS)
    return _find(records, acting_user=acting_user)


def find_lost_in_loaded_data(lost_ids: Sequence[int], *, acting_user=None) -> int:
    """Look for newly registered lost pupils in what the deployment already holds: any LA's
    current records of the year they left or later, at another school. Read by date of birth
    (and its day-month swap) and UPN, so a register's few pupils never read a whole nation."""
    from keystage.collection.models import Submission
    from keystage.identity.normalise import swapped_day_month

    register = open_register().filter(pl.col("lost_id").is_in(list(lost_ids)))
    if register.is_empty():
        return 0
    dobs = register["dob"].to_list() + register.select(swapped_day_month("dob")).to_series(
    ).to_list()
    dobs = sorted({d.isoformat() for d in dobs if d is not None})
    upns = sorted({u for u in register["upn"].to_list() + register["former_upn"].to_list()
                   if u})
    # The assessment year (summer) of the academic year each pupil left in.
    first_year = min(d.year + (1 if d.month >= 9 else 0) for d in register["left_on"])
    parts = [read_frame_in(
        f"SELECT p.id, p.upn, COALESCE(c.former_upn, ''), p.surname, "  # noqa: S608
        f"p.forename, CAST(p.dob AS TEXT), p.sex, COALESCE(e.laestab, ''), {_SOURCE} "
        f"FROM {_t(PupilRecord)} p JOIN {_t(Submission)} s ON s.id = p.submission_id "
        f"JOIN {_t(Establishment)} e ON e.id = p.school_id "
        f"LEFT JOIN {_t(CensusDetail)} c ON c.record_id = p.id "
        f"WHERE s.status = 'current' AND p.year >= %s AND {column} IN ({{values}})",
        values, _RECORDS, params=[first_year]) for column, values in (("p.dob", dobs),
                                                                    ("p.upn", upns))]
    records = pl.concat(parts).unique("record_id")
    return _find(records, acting_user=acting_user, register=register)


def find_lost_in_transfer(transfer: TransferFile, *, acting_user=None) -> int:
    """Find register pupils among the pupils of a transfer file just sent to a school."""
    if not LostPupil.objects.filter(status=LostStatus.LOST).exists():
        return 0
    rows = list(TransferPupil.objects.filter(transfer=transfer).values_list(
        "id", "upn", "former_upn", "surname", "forename", "dob", "sex"))
    records = pl.DataFrame(
        [(*r, transfer.to_laestab, "transfer") for r in rows], schema=_RECORDS, orient="row")
    return _find(records, acting_user=acting_user)


def _find(records: pl.DataFrame, *, acting_user, register: pl.DataFrame | None = None) -> int:
    register = open_register() if register is None else register
    found, review = find_lost(records, register)
    by_id = records.select("record_id", "laestab", "source", "upn", "surname", "forename",
                           "dob", "sex")
    if found.height:
        rows = found.join(by_id, on="record_id")
        lost = LostPupil.objects.select_related("transfer", "la").in_bulk(
            rows["lost_id"].to_list())
        mark_found([(lost[r["lost_id"]], r["laestab"], r["source"], r["method"], r["score"], "")
                    for r in rows.iter_rows(named=True)], acting_user=acting_user)
    if review.height:
        _queue(review.join(by_id, on="record_id"))
    return found.height


def _queue(rows: pl.DataFrame) -> None:
    """Near matches for an officer, once per lost pupil, school and UPN."""
    existing = set(LostMatch.objects.filter(
        lost_id__in=rows["lost_id"].unique().to_list()).values_list("lost_id", "laestab",
                                                                    "upn"))
    las = dict(LostPupil.objects.filter(pk__in=rows["lost_id"].unique().to_list())
               .values_list("pk", "la_id"))
    found_las = {la.code: la for la in LocalAuthority.objects.filter(
        code__in=rows["laestab"].str.slice(0, 3).unique().to_list())}
    made = []
    for r in rows.iter_rows(named=True):
        key = (r["lost_id"], r["laestab"], r["upn"][:20])
        if key in existing:
            continue
        existing.add(key)
        made.append(LostMatch(
            lost_id=r["lost_id"], la_id=las[r["lost_id"]], laestab=r["laestab"][:7],
            found_la=found_las.get(r["laestab"][:3]), source=r["source"], upn=r["upn"][:20],
            surname=r["surname"][:100], forename=r["forename"][:100], dob=r["dob"],
            sex=(r["sex"] or "")[:1], score=r["score"], reason=r["reason"][:200]))
    LostMatch.objects.bulk_create(made, batch_size=2000)


def mark_found(items: list[tuple], *, acting_user) -> None:
    """Mark lost pupils found, in bulk: items are (lost, laestab, how, method, score, note).

    Tells the LA that lost them, the school that sent the file and (if another) the LA where
    they are now, and forwards each pupil's part of the file to their new school."""
    from keystage.audit.log import actor_name
    from keystage.transfer.actions import _expires

    if not items:
        return
    today = timezone.localdate()
    codes = {laestab[:3] for _, laestab, *_ in items if laestab}
    las = {la.code: la for la in LocalAuthority.objects.filter(code__in=codes)}
    schools = {s.laestab: s for s in Establishment.objects.filter(
        laestab__in=[laestab for _, laestab, *_ in items if laestab], is_pvi=False)
        .select_related("la")}
    updates, events, notices = [], [], []
    forward: dict[tuple[int, int], list] = defaultdict(list)
    for lost, laestab, how, method, score, note in items:
        la = las.get(laestab[:3]) if laestab else None
        school = schools.get(laestab)
        lost.status, lost.matched_laestab, lost.matched_la = LostStatus.FOUND, laestab, la
        lost.found_on, lost.found_how, lost.found_method = today, how, method
        lost.found_score, lost.found_note = score, note
        updates.append((lost.pk, LostStatus.FOUND, laestab, la.pk if la else None, today, how,
                        method, score, note))
        where = (f"{school.name} ({laestab})" if school else laestab or "outside England's "
                 "schools")
        who = f"{lost.forename} {lost.surname}".strip() or lost.upn
        events.append({"event_type": EventType.LOST_PUPIL_FOUND, "acting_user": acting_user,
                       "la": lost.la_id, "object_type": "lostpupil", "object_id": str(lost.pk),
                       "summary": f"Lost pupil {lost.upn or lost.pk} found at {where} ({how}, "
                       f"{method}, score {score:.2f})", "reason": note,
                       "found_la": la.code if la else ""})
        title = f"Lost pupil found: {who}"
        body = f"Left {lost.last_laestab} on {lost.left_on:%d %B %Y}; found at {where} ({how})."
        notices.append(TransferNotice(la_id=lost.la_id, school=None, title=title[:200],
                                      body=body[:500], lost=lost))
        notices.append(TransferNotice(la_id=lost.transfer.from_la_id,
                                      school_id=lost.transfer.from_school_id,
                                      title=title[:200], body=body[:500], lost=lost))
        if la is not None and la.pk != lost.la_id:
            notices.append(TransferNotice(
                la=la, school=None, title=f"A pupil lost by LA {lost.la.code} is at {where}",
                body=f"{who} ({lost.upn}) left {lost.last_laestab} with no known destination"
                f" and was found in your {how} data."[:500], lost=lost))
        if school is not None and school.laestab != lost.last_laestab:
            forward[(lost.transfer_id, school.pk)].append(lost)
    bulk_update_by_pk(LostPupil, ["status", "matched_laestab", "matched_la", "found_on",
                                  "found_how", "found_method", "found_score", "found_note"],
                      updates)
    record_events(events)
    TransferNotice.objects.bulk_create(notices, batch_size=2000)
    if forward:
        _forward(forward, schools={s.pk: s for s in schools.values()}, actor=actor_name(
            acting_user), acting_user=acting_user, expires=_expires())


def _forward(forward: dict, *, schools: dict, actor: str, acting_user, expires) -> None:
    """Each found pupil's part of the lost file, as a new transfer to their new school."""
    import hashlib

    from keystage.core.sealed import seal
    from keystage.formats.ctf_forward import forward_ctf
    from keystage.transfer.actions import open_transfer_file

    files = TransferFile.objects.in_bulk({transfer_id for transfer_id, _ in forward})
    made = []
    for (transfer_id, school_id), found in forward.items():
        source = files[transfer_id]
        school = schools[school_id]
        if source.content is None:
            continue  # deleted at the end of its retention period: the notices still go
        try:
            original = open_transfer_file(source)
        except ValueError:
            continue  # unreadable with this server's keys: the notices still tell everyone
        data = forward_ctf(original, keep={f.position for f in found},
                           dest_la=school.la.code, dest_estab=school.estab or "",
                           filename=source.file_name)
        made.append(TransferFile(
            from_school_id=source.from_school_id, from_la_id=source.from_la_id,
            from_laestab=source.from_laestab, to_laestab=school.laestab, to_school=school,
            to_la=school.la, file_name=source.file_name, sha256=hashlib.sha256(data).hexdigest(),
            size=len(data), content=seal(data), pupils=len(found), status=TransferStatus.SENT,
            note="a lost pupil found here", forwarded_from=source, sent_by=acting_user,
            sent_by_name=actor, expires_at=expires))
    # Both databases return the new keys from a bulk insert (PostgreSQL, SQLite 3.35+).
    made = TransferFile.objects.bulk_create(made, batch_size=500)
    TransferNotice.objects.bulk_create([
        TransferNotice(la=c.to_la, school=c.to_school,
                       title=f"A pupil file from {c.from_laestab} is waiting",
                       body="A pupil the lost-pupils register held was found at your school: "
                       f"{c.file_name} is in your transfer inbox.", transfer=c)
        for c in made], batch_size=2000)
