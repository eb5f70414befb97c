"""The intake of every dataset that is not a CTF: census, pupil premium, KS2, KS4, extra fields.

A file's kind is read from its content (keystage.formats.kinds); its reader returns the whole
file as frames, or refuses it. Each file is all or nothing: its submissions (one per school it
covers), pupil records and the dataset's own rows (keystage.context) are written in one
savepoint with one bulk insert per table, and a replacement waits for confirmation as a CTF's
does. Per-school files (the census) replace that school's data for the term; per-LA files
(pupil premium, results, extra fields) replace the LA's data of that dataset and year.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import polars as pl
from django.apps import apps
from django.db import transaction

from keystage import datasets, years
from keystage.audit.log import record_event
from keystage.audit.models import EventType
from keystage.collection.actions import (
    FileOutcome,
    ReadCtf,
    SubmissionChange,
    _edits_overwritten_by_replacing,
    _find_school,
    _retire_pupil_records,
    _store_original,
    _write_rows,
    prepare_ctfs,
    preview_key,
    received_file,
)
from keystage.collection.inputs import InputFile
from keystage.collection.models import (
    PupilRecord,
    Submission,
    SubmissionStatus,
)
from keystage.context.store import DetailRows, Shaped, shape, shape_together
from keystage.core.bulk import bulk_insert_frame, read_frame_in
from keystage.formats.ctf import looks_like_ctf
from keystage.formats.errors import FormatError
from keystage.formats.kinds import SNIFF_BYTES, DatasetFile, FileKind, kind_of
from keystage.formats.stacked import part_ids

# PupilRecord text columns and their limits, checked over the whole frame before anything is
# written, so a long value refuses the file with its row rather than failing in the database.
_TEXT_LIMITS = {"upn": 20, "surname": 100, "forename": 100, "middle_names": 100, "sex": 10,
                "ncyear": 4, "laestab": 7}
_LEAVER_FIELDS = ["submission", "line", "upn", "surname", "forename", "dob", "sex",
                  "entry_date", "leaving_date"]


class _Header:
    """What a DatasetFile's header tells _find_school, in a CTF header's terms."""

    def __init__(self, file: DatasetFile) -> None:
        laestab = file.laestab.strip()
        self.source_la = laestab[:3] if len(laestab) == 7 else ""
        self.source_estab = laestab[3:] if len(laestab) == 7 else ""
        self.source_urn = file.urn.strip()


def _refused(filename: str, message: str, warnings=()) -> FileOutcome:
    return FileOutcome(filename, "refused", f"{filename}: {message}", warnings=list(warnings))


def _check_text(records: pl.DataFrame, filename: str) -> None:
    # One pass for every column; the failing row is looked for only when there is one.
    too_long = [(pl.col(c).str.len_chars() > limit).any() for c, limit in _TEXT_LIMITS.items()]
    if not records.height or not records.select(pl.any_horizontal(too_long)).item():
        return
    for column, limit in _TEXT_LIMITS.items():
        long = records.filter(pl.col(column).str.len_chars() > limit)
        if long.height:
            row = long.row(0, named=True)
            raise FormatError(
                f"the {column.replace('_', ' ')} {row[column][:40]!r} is longer than "
                f"{limit} characters. Correct it and send the file again.",
                filename=filename, line=row["line"],
            )


# The largest whole number each integer column holds (the same on SQLite and PostgreSQL here).
_INT_LIMITS = {"PositiveSmallIntegerField": 32767, "SmallIntegerField": 32767,
               "PositiveIntegerField": 2147483647, "IntegerField": 2147483647}


def _limits(model, fields, frame: pl.DataFrame) -> list[tuple[str, pl.Expr, str]]:
    """(field, expression true for a bad value, what is wrong) for each checked column."""
    checks = []
    for name in fields:
        field = model._meta.get_field(name)
        dtype = frame.schema[name]
        if dtype == pl.String and getattr(field, "max_length", None):
            checks.append((name, pl.col(name).str.len_chars() > field.max_length,
                           f"is longer than {field.max_length} characters"))
        elif dtype.is_integer() and field.get_internal_type() in _INT_LIMITS:
            high = _INT_LIMITS[field.get_internal_type()]
            checks.append((name, (pl.col(name) < 0) | (pl.col(name) > high),
                           f"is not a number from 0 to {high}"))
    return checks


def _fits(frame: pl.DataFrame, model, fields, filename: str, line_of) -> None:
    """Refuse, naming the row, a value too long for its column or a number out of its range:
    SQLite would store it and PostgreSQL refuse it, so the check is Keystage's own."""
    checks = _limits(model, fields, frame)
    if not checks or not frame.height:
        return
    # One pass over the frame for every column; rows are looked up only for a failing one.
    failing = frame.select(pl.any_horizontal([bad.any() for _, bad, _ in checks])).item()
    if not failing:
        return
    for name, bad, problem in checks:
        hits = frame.filter(bad)
        if hits.height:
            row = hits.row(0, named=True)
            label = name.replace("_", " ")
            raise FormatError(f"the {label} {str(row[name])[:40]!r} {problem}. Correct it and "
                              "send the file again.", filename=filename, line=line_of(row))


def _check_details(details, records: pl.DataFrame, filename: str) -> None:
    lines = dict(records.select("key", "line").iter_rows())
    for detail in details:
        _fits(detail.frame, apps.get_model(detail.model), detail.fields, filename,
              lambda row: lines.get(row["key"]))


def _check_leavers(leavers: pl.DataFrame, filename: str) -> None:
    from keystage.context.models import CensusLeaver

    fields = [f for f in _LEAVER_FIELDS[1:] if f in leavers.columns and f != "line"]
    _fits(leavers, CensusLeaver, fields, filename, lambda row: row["line"])


def _year_problem(file: DatasetFile, year: int) -> str:
    if file.year is None or file.year == year:
        return ""
    return (f"the file is for {years.academic_year_label(file.year)}, not "
            f"{years.academic_year_label(year)}. Import it with --year {file.year} (or choose "
            "that year on the upload page), or check you have the right file.")


@dataclass
class Prepared:
    """A file of a chunk read (and shaped and checked) together with others of its kind."""

    file: DatasetFile | Exception  # what reading it gave, or the error reading it raised
    shaped: Shaped | None = None
    checked: bool = False  # its values fit their columns (else import_dataset_file checks)


def prepare_chunk(chunk, *, year: int) -> dict[int, Prepared | ReadCtf]:
    """The files of a chunk whose kind reads several at once (census returns), read, shaped
    and checked together, and its CTFs read and counted together (actions.prepare_ctfs), by
    id() of their InputFile: one set of frame operations for the chunk, not one per file.
    Each file's outcome is what importing it alone would give."""
    by_kind: dict[str, list] = defaultdict(list)
    ctfs = []
    for name, data in chunk:
        if not isinstance(data, InputFile) or not data.size:
            continue
        head = data.head(SNIFF_BYTES)
        if looks_like_ctf(head):
            ctfs.append((name, data))
            continue
        kind = kind_of(head)
        if kind is not None and kind.many:
            by_kind[kind.code].append((kind, data))
    prepared: dict[int, Prepared | ReadCtf] = dict(prepare_ctfs(ctfs, year))
    for files in by_kind.values():
        if len(files) < 2:
            continue
        read = files[0][0].read_many([(d.name, d.reader_source()) for _, d in files],
                                     year=year)
        good = [(d, f) for (_, d), f in zip(files, read, strict=True)
                if not isinstance(f, Exception)]
        shaped = shape_together([f for _, f in good])
        checked = _fit_together(shaped)
        for (_, data), file in zip(files, read, strict=True):
            prepared[id(data)] = Prepared(file)
        for (data, _), rows in zip(good, shaped, strict=True):
            prepared[id(data)].shaped = rows
            prepared[id(data)].checked = checked
    return prepared


def _fit_together(shaped: list[Shaped]) -> bool:
    """True when every value of these files fits its column; else each file is checked alone,
    so a refusal names its own file and row."""
    if not shaped:
        return True
    try:
        records = pl.concat([s.records for s in shaped])
        _check_text(records, "")
        tables: dict[tuple, list[pl.DataFrame]] = defaultdict(list)
        for s in shaped:
            for detail in s.details:
                tables[(detail.model, detail.fields)].append(detail.frame)
        _check_details([DetailRows(model, fields, pl.concat(frames))
                        for (model, fields), frames in tables.items()], records, "")
        leavers = [s.leavers for s in shaped if s.leavers is not None]
        if leavers:
            _check_leavers(pl.concat(leavers), "")
    except FormatError:
        return False
    return True


def import_dataset_file(
    filename: str,
    data: InputFile,
    kind: FileKind,
    *,
    la,
    year: int,
    acting_user,
    confirm_replacements: bool,
    only_school,
    register,
    previewed: dict | None = None,
    options: dict | None = None,
    provisional: bool = False,
    prepared: Prepared | None = None,
) -> FileOutcome:
    """Import one non-CTF file for one LA and assessment year: all of it, or nothing.
    `provisional` marks early results (datasets.Dataset.early_results) until the DfE's file
    replaces them; other datasets ignore it. `prepared` is the file as prepare_chunk read it
    with others of its chunk."""
    if kind.code == "census_csv":
        # The extracts' schools and pupils are the peer's own hashed ids (NativeId, table ids),
        # which name no school of the register: they are read and checked, not stored.
        return FileOutcome(
            filename, "refused",
            f"{filename}: a school census CSV extract ({kind.label}). Keystage reads these "
            "tables but cannot tell from them which school of your register each pupil is "
            "at. Load the schools' census XML returns instead (or a ZIP of them).")
    try:
        if prepared is None:
            file = kind.read(data.reader_source(), filename=filename, year=year,
                             **(options or {}))
        elif isinstance(prepared.file, Exception):
            raise prepared.file
        else:
            file = prepared.file
        problem = _year_problem(file, year)
        if problem:
            return _refused(filename, problem, file.warnings)
        dataset = datasets.dataset(file.dataset)
        shaped = (prepared.shaped if prepared is not None and prepared.shaped is not None
                  else shape(file))
        records, details, leavers = shaped.records, shaped.details, shaped.leavers
        if prepared is None or not prepared.checked:
            _check_text(records, filename)
            _check_details(details, records, filename)
            if leavers is not None:
                _check_leavers(leavers, filename)
    except FormatError as error:
        return FileOutcome(filename, "refused", str(error))

    if dataset.per_school:
        school, refusal = _find_school(_Header(file), la, register)
        if school is None:
            return _refused(filename, refusal.replace("SourceSchool has no LEA and Estab, "
                                                      "and no URN", "no LAESTAB or URN"),
                            file.warnings)
        if only_school is not None and school.pk != only_school.pk:
            return _refused(filename, f"this file is from {school.name}; you can only send "
                            f"files for {only_school.name}.", file.warnings)
        groups = {school: records}
    else:
        if only_school is not None and not dataset.early_results:
            return _refused(filename, f"{dataset.label} files hold pupils of many schools and "
                            "are loaded by the LA. Send it to your LA's data team.",
                            file.warnings)
        groups, refusal = _group_by_school(records, la, register, filename)
        if refusal:
            return _refused(filename, refusal, file.warnings)
        others = [s for s in groups if only_school is not None and s.pk != only_school.pk]
        if others:
            # A school may send its own early results; the LA's file covers every school.
            return _refused(filename, f"this file has pupils of {others[0].name} (LAESTAB "
                            f"{others[0].laestab}); a school sends its own school's results "
                            "only. Remove the other schools' rows, or ask your LA's data "
                            "team to load the whole file.", file.warnings)

    digest = data.sha256
    term = file.term or ""
    whole_la = not dataset.per_school and only_school is None
    named = {school.pk for school in groups}
    if any(current.pk is None and code == dataset.code and current_term == term
           and (whole_la or school_id in named)
           for (school_id, code, current_term), current in register.current.items()):
        # A submission this file may replace is this chunk's, not written yet. (Only then: a
        # chunk of schools' census returns is written in one insert per table, not one each.)
        register.flush()
    changes: list[tuple[SubmissionChange, pl.DataFrame]] = []
    unchanged = 0
    for school, rows in groups.items():
        current = register.current.get((school.pk, dataset.code, term))
        if current is not None and current.file.sha256 == digest:
            unchanged += 1
            continue
        changes.append((SubmissionChange(
            collection=dataset.code, school=school, pupils=rows.height,
            results=_result_count(details, rows, len(groups) == 1), replaces=current,
            term=term,
        ), rows))
    if whole_la:
        # A new LA-wide file replaces the whole of the last one, schools it no longer names too.
        for (school_id, code, current_term), current in list(register.current.items()):
            if code == dataset.code and current_term == term and school_id not in named:
                changes.append((SubmissionChange(
                    collection=dataset.code, school=current.school, pupils=0, results=0,
                    replaces=current, term=term,
                ), None))
    if not changes:
        return FileOutcome(filename, "unchanged", f"{filename}: identical to the {dataset.label} "
                           "file already loaded; nothing changed.", warnings=file.warnings)
    _diff(changes)
    if dataset.code in RESULT_MODELS:
        _result_changes(changes, details, dataset.code)
    if confirm_replacements and previewed is not None:
        for change, _ in changes:
            now = change.replaces.pk if change.replaces else None
            if previewed.get(preview_key(change.school, change.collection, term)) != now:
                return _refused(
                    filename, f"a newer {dataset.label} file arrived since this preview; nothing "
                    "was replaced. Check the newer file, then upload this one again if it "
                    "should still replace it.", file.warnings)
    if any(c.replaces for c, _ in changes) and not confirm_replacements:
        return FileOutcome(
            filename, "needs-confirmation",
            f"{filename}: replaces the {dataset.label} data loaded before. Check the pupils "
            "added and removed, then confirm.",
            changes=[c for c, _ in changes], warnings=file.warnings,
        )
    provisional = provisional and dataset.early_results
    _commit(filename, data, digest, file, dataset, changes, details, leavers, la=la, year=year,
            acting_user=acting_user, register=register, provisional=provisional)
    for change, _ in changes:
        key = (change.school.pk, dataset.code, term)
        if change.submission is not None:
            register.current[key] = change.submission
        else:
            register.current.pop(key, None)
    loaded = [c for c, rows in changes if rows is not None]
    summary = (f"{dataset.label}" + (f" ({years.census_term_label(term)})" if term else "")
               + f": {sum(c.pupils for c in loaded)} pupils at {len(loaded)} "
               + ("school" if len(loaded) == 1 else "schools"))
    if provisional:
        summary += ", provisional (early results)"
    if any(c.replaces for c, _ in changes):
        summary += " (replaced the earlier file)"
    return FileOutcome(filename, "committed", f"{filename}: {summary}",
                       changes=[c for c, _ in changes], warnings=file.warnings)


def _group_by_school(records: pl.DataFrame, la, register, filename: str):
    """Each school's records of an LA-wide file, or a message naming the first unknown school."""
    groups = {}
    for (laestab,), rows in records.group_by(["laestab"], maintain_order=True):
        school = register.find(laestab, None) if laestab else None
        if school is None or school.la_id != la.pk:
            line = rows["line"][0]
            where = f"row {line}: " if line is not None else ""
            if not laestab:
                return {}, (f"{where}the LAESTAB is empty. Every row needs the pupil's school; "
                            "correct the file and import it again.")
            return {}, (f"{where}LAESTAB {laestab} is not a school of LA {la.code} in the "
                        "register. Import the register (GIAS) if the school is new, or remove "
                        "the rows of other LAs' schools, then import the file again.")
        groups[school] = rows.sort("key")
    return groups, ""


def _result_count(details, rows: pl.DataFrame, whole: bool = False) -> int:
    """The rows of the datasets' own tables (census details aside) of these records; `whole`
    when they are every record of the file."""
    if whole:
        return sum(d.frame.height for d in details if d.model not in ("context.CensusDetail",))
    keys = rows["key"]
    return sum(d.frame.filter(pl.col("key").is_in(keys.implode())).height for d in details
               if d.model not in ("context.CensusDetail",))


def _diff(changes) -> None:
    """Added and removed pupils (by UPN) of each replacement, in one query for the file."""
    replaced = {c.replaces.pk: c for c, _ in changes if c.replaces is not None}
    if not replaced:
        return
    old: dict[int, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for submission_id, upn, surname, forename in PupilRecord.objects.filter(
        submission_id__in=list(replaced)
    ).exclude(upn="").values_list("submission_id", "upn", "surname", "forename"):
        old[submission_id].add(upn)
        names[upn] = f"{forename} {surname}".strip()
    for change, rows in changes:
        if change.replaces is None:
            continue
        new = set()
        if rows is not None:
            new = {u for u in rows["upn"].to_list() if u}
            for upn, surname, forename in rows.select("upn", "surname",
                                                      "forename").iter_rows():
                names[upn] = f"{forename} {surname}".strip()
        before = old.get(change.replaces.pk, set())
        change.added = sorted(new - before)
        change.removed = sorted(before - new)
        change.names = {u: names.get(u, "") for u in change.added + change.removed}
        change.la_edits = _edits_overwritten_by_replacing(change.replaces)


# The results datasets whose replacements list each pupil's changed grades: the model of their
# rows and how a row names what was assessed (KS4 subject; KS5 qualification and subject).
RESULT_MODELS = {"ks4": ("context.Ks4Result", ("subject",)),
                 "ks5": ("context.Ks5Result", ("qualification", "subject"))}


def _result_changes(changes, details, dataset: str) -> None:
    """Each replaced pupil's grades that the new file changes, adds or drops (field: the
    subject, old and new grade), so early results replaced by the DfE's file say what changed."""
    model_name, keys = RESULT_MODELS[dataset]
    model = apps.get_model(model_name)
    replaced = [c for c, rows in changes if c.replaces is not None and rows is not None]
    if not replaced:
        return
    new_rows = next((d.frame for d in details if d.model == model_name), None)
    # The replaced files' rows in one read (COPY on PostgreSQL): a national file has millions.
    table, records = model._meta.db_table, PupilRecord._meta.db_table
    old = read_frame_in(
        f"SELECT p.submission_id, p.upn, {', '.join('r.' + k for k in keys)}, r.grade "  # noqa: S608
        f"FROM {table} r JOIN {records} p ON p.id = r.record_id "
        f"WHERE p.submission_id IN ({{values}})", [c.replaces.pk for c in replaced],
        {"submission": pl.Int64, "upn": pl.String, **dict.fromkeys(keys, pl.String),
         "grade": pl.String})
    for change, rows in changes:
        if change.replaces is None or rows is None or new_rows is None:
            continue
        new = new_rows.join(rows.select("key", "upn"), on="key").select(
            "upn", *keys, "grade").with_columns(pl.col(*keys).cast(pl.String))
        before = old.filter(pl.col("submission") == change.replaces.pk).drop("submission")
        both = before.join(new, on=["upn", *keys], how="full", coalesce=True,
                           suffix="_new").filter(
            pl.col("grade").fill_null("") != pl.col("grade_new").fill_null(""))
        # Pupils added or removed whole are listed as such, not grade by grade.
        both = both.filter(~pl.col("upn").is_in(change.added + change.removed))
        names = {u: f"{f} {s}".strip() for u, s, f in
                 rows.select("upn", "surname", "forename").iter_rows()}
        for row in both.sort("upn", *keys).iter_rows(named=True):
            field = " ".join(str(row[k]) for k in keys)
            change.details.append({"upn": row["upn"], "name": names.get(row["upn"], ""),
                                   "field": field, "old": row["grade"] or "",
                                   "new": row["grade_new"] or ""})
        change.changed = sorted({d["upn"] for d in change.details})


def _commit(filename, data, digest, file: DatasetFile, dataset, changes, details, leavers, *,
            la, year, acting_user, register, provisional: bool = False) -> None:
    """Commit a file: in memory, for the chunk to write (register.flush), when it replaces
    nothing; else now, in a savepoint of its own, after what the chunk queued before it."""
    if register.deferred and not any(c.replaces for c, _ in changes):
        _commit_later(filename, data, digest, file, dataset, changes, details, leavers, la=la,
                      year=year, acting_user=acting_user, register=register,
                      provisional=provisional)
        return
    register.flush()  # what came before is written first, so the log keeps its order
    _commit_now(filename, data, digest, file, dataset, changes, details, leavers, la=la,
                year=year, acting_user=acting_user, register=register, provisional=provisional)


def _submission(change, received, file: DatasetFile, dataset, *, la, year, acting_user,
                provisional: bool) -> Submission:
    return Submission(
        la=la, school=change.school, collection=dataset.code, year=year, term=change.term,
        reference_date=file.reference_date, file=received, replaces=change.replaces,
        supplier=file.software[:100], pupil_count=change.pupils,
        result_count=change.results, submitted_by=acting_user,
        submitted_by_name=received.received_by_name, provisional=provisional,
        report={"warnings": file.warnings, "added": change.added,
                "removed": change.removed, "changed": change.changed,
                "details": change.details[:1000], "ignored_rows": 0, "kind": file.kind},
    )


def _submission_event(change, filename, digest, dataset, *, la, year, acting_user,
                      provisional: bool) -> dict:
    """record_event's arguments for a submission added or replaced (obj: the submission)."""
    return dict(
        event_type=(EventType.SUBMISSION_REPLACED if change.replaces
                    else EventType.SUBMISSION_ADDED),
        acting_user=acting_user, la=la, school=change.school,
        summary=f"{dataset.label} {year}"
        + (" (provisional)" if provisional else "")
        + (f" {change.term}" if change.term else "")
        + f" for {change.school.name}: {change.pupils} pupils from {filename}"
        + (f" ({len(change.added)} added, {len(change.removed)} removed)"
           if change.replaces else ""),
        filename=filename, sha256=digest, added=change.added, removed=change.removed,
        la_edits_overwritten=change.la_edits,
    )


def _commit_later(filename, data, digest, file: DatasetFile, dataset, changes, details,
                  leavers, *, la, year, acting_user, register, provisional: bool) -> None:
    """A new file's received file, submissions and audit events built in memory and queued on
    the register: nothing reaches the database until the chunk writes, so a failure leaves
    nothing behind."""
    received = received_file(filename, data, digest, la=la, acting_user=acting_user)
    items, written = [], []
    for change, rows in changes:
        submission = _submission(change, received, file, dataset, la=la, year=year,
                                 acting_user=acting_user, provisional=provisional)
        change.submission = submission
        items.append((submission, _submission_event(
            change, filename, digest, dataset, la=la, year=year, acting_user=acting_user,
            provisional=provisional)))
        written.append((submission, rows))
    # Last: the original is kept (on commit) only for a file that is queued.
    received.stored_path = _store_original(data, digest, register.staged)
    register.unsaved.append((received, items))
    register.pending_files.append(PendingFile(written, details, dataset.code, leavers))


@transaction.atomic
def _commit_now(filename, data, digest, file: DatasetFile, dataset, changes, details, leavers,
                *, la, year, acting_user, register, provisional: bool = False) -> None:
    received = received_file(filename, data, digest, la=la, acting_user=acting_user)
    received.stored_path = _store_original(data, digest, register.staged)
    received.save(force_insert=True)
    written: list[tuple[Submission, pl.DataFrame]] = []
    for change, rows in changes:
        if change.replaces is not None:
            old = change.replaces
            _retire_pupil_records(old)
            PupilRecord.objects.filter(submission=old).delete()
            old.status = SubmissionStatus.REPLACED
            old.save(update_fields=["status"])
        if rows is None:
            record_event(
                EventType.SUBMISSION_REPLACED, acting_user=acting_user, la=la,
                school=change.school, obj=change.replaces,
                summary=f"{dataset.label} {year} for {change.school.name} removed: "
                f"{filename} no longer names the school", filename=filename, sha256=digest,
                removed=change.removed,
            )
            continue
        submission = _submission(change, received, file, dataset, la=la, year=year,
                                 acting_user=acting_user, provisional=provisional)
        submission.save(force_insert=True)
        change.submission = submission
        if change.replaces is not None:
            from keystage.cleaning.models import LaEdit

            LaEdit.objects.filter(submission=change.replaces, overwritten_by=None).update(
                overwritten_by=submission)
        record_event(**_submission_event(change, filename, digest, dataset, la=la, year=year,
                                         acting_user=acting_user, provisional=provisional),
                     obj=submission)
        written.append((submission, rows))
    pending = PendingFile(written, details, dataset.code, leavers)
    if register.deferred:
        # Written and linked once for the whole chunk of the batch: one insert per table.
        register.pending_files.append(pending)
    else:
        _write_rows([], [pending], la_id=la.pk, year=year)


@dataclass
class PendingFile:
    """The rows of one committed file, waiting to be written with the rest of its chunk."""

    written: list  # (submission, records frame) per school
    details: list  # DetailRows
    dataset: str
    leavers: pl.DataFrame | None  # census leavers, kept on the file's (one) submission


# A file record's columns: PupilRecord's, and the matcher's (keystage.pupils.linking).
_FILE_RECORDS = {
    "file": pl.Int64, "key": pl.Int64, "submission": pl.Int64, "school": pl.Int64,
    "collection": pl.String, "line": pl.Int64, "upn": pl.String, "surname": pl.String,
    "forename": pl.String, "middle_names": pl.String, "dob": pl.Date, "sex": pl.String,
    "ncyear": pl.String, "former_upns": pl.String, "slot": pl.String, "la_id": pl.Int64,
    "year": pl.Int64,
}


def file_records(pending: list[PendingFile], *, la_id: int, year: int) -> pl.DataFrame:
    """Every pupil record of these files in write order: PupilRecord's columns, and what the
    matcher reads (a census pupil's former UPN, the dataset, year and term as its slot)."""
    # Stacked first and labelled once (each part's file, submission, school and slot joined
    # from a small frame): one set of frame operations for a chunk's hundreds of returns.
    rows, labels, heights, formers = [], [], [], []
    for i, p in enumerate(pending):
        former = next((d.frame for d in p.details if d.model == "context.CensusDetail"), None)
        former_part = None  # which of `formers` holds this file's former UPNs
        if former is not None:
            former_part = len(formers)
            formers.append(former.select("key", former_upns="former_upn"))
        for submission, frame in p.written:
            rows.append(frame.select(*_RECORD_COLUMNS))
            heights.append(frame.height)
            labels.append((i, submission.pk, submission.school_id, p.dataset,
                           f"{p.dataset}:{year}:{submission.term}", former_part))
    if not rows:
        return pl.DataFrame(schema=_FILE_RECORDS)
    labels = pl.DataFrame(
        labels, orient="row",
        schema={"file": pl.Int64, "submission": pl.Int64, "school": pl.Int64,
                "collection": pl.String, "slot": pl.String, "former_part": pl.Int64})
    combined = pl.concat(rows, how="vertical_relaxed").with_columns(
        part_ids(heights).alias("part"))
    labels = labels.with_row_index("part").with_columns(pl.col("part").cast(pl.Int64))
    combined = combined.join(labels, on="part", how="left", maintain_order="left")
    if formers:
        former_rows = pl.concat(formers, how="vertical_relaxed").with_columns(
            part_ids([f.height for f in formers]).alias("former_part"))
        combined = combined.join(former_rows, on=["former_part", "key"], how="left",
                                 maintain_order="left")
    else:
        combined = combined.with_columns(former_upns=pl.lit(""))
    return combined.with_columns(pl.col("former_upns").fill_null(""),
                                 la_id=pl.lit(la_id, pl.Int64), year=pl.lit(year, pl.Int64)
                                 ).select(list(_FILE_RECORDS)).cast(_FILE_RECORDS)


_RECORD_COLUMNS = ("key", "line", "upn", "surname", "forename", "middle_names", "dob", "sex",
                   "ncyear")


_RECORD_FIELDS = ["id", "submission", "la", "school", "collection", "year", "line", "upn",
                  "surname", "forename", "middle_names", "dob", "dob_text", "sex", "ncyear",
                  "pupil", "link_method", "link_score"]


def write_file_rows(pending: list[PendingFile], records: pl.DataFrame,
                    links: pl.DataFrame) -> None:
    """Write the files' pupil records (`records`: file_records with each one's `record_id`),
    linked as `links` says, then the datasets' own rows and census leavers: one bulk insert per
    table for them all."""
    if not records.height:
        return
    frame = records.join(links, on="record_id", how="left").select(
        pl.col("record_id").alias("id"), "submission", "la_id", "school", "collection",
        "year", pl.col("line").fill_null(0), "upn", "surname", "forename",
        "middle_names", "dob",
        pl.col("dob").dt.strftime("%Y-%m-%d").fill_null("").alias("dob_text"), "sex", "ncyear",
        "pupil_id", pl.col("method").fill_null(""), "score")
    bulk_insert_frame(PupilRecord, _RECORD_FIELDS, frame)
    keys = records.select("file", "key", record="record_id")
    tables: dict[tuple[str, tuple[str, ...]], list[pl.DataFrame]] = defaultdict(list)
    for i, p in enumerate(pending):
        for detail in p.details:
            tables[(detail.model, detail.fields)].append(
                detail.frame.with_columns(file=pl.lit(i, pl.Int64)))
    for (label, fields), frames in tables.items():
        rows = pl.concat(frames).join(keys, on=["file", "key"], how="inner")
        # One CSV COPY a table, written by polars (no Python loop over the rows).
        bulk_insert_frame(apps.get_model(label), ["record", *fields],
                          rows.select("record", *fields))
    leavers = [p.leavers.with_columns(submission=pl.lit(p.written[0][0].pk, pl.Int64))
               for p in pending if p.leavers is not None and p.leavers.height]
    if leavers:
        from keystage.context.models import CensusLeaver

        bulk_insert_frame(CensusLeaver, _LEAVER_FIELDS, pl.concat(leavers).select(
            "submission", pl.col("line").fill_null(0), "upn", "surname", "forename", "dob",
            "sex", "entry_date", "leaving_date"))
