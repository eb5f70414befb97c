"""Every write of the social care returns: loading a return, matching a child, the cohort.

A return is all or nothing: its files are read together (the 903 tables of one batch form one
return), checked, and stored in one transaction with its audit event; a refused return stores
nothing. A new return for the same LA, dataset and collection year replaces the current one
(after confirmation, as any replacement). Children are linked to pupils at once.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl
from django.db import connection, transaction

from keystage import datasets, years
from keystage.audit.log import record_event
from keystage.audit.models import EventType
from keystage.collection.actions import FileOutcome, _store_original
from keystage.collection.inputs import InputFile
from keystage.collection.intake import _fits
from keystage.collection.models import ReceivedFile
from keystage.core.bulk import allocate_ids, bulk_insert_frame
from keystage.formats.care import children_plan, rows_plan
from keystage.formats.errors import FormatError
from keystage.formats.kinds import KINDS, SNIFF_BYTES, DatasetFile, kind_of
from keystage.socialcare.models import (
    CareChild,
    CareFinding,
    CareReturn,
    CareRow,
    CohortChange,
    LookedAfterChange,
    ReturnStatus,
)

logger = logging.getLogger(__name__)

SOCIAL_CARE_KINDS = ("ssda903_csv", "ssda903_xml", "cin_xml")
_CHILD_FIELDS = ["id", "care_return", "la", "child_id", "line", "upn", "former_upn",
                 "upn_unknown", "dob_text", "dob", "sex", "sex_code", "ethnicity", "episodes",
                 "reviews", "missing", "cin_details", "assessments", "cpp_plans",
                 "link_method", "left_unlinked"]


def social_care_kind(head: bytes) -> str | None:
    """The social care file kind of these first bytes, or None for any other file."""
    kind = kind_of(head[:SNIFF_BYTES])
    return kind.code if kind is not None and kind.code in SOCIAL_CARE_KINDS else None


@dataclass
class CareFile:
    """One social care file of a batch, read into memory (returns are small) and closed."""

    name: str
    kind: str
    data: bytes
    sha256: str

    @classmethod
    def take(cls, name: str, source: InputFile, kind: str) -> CareFile:
        try:
            return cls(name, kind, source.read_bytes(), source.sha256)
        finally:
            source.close()


def import_care_files(files: list[CareFile], *, la, year: int, acting_user,
                      confirm_replacements: bool = False, only_school=None,
                      year_from_file: bool = False) -> list[FileOutcome]:
    """Load the social care files of a batch: the 903 tables together, each other file alone.

    With year_from_file (no year was asked for), a CIN census loads for the year it names."""
    if not files:
        return []
    if only_school is not None:
        return [FileOutcome(f.name, "refused", f"{f.name}: social care returns are loaded by "
                            "the LA's data team, not by schools. Nothing was stored.")
                for f in files]
    tables = [f for f in files if f.kind == "ssda903_csv"]
    # One return of each dataset per batch: the 903 CSV tables (the DfE's form) before an XML
    # export, and the first CIN census; another would replace it within the same upload.
    returns = ([tables] if tables else []) + [[f] for f in files if f.kind != "ssda903_csv"]
    outcomes = []
    taken: dict[str, str] = {}
    for group in returns:
        dataset = "cin" if group[0].kind == "cin_xml" else "ssda903"
        if dataset in taken:
            outcomes.extend(_each(group, "skipped", f"this upload already has a "
                                  f"{datasets.dataset(dataset).label} ({taken[dataset]}); "
                                  "one return is loaded at a time. Load this file on its own "
                                  "if it should replace that one."))
            continue
        loaded = _load(group, la=la, year=year, acting_user=acting_user,
                       confirm=confirm_replacements, year_from_file=year_from_file)
        if any(o.status != "refused" for o in loaded):
            taken[dataset] = ", ".join(f.name for f in group)[:80]
        outcomes.extend(loaded)
    return outcomes


def _read(files: list[CareFile], year: int) -> DatasetFile:
    if files[0].kind == "ssda903_csv":
        from keystage.formats.ssda903 import read_ssda903_return

        return read_ssda903_return([(f.name, f.data) for f in files], year=year)
    return KINDS[files[0].kind].read(files[0].data, filename=files[0].name, year=year)


def _each(files: list[CareFile], status: str, message: str, warnings=()) -> list[FileOutcome]:
    """The same outcome for every file of a return (a return is loaded or refused whole)."""
    together = f" (one of the {len(files)} tables of the return)" if len(files) > 1 else ""
    return [FileOutcome(f.name, status, f"{f.name}{together}: {message}",
                        warnings=list(warnings) if i == 0 else []) for i, f in enumerate(files)]


def _load(files: list[CareFile], *, la, year: int, acting_user, confirm: bool,
          year_from_file: bool = False) -> list[FileOutcome]:
    try:
        file = _read(files, year)
    except FormatError as error:
        return _each(files, "refused", f"{error} Nothing from this return was stored.")
    dataset = datasets.dataset(file.dataset)
    label = dataset.label
    if file.la_code and file.la_code != la.code:
        return _each(files, "refused", f"this {label} is from LA {file.la_code[:5]}, not "
                     f"{la.code} ({la.name}). Load it into that LA, or check you chose the right "
                     "file. Nothing was stored.", file.warnings)
    # The CIN header names its year twice (<Year>, <ReferenceDate>) and the two disagree in
    # real files: either is taken. The 903 names none: it is the year it is loaded for.
    named = {file.year} if file.year is not None else set()
    if file.reference_date is not None:
        from keystage.formats.cin import collection_year_of

        named.add(collection_year_of(file.reference_date))
    header = file.frames.get("header")
    if header is not None and header.height and "year" in header.columns:
        stated = str(header["year"][0] or "").strip()
        if stated.isdigit() and len(stated) == 4:
            named.add(int(stated))
    if named and year_from_file:
        year = file.year if file.year is not None else min(named)
    elif named and year not in named:
        shown = " or ".join(str(y) for y in sorted(named))
        return _each(files, "refused", f"this {label} is for the collection year ending 31 "
                     f"March {shown}, not {year}. Import it with --year {min(named)} (or "
                     "choose that year on the upload page). Nothing was stored.", file.warnings)
    # The children and every row in one polars call (it has a fixed cost a call); the rows
    # go unused when the return is refused, unchanged or to be confirmed, as they are small.
    children, rows = pl.collect_all([children_plan(file), rows_plan(file)], engine="in-memory")
    try:
        # Values too long for their column (or counts out of range) refuse the return, named.
        _fits(children, CareChild, [f for f in _CHILD_FIELDS[3:] if f in children.columns],
              file.filename, lambda row: row["line"])
    except FormatError as error:
        return _each(files, "refused", f"{error} Nothing was stored.", file.warnings)
    digest = hashlib.sha256("".join(sorted(f.sha256 for f in files)).encode()).hexdigest()
    current = CareReturn.objects.filter(la=la, dataset=dataset.code, year=year,
                                        status=ReturnStatus.CURRENT).first()
    if current is not None and current.digest == digest:
        return _each(files, "unchanged", f"identical to the {label} already loaded; nothing "
                     "changed.", file.warnings)
    if current is not None and not confirm:
        return _each(files, "needs-confirmation", f"replaces the {label} for "
                     f"{years.academic_year_label(year)} loaded before ({current.children} "
                     f"children); this one has {children.height}. Confirm to replace it.",
                     file.warnings)
    care_return = do_load_care_return(file, files, children, digest=digest, la=la, year=year,
                                      replaces=current, acting_user=acting_user,
                                      rows=rows)
    linked, found = care_return.report["linked"], care_return.report["findings"]
    return _each(files, "committed", f"{label} {years.academic_year_label(year)}: "
                 f"{care_return.children} children, {care_return.rows} rows; {linked} linked "
                 "to pupils" + (" (replaced the earlier return)" if current else "")
                 + (f"; {found} schema findings to fix in the case management system "
                    f"(keystage clean --collection {dataset.code})" if found else ""),
                 file.warnings)


@transaction.atomic
def do_load_care_return(file: DatasetFile, files: list[CareFile], children: pl.DataFrame, *,
                        digest: str, la, year: int, replaces: CareReturn | None,
                        acting_user, rows: pl.DataFrame) -> CareReturn:
    """Store a read return whole (children and rows as read), replace, link and audit it."""
    from keystage.formats.socialcare_checks import check_return
    from keystage.pupils.locks import hold_pupil_identity

    # Its children are linked to the LA's pupils and their ids kept as identifiers.
    hold_pupil_identity(la.pk)

    # On PostgreSQL the schema checks (polars alone, no database) run beside every statement
    # up to the rows' COPY, which mostly wait for the server. SQLite writes in this process a
    # row at a time, handing the interpreter back and forth with a thread beside it: there
    # they run after.
    with ThreadPoolExecutor(max_workers=1) as beside:
        checking = (beside.submit(check_return, file, year)
                    if connection.vendor == "postgresql" else None)
        staged = []
        by = acting_user.username if acting_user else "command line"
        received = ReceivedFile.objects.bulk_create([
            ReceivedFile(la=la, filename=f.name[:255], sha256=f.sha256, size=len(f.data),
                         stored_path=_store_original(
                             InputFile(f.name, data=f.data, sha256=f.sha256), f.sha256, staged),
                         received_by=acting_user, received_by_name=by)
            for f in files])
        if replaces is not None:
            replaces.status = ReturnStatus.REPLACED
            replaces.save(update_fields=["status"])
        care_return = CareReturn.objects.create(
            la=la, dataset=file.dataset, year=year, replaces=replaces, digest=digest,
            reference_date=file.reference_date, software=file.software[:100],
            children=children.height, rows=rows.height, submitted_by=acting_user,
            submitted_by_name=by,
            report={"warnings": file.warnings, "kind": file.kind,
                    "files": [f.name for f in files],
                    "tables": {t: fr.height for t, fr in file.frames.items()}},
        )
        care_return.files.add(*received)
        ids = allocate_ids(CareChild, children.height)
        children = children.select(
            pl.Series("id", ids, dtype=pl.Int64), care_return=pl.lit(care_return.pk, pl.Int64),
            la=pl.lit(la.pk, pl.Int64), child_id="child_id", line=pl.col("line").fill_null(0),
            upn="upn", former_upn="former_upn", upn_unknown="upn_unknown", dob_text="dob_text",
            dob="dob", sex="sex", sex_code="sex_code", ethnicity="ethnicity",
            episodes="episodes", reviews="reviews", missing="missing",
            cin_details="cin_details", assessments="assessments", cpp_plans="cpp_plans",
            link_method=pl.lit(""), left_unlinked=pl.lit(False))
        bulk_insert_frame(CareChild, _CHILD_FIELDS, children)
        # A child named twice keeps the rows with the first of them (one polars call).
        first = children.lazy().select("child_id", child="id").unique(
            "child_id", keep="first", maintain_order=True)
        stored_rows = rows.lazy().join(first, on="child_id", how="left", maintain_order="left")
        bulk_insert_frame(CareRow, ["care_return", "child", "table", "line", "data"],
                          stored_rows.select(care_return=pl.lit(care_return.pk, pl.Int64),
                                             child="child", table="table", line="line",
                                             data="data").collect(engine="in-memory"))
        findings = checking.result() if checking else check_return(file, year)
    bulk_insert_frame(CareFinding, ["care_return", "code", "severity", "table", "line",
                                    "column", "child_id", "value", "message"],
                      findings.select(care_return=pl.lit(care_return.pk, pl.Int64), code="code",
                                      severity="severity", table="table",
                                      line=pl.col("line").fill_null(0),
                                      column=pl.col("column").str.slice(0, 60),
                                      child_id=pl.col("child").fill_null("").str.slice(0, 40),
                                      value="value", message="message"))
    from keystage.socialcare.linking import link_care_return

    linked = link_care_return(care_return, children)
    care_return.report.update(findings=findings.height, linked=linked)
    care_return.save(update_fields=["report"])
    record_event(
        EventType.CARE_RETURN_REPLACED if replaces else EventType.CARE_RETURN_LOADED,
        acting_user=acting_user, la=la, obj=care_return,
        summary=f"{datasets.dataset(file.dataset).label} {years.academic_year_label(year)}: "
        f"{children.height} children, {rows.height} rows from "
        f"{', '.join(f.name for f in files)[:200]}; {linked} linked to pupils",
        files=[f.name for f in files], sha256=digest,
    )
    return care_return


@transaction.atomic
def do_match_care_child(child: CareChild, pupil, *, acting_user, reason: str = "") -> CareChild:
    """Link an unlinked (or wrongly linked) child to a pupil of the LA, by an officer; refused
    (keystage.pupils.actions.IdentityRefused) if the pupil was merged away meanwhile."""
    from keystage.pupils.actions import current_pupil, hold_identity_for_officer
    from keystage.socialcare.linking import add_child_identifiers

    hold_identity_for_officer(child.la_id)
    pupil = current_pupil(pupil.pk)

    old = child.pupil_id
    child.pupil = pupil
    child.link_method = "confirmed"
    child.link_score = 1.0
    child.left_unlinked = False
    child.save(update_fields=["pupil", "link_method", "link_score", "left_unlinked"])
    add_child_identifiers([child])
    record_event(EventType.CARE_CHILD_MATCHED, acting_user=acting_user, la=child.la,
                 obj=child, summary=f"{child.care_return.get_dataset_display()} child "
                 f"{child.child_id} matched to pupil {pupil.pk}", reason=reason,
                 old={"pupil": old}, new={"pupil": pupil.pk})
    return child


@transaction.atomic
def do_leave_care_child(child: CareChild, *, acting_user, reason: str) -> CareChild:
    """Record that an officer looked at an unlinked child and left them unlinked."""
    child.left_unlinked = True
    child.save(update_fields=["left_unlinked"])
    record_event(EventType.CARE_CHILD_LEFT, acting_user=acting_user, la=child.la, obj=child,
                 summary=f"{child.care_return.get_dataset_display()} child {child.child_id} "
                 "left unlinked", reason=reason)
    return child


@transaction.atomic
def do_record_care_change(la, *, child_id: str, change: str, on, reason: str, acting_user,
                          pupil=None) -> LookedAfterChange:
    """A child came into or left care since the last 903: the cohort changes at once."""
    if change not in CohortChange.values:
        raise ValueError(f"unknown change {change!r}")
    made = LookedAfterChange.objects.create(la=la, child_id=child_id[:40], pupil=pupil,
                                            change=change, on=on, reason=reason[:300],
                                            made_by=acting_user)
    record_event(EventType.CARE_COHORT_CHANGED, acting_user=acting_user, la=la, obj=made,
                 summary=f"child {child_id}: {CohortChange(change).label.lower()} on "
                 f"{on.isoformat()}", reason=reason,
                 new={"child_id": child_id, "change": change, "on": on.isoformat(),
                      "pupil": pupil.pk if pupil else None})
    return made
