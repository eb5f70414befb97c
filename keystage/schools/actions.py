"""Every write to the register: GIAS imports, edits, PVI settings, academic years."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from keystage.audit.log import record_event, record_events
from keystage.audit.models import EventType
from keystage.core.bulk import bulk_insert, bulk_update_by_pk
from keystage.core.inputs import check_text
from keystage.core.plural import counted
from keystage.formats.errors import FormatError
from keystage.formats.gias import EstablishmentRecord, read_gias_extract
from keystage.formats.la_codes import la_codes
from keystage.schools.models import (
    AcademicYear,
    Establishment,
    EstablishmentImport,
    EstablishmentSource,
    LocalAuthority,
)

# The register fields a GIAS extract sets, as (model field, record attribute).
GIAS_FIELDS = (
    ("estab", "estab"),
    ("laestab", "laestab"),
    ("name", "name"),
    ("type_name", "type_name"),
    ("type_group", "type_group"),
    ("phase", "phase"),
    ("status", "status"),
    ("low_age", "low_age"),
    ("high_age", "high_age"),
    ("open_date", "open_date"),
    ("close_date", "close_date"),
    ("postcode", "postcode"),
)


class ForeignEstablishmentError(FormatError):
    """An LA's import names a URN of another LA's establishment: the whole file is refused."""


# How many refused rows a refusal names; the rest are counted.
REFUSED_SHOWN = 20


@dataclass
class RegisterImportOutcome:
    """What one GIAS extract did to the register."""

    filename: str
    rows_read: int = 0
    added: list[str] = field(default_factory=list)
    changed: dict[str, dict] = field(default_factory=dict)
    closed: list[str] = field(default_factory=list)
    # URN -> [old LA code, new LA code]: schools a national import moved between LAs.
    moved: dict[str, list[str]] = field(default_factory=dict)
    unchanged: int = 0
    las_created: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    imports: list[EstablishmentImport] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.filename}: {self.rows_read} rows read; {len(self.added)} added, "
            # A closed school is in `changed` too (with its fields); count it once, as closed.
            f"{len(self.changed) - len(self.closed)} changed, {len(self.closed)} closed, "
            f"{self.unchanged} unchanged; "
            + (f"{len(self.moved)} moved between local authorities; " if self.moved else "")
            + f"{len(self.las_created)} local authorities created"
        )


def _record_values(record: EstablishmentRecord) -> dict:
    return {model_field: getattr(record, attr) for model_field, attr in GIAS_FIELDS}


def _check_fits(extract) -> None:
    """Refuse, naming the row, a text value that would not fit its register column."""
    limits = {f.name: f.max_length for f in Establishment._meta.get_fields()
              if getattr(f, "max_length", None)}
    limits["la_name"] = LocalAuthority._meta.get_field("name").max_length
    for record in extract.records:
        for name, attr in (*GIAS_FIELDS, ("urn", "urn"), ("la_name", "la_name")):
            value = getattr(record, attr)
            if isinstance(value, str) and name in limits:
                problem = check_text(value, max_length=limits[name], what=f"The {name}")
                if problem:
                    raise FormatError(problem, filename=extract.filename, line=record.line,
                                      column=name)


def _la_name(record_name: str, code: str) -> str:
    known = la_codes().get(code)
    return record_name or (known.name if known else f"LA {code}")


def _is_ey_setting(record) -> bool:
    """A PVI early years setting: no establishment number, and a 6-digit EY URN (5, 6 or 7).

    GIAS itself lists no PVI settings, but an LA's list of them may come in the same layout
    (encodings.md section 1: PVI settings send their EY URN instead of an Estab).
    """
    return record.estab is None and len(record.urn) == 6 and record.urn[0] in "567"


def do_import_establishments(
    source: bytes | str | Path,
    *,
    filename: str,
    la_code: str | None = None,
    acting_user,
    progress=None,
) -> RegisterImportOutcome:
    """Insert or update the register from a GIAS extract, all or nothing; report the changes."""
    data = Path(source).read_bytes() if isinstance(source, str | Path) else source
    if progress:
        progress(0, 3, f"Reading {filename}")
    extract = read_gias_extract(data, filename=filename, la_code=la_code)
    _check_fits(extract)
    if progress:
        progress(1, 3, f"Comparing {len(extract.records)} establishments with the register")
    outcome = _apply_extract(
        extract, data=data, la_code=la_code, acting_user=acting_user
    )
    if progress:
        progress(3, 3, outcome.summary())
    return outcome


def _refuse_other_las_establishments(extract, la_code: str) -> None:
    """Refuse an LA's import that names another LA's establishment, before anything is written.

    Only a national import may move a school between LAs: an LA's file could otherwise take
    another LA's school, and its pupils, by giving the school's URN with its own LA code. The
    message names the row and the URN only, never the other LA's school.
    """
    lines = {record.urn: record.line for record in extract.records}
    urns = list(lines)
    foreign: list[str] = []
    for start in range(0, len(urns), 5000):
        foreign += Establishment.objects.filter(urn__in=urns[start : start + 5000]).exclude(
            la__code=la_code).values_list("urn", flat=True)
    if not foreign:
        return
    foreign.sort(key=lines.get)
    first = foreign[0]
    shown = ", ".join(f"URN {urn} (line {lines[urn]})" for urn in foreign[:REFUSED_SHOWN])
    more = len(foreign) - REFUSED_SHOWN
    raise ForeignEstablishmentError(
        f"URN {first} belongs to an establishment of another LA; only a national import can "
        f"move it. {counted(len(foreign), 'row')} of LA {la_code} name "
        f"another LA's establishment: {shown}" + (f" and {more} more" if more > 0 else "")
        + ". Remove these rows, or ask the national operator to run a national import if the "
        "school really has moved.",
        filename=extract.filename, line=lines[first], column="URN",
    )


@transaction.atomic
def _apply_extract(extract, *, data: bytes, la_code: str | None, acting_user):
    if la_code is not None:
        _refuse_other_las_establishments(extract, la_code)
    outcome = RegisterImportOutcome(
        filename=extract.filename,
        rows_read=len(extract.records),
        unknown_columns=list(extract.unknown_columns),
    )
    codes_in_file = {r.la_code: r.la_name for r in extract.records}
    if la_code is not None:
        codes_in_file.setdefault(la_code, "")

    las = {la.code: la for la in LocalAuthority.objects.filter(code__in=list(codes_in_file))}
    for code in sorted(set(codes_in_file) - set(las)):
        la = LocalAuthority.objects.create(code=code, name=_la_name(codes_in_file[code], code))
        las[code] = la
        outcome.las_created.append(code)
        record_event(
            EventType.LA_CREATED, acting_user=acting_user, la=la, obj=la,
            summary=f"{la} created from {extract.filename}", new={"code": code, "name": la.name},
        )

    urns = [r.urn for r in extract.records]
    existing: dict[str, Establishment] = {}
    # Chunked so the IN list stays under every database's parameter limit.
    for start in range(0, len(urns), 5000):
        for school in Establishment.objects.select_related("la").filter(
            urn__in=urns[start : start + 5000]
        ):
            existing[school.urn] = school

    to_create: list[EstablishmentRecord] = []
    to_update: list[Establishment] = []
    events: list[dict] = []
    per_la: dict[str, dict] = defaultdict(
        lambda: {"added": [], "changed": {}, "closed": [], "unchanged": 0, "rows": 0,
                 "moved": {}, "moved_out": {}}
    )
    for record in extract.records:
        la = las[record.la_code]
        report = per_la[record.la_code]
        report["rows"] += 1
        school = existing.get(record.urn)
        if school is None:
            to_create.append(record)
            outcome.added.append(record.urn)
            report["added"].append(record.urn)
            continue
        values = _record_values(record)
        changes = {
            name: [getattr(school, name), value]
            for name, value in values.items()
            if getattr(school, name) != value
        }
        old_la, old_name = school.la, school.name
        if school.la_id != la.pk:
            # Only a national import gets here (an LA's import was refused above).
            changes["la"] = [old_la.code, la.code]
        if school.source != EstablishmentSource.GIAS:
            changes["source"] = [school.source, EstablishmentSource.GIAS]
        if not changes:
            outcome.unchanged += 1
            report["unchanged"] += 1
            continue
        for name, value in values.items():
            setattr(school, name, value)
        school.la = la
        school.source = EstablishmentSource.GIAS
        to_update.append(school)
        was_closed = (
            "status" in changes and record.status == "Closed" and changes["status"][0] != "Closed"
        )
        json_changes = {k: [_plain(o), _plain(n)] for k, (o, n) in changes.items()}
        if was_closed:
            outcome.closed.append(record.urn)
            report["closed"].append(record.urn)
        outcome.changed[record.urn] = json_changes
        report["changed"][record.urn] = json_changes
        if "la" in changes:
            outcome.moved[record.urn] = changes["la"]
            report["moved"][record.urn] = changes["la"]
            # The old LA's import report lists the move out (its own school until now).
            las.setdefault(old_la.code, old_la)
            per_la[old_la.code]["moved_out"][record.urn] = {"name": old_name, "to": la.code}
            # A boundary change is audited for both LAs: the old LA's log shows where it went.
            events.append(dict(
                event_type=EventType.ESTABLISHMENT_CHANGED, acting_user=acting_user,
                la=old_la, school=school, obj=school,
                summary=f"{school.name} ({school.urn}) moved from LA {old_la.code} to LA "
                f"{la.code} by {extract.filename}",
                old={"la": old_la.code}, new={"la": la.code}, moved=True,
            ))
        events.append(
            dict(
                event_type=EventType.ESTABLISHMENT_CLOSED if was_closed
                else EventType.ESTABLISHMENT_CHANGED,
                acting_user=acting_user, la=la, school=school, obj=school,
                summary=f"{school.name} ({school.urn}) "
                + ("closed" if was_closed else "changed")
                + (f", moved from LA {old_la.code} to LA {la.code}," if "la" in changes else "")
                + f" by {extract.filename}",
                old={k: o for k, (o, _) in json_changes.items()},
                new={k: n for k, (_, n) in json_changes.items()},
            )
        )

    now = timezone.now()
    insert_fields = ["la", "urn", *(name for name, _ in GIAS_FIELDS), "is_pvi", "source",
                     "updated_at"]
    bulk_insert(
        Establishment,
        insert_fields,
        (
            (las[r.la_code].pk, r.urn, *(getattr(r, attr) for _, attr in GIAS_FIELDS),
             _is_ey_setting(r), EstablishmentSource.GIAS, now)
            for r in to_create
        ),
    )
    update_fields = [name for name, _ in GIAS_FIELDS] + ["la", "source", "updated_at"]
    bulk_update_by_pk(
        Establishment,
        update_fields,
        (
            (s.pk, *(getattr(s, name) for name, _ in GIAS_FIELDS), s.la_id, s.source, now)
            for s in to_update
        ),
    )
    if outcome.moved:
        _move_school_users(to_update, outcome.moved, las, acting_user, extract.filename, events)
    # The fast insert returns no ids: fetch them in one pass for the audit rows.
    added = set(outcome.added)
    ids = {
        urn: pk
        for urn, pk in Establishment.objects.filter(la__in=list(las.values()))
        .values_list("urn", "pk")
        if urn in added
    }
    for record in to_create:
        school_id = ids[record.urn]
        events.append(
            dict(
                event_type=EventType.ESTABLISHMENT_ADDED, acting_user=acting_user,
                la=las[record.la_code].pk, school=school_id, object_type="establishment",
                object_id=str(school_id),
                summary=f"{record.name} ({record.urn}) added from {extract.filename}",
                new={model_field: _plain(getattr(record, attr))
                     for model_field, attr in GIAS_FIELDS},
            )
        )
    record_events(events)

    digest = hashlib.sha256(data).hexdigest()
    if la_code is not None:
        per_la[la_code]  # an LA's import is logged even when the file had none of its rows
    for code, report in sorted(per_la.items()):
        la = las[code]
        log = EstablishmentImport.objects.create(
            la=la,
            filename=extract.filename,
            sha256=digest,
            imported_by=acting_user,
            imported_by_name=acting_user.username if acting_user else "command line",
            rows_read=report["rows"],
            added=len(report["added"]),
            changed=len(report["changed"]) - len(report["closed"]),
            closed=len(report["closed"]),
            unchanged=report["unchanged"],
            las_created=int(code in outcome.las_created),
            moved_in=len(report["moved"]),
            moved_out=len(report["moved_out"]),
            report={
                "added": report["added"],
                "changed": report["changed"],
                "closed": report["closed"],
                "moved": report["moved"],
                "moved_out": report["moved_out"],
                "unknown_columns": outcome.unknown_columns,
            },
        )
        outcome.imports.append(log)
        record_event(
            EventType.REGISTER_IMPORTED, acting_user=acting_user, la=la, obj=log,
            summary=f"{extract.filename}: {log.added} added, {log.changed} changed, "
            f"{log.closed} closed, {log.unchanged} unchanged"
            + (f", {log.moved_in} moved in" if log.moved_in else "")
            + (f", {log.moved_out} moved out" if log.moved_out else ""),
            sha256=digest,
        )
    return outcome


def _move_school_users(schools, moved, las, acting_user, filename, events) -> None:
    """A moved school's users go with it to its new LA, audited for both LAs."""
    from keystage.accounts.models import User

    by_id = {school.pk: school for school in schools if school.urn in moved}
    ids = list(by_id)
    users = []
    # One query per chunk for every moved school, not one per school.
    for start in range(0, len(ids), 5000):
        users += User.objects.filter(school_id__in=ids[start : start + 5000]).order_by("pk")
    to_move: dict[int, list[int]] = defaultdict(list)
    for user in users:
        school = by_id[user.school_id]
        if user.la_id == school.la_id:
            continue
        old_code, new_code = moved[school.urn]
        for la in {old_code, new_code}:
            events.append(dict(
                event_type=EventType.USER_SETTINGS_CHANGED, acting_user=acting_user,
                la=las[la], school=school, obj=user,
                summary=f"{user.username} moved with their school ({school.urn}) from LA "
                f"{old_code} to LA {new_code} by {filename}",
                old={"la": old_code}, new={"la": new_code},
            ))
        to_move[school.la_id].append(user.pk)
    for la_id, pks in to_move.items():
        User.objects.filter(pk__in=pks).update(la_id=la_id)


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# Fields an LA administrator may edit by hand in the app.
EDITABLE_FIELDS = (
    "name", "type_name", "phase", "status", "low_age", "high_age", "open_date", "close_date",
    "postcode",
)


@transaction.atomic
def do_update_establishment(
    school: Establishment, changes: dict, *, acting_user, reason: str
) -> dict:
    """Change a school's register details by hand, with the reason; returns what changed."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"these fields cannot be edited: {', '.join(sorted(unknown))}")
    diff = {
        name: (getattr(school, name), value)
        for name, value in changes.items()
        if getattr(school, name) != value
    }
    if not diff:
        return {}
    for name, (_, new) in diff.items():
        setattr(school, name, new)
    school.save(update_fields=[*diff, "updated_at"])
    record_event(
        EventType.ESTABLISHMENT_CHANGED, acting_user=acting_user, la=school.la, school=school,
        obj=school, summary=f"{school.name} ({school.urn}) edited", reason=reason,
        old={k: o for k, (o, _) in diff.items()}, new={k: n for k, (_, n) in diff.items()},
    )
    return diff


def foreign_urn_refusal(urn: str) -> str:
    """The refusal for a URN an LA may not add: it never says whether another LA holds it."""
    return (
        f"URN {urn} cannot be added here. If this setting is in your LA, check the URN; if it "
        "has moved to your LA, ask for a national register update."
    )


@transaction.atomic
def do_add_pvi_setting(
    la: LocalAuthority,
    *,
    urn: str,
    name: str,
    postcode: str = "",
    type_name: str = "Private, voluntary or independent early years setting",
    low_age: int | None = 0,
    high_age: int | None = 5,
    acting_user,
    reason: str = "",
) -> Establishment:
    """Add a private, voluntary or independent early years setting by its EY URN."""
    if not (len(urn) == 6 and urn.isdigit() and urn[0] in "567"):
        raise ValueError("An EY URN has 6 digits and starts with 5, 6 or 7.")
    held = Establishment.objects.filter(urn=urn).first()
    if held is not None and held.la_id == la.pk:
        raise ValueError(f"URN {urn} is already in your register, as {held.name}.")
    if held is not None:
        # Another LA's establishment: the refusal must not tell this LA that another LA holds
        # the URN, so it reads the same whatever the reason (tenancy, issue 9).
        raise ValueError(foreign_urn_refusal(urn))
    school = Establishment.objects.create(
        la=la, urn=urn, estab=None, laestab=None, name=name, type_name=type_name,
        type_group="Other types", phase="Nursery", status="Open", low_age=low_age,
        high_age=high_age, postcode=postcode, is_pvi=True, source=EstablishmentSource.MANUAL,
    )
    record_event(
        EventType.ESTABLISHMENT_ADDED, acting_user=acting_user, la=la, school=school, obj=school,
        summary=f"PVI setting {name} ({urn}) added", reason=reason,
        new={"urn": urn, "name": name, "postcode": postcode, "type_name": type_name},
    )
    return school


@transaction.atomic
def do_set_current_year(la: LocalAuthority, start_year: int, *, acting_user) -> AcademicYear:
    """Set the academic year an LA is working in (2025 means 2025/26)."""
    year, created = AcademicYear.objects.get_or_create(start_year=start_year)
    if created:
        record_event(
            EventType.ACADEMIC_YEAR_ADDED, acting_user=acting_user, la=la, obj=year,
            summary=f"Academic year {year.label} added", new={"start_year": start_year},
        )
    old = la.current_year.label if la.current_year else None
    if la.current_year_id != year.pk:
        la.current_year = year
        la.save(update_fields=["current_year"])
        record_event(
            EventType.LA_CURRENT_YEAR_SET, acting_user=acting_user, la=la, obj=la,
            summary=f"Current academic year set to {year.label}",
            old={"current_year": old}, new={"current_year": year.label},
        )
    return year
