"""Importing statutory assessment files: each file all or nothing, replacements confirmed."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from keystage.audit.log import record_event, record_events
from keystage.audit.models import EventType
from keystage.collection.derive import derive_measures
from keystage.collection.inputs import (  # noqa: F401 (iter_input_files: used by callers)
    InputFile,
    close_all,
    iter_input_files,
    scratch_folder,
)
from keystage.collection.models import (
    AssessmentResult,
    PupilRecord,
    ReceivedFile,
    RetiredPupilRecord,
    Submission,
    SubmissionStatus,
)
from keystage.core.bulk import allocate_ids, bulk_insert, bulk_insert_frame
from keystage.core.inputs import check_text
from keystage.core.statistics import refresh_statistics
from keystage.formats.assessment_spec import components
from keystage.formats.cohorts import sniff_cohorts
from keystage.formats.ctf import (
    PUPIL_COLUMNS,
    WHOLE_FILE_MAX_BYTES,
    CtfFrames,
    CtfReader,
    latest_expr,
    looks_like_ctf,
    read_ctf_frames,
)
from keystage.formats.errors import FormatError
from keystage.formats.kinds import KINDS, SNIFF_BYTES, kind_of
from keystage.formats.stacked import batches, part_ids
from keystage.pupils.locks import hold_pupil_identity
from keystage.schools.models import Establishment, LocalAuthority

logger = logging.getLogger("keystage.collection")

# Phonics outcome codes a file may send beside the mark; the mark wins (encodings.md s.1).
PHONICS_OUTCOMES = {"WA", "WT"}


@dataclass
class SubmissionChange:
    """What committing one collection of one file does to that school's data."""

    collection: str
    school: Establishment
    pupils: int
    results: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    replaces: Submission | None = None
    submission: Submission | None = None
    # LA edits to the replaced data that the new file overwrites: dicts of upn, field,
    # old_value, new_value, edited_by, edited_at (ISO), reason.
    la_edits: list[dict] = field(default_factory=list)
    # Field-level differences of changed pupils: dicts of upn, name, field, old, new.
    details: list[dict] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # upn -> pupil's name
    term: str = ""  # the census term; empty for every other dataset


@dataclass
class FileOutcome:
    """What happened to one file of a batch."""

    filename: str
    status: str  # committed | unchanged | needs-confirmation | refused | skipped
    message: str
    changes: list[SubmissionChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # A stale preview: the submission that arrived since, for the page to link to.
    newer: Submission | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("committed", "unchanged", "needs-confirmation")


@dataclass
class _CollectionRows:
    """One collection's pupils and result rows, as frames (of one file, or of a chunk's files
    with `part` telling them apart).

    `records`: a row per pupil in file order (`pupil`, the pupil's index in its file, line, upn,
    surname, forename, middle_names, dob, dob_text, sex, ncyear, and the derived measures);
    `results`: the pupils' rows of the collection and year in file order (`pupil`, the CTF
    row's fields, `is_latest`).
    """

    records: pl.DataFrame
    results: pl.DataFrame


@dataclass
class _FileCollection:
    """One collection of a read file, whose rows are worked out with the rest of its chunk."""

    frames: CtfFrames
    collection: str


def _latest(by: tuple[str, ...]) -> pl.Expr:
    """Which rows are the latest R row of their component; a phonics outcome code (WA, WT)
    counts only for a component with no mark (rows in file order by `position`)."""
    outcome = pl.col("result").str.to_uppercase().is_in(sorted(PHONICS_OUTCOMES))
    has_mark = ((pl.col("status") == "R") & ~outcome).any().over(
        *by, "stage", "subject", "method", "component", "year")
    return (latest_expr(by=(*by, outcome)) & (~outcome | ~has_mark)).alias("is_latest")


_MEASURES = {"gld": pl.Boolean, "elgs_expected": pl.Int64, "phonics_met": pl.Boolean,
             "mtc_full_marks": pl.Boolean}
_SPEC_KEY = ["stage", "subject", "method", "component"]


@functools.cache
def _spec(year: int) -> pl.DataFrame:
    """Each (stage, subject, method, component) of a statutory collection in `year`, and its
    collection: component_for's answer for the upper-cased codes both readers give."""
    found: dict[tuple[str, str, str, str], str] = {}
    for c in components():
        if c.applies_in(year):
            found.setdefault((c.stage, c.subject, c.method, c.component), c.collection)
    return pl.DataFrame([(*key, collection) for key, collection in found.items()],
                        orient="row", schema={"stage": pl.String, "subject": pl.String,
                                              "method": pl.String, "component": pl.String,
                                              "collection": pl.String})


Counts = tuple[dict[str, tuple[int, int]], int]


def _counts(frames: CtfFrames, year: int) -> Counts:
    """(pupils, result rows) of each collection in the file's `year` results, and the count of
    rows of other years or assessments (ignored)."""
    return _counts_of_many([frames], year)[0]


def _counts_of_many(many: list[CtfFrames], year: int) -> list[Counts]:
    """_counts of each of several files, in one plan: a chunk of small files pays polars'
    fixed cost per plan once, not once a file."""
    rows = pl.concat([f.rows.select("pupil", "year", *_SPEC_KEY) for f in many],
                     rechunk=False).hstack([part_ids([f.rows.height for f in many])])
    counts = (rows.lazy().filter(pl.col("year") == year)
              .join(_spec(year).lazy(), on=_SPEC_KEY, how="inner")
              .group_by("part", "collection")
              .agg(pl.col("pupil").n_unique().alias("pupils"), pl.len().alias("rows"))
              .collect())
    found: list[dict[str, tuple[int, int]]] = [{} for _ in many]
    for part, collection, pupils, count in counts.iter_rows():
        found[part][collection] = (pupils, count)
    return [(by_collection, f.rows.height - sum(n for _, n in by_collection.values()))
            for f, by_collection in zip(many, found, strict=True)]


@dataclass
class ReadCtf:
    """A CTF of a chunk read before the chunk's transaction, with its collections counted
    together with the other files' (prepare_ctfs)."""

    frames: CtfFrames
    counts: Counts


def prepare_ctfs(ctfs: list[tuple[str, InputFile]], year: int) -> dict[int, ReadCtf]:
    """A chunk's CTFs read (the small ones), by id() of their InputFile, and counted in one
    plan. A file the reader refuses is left out: importing it reads it again and gives its own
    refusal."""
    read: list[tuple[InputFile, CtfFrames]] = []
    for name, data in ctfs:
        if data.size > WHOLE_FILE_MAX_BYTES:
            continue
        try:
            read.append((data, _read_ctf(name, data)))
        except Exception:  # noqa: BLE001 (refused or not, the file's own import says why)
            continue
    if not read:
        return {}
    counted = _counts_of_many([frames for _, frames in read], year)
    return {id(data): ReadCtf(frames, counts)
            for (data, frames), counts in zip(read, counted, strict=True)}


def _collection_rows(items: list[_FileCollection], year: int) -> _CollectionRows:
    """The records and results of each item (its file's rows of its collection and year),
    stacked with `part` (the item's index): latest rows and derived measures decided for all
    at once, so a chunk of small files pays polars' fixed cost per plan once.

    derive_measures runs once per distinct set of latest results (pupils share them), not once
    per pupil.
    """
    parts = pl.DataFrame([pl.Series("part", range(len(items)), dtype=pl.Int64),
                          pl.Series("collection", [i.collection for i in items],
                                    dtype=pl.String)])
    rows = pl.concat([i.frames.rows for i in items], rechunk=False).hstack(
        [part_ids([i.frames.rows.height for i in items])])
    pupils = pl.concat([i.frames.pupils for i in items], rechunk=False).hstack(
        [part_ids([i.frames.pupils.height for i in items])])
    kept = (rows.lazy().with_row_index("position").filter(pl.col("year") == year)
            .join(parts.lazy(), on="part", how="left", maintain_order="left")
            .join(_spec(year).lazy(), on=[*_SPEC_KEY, "collection"], how="inner",
                  maintain_order="left")
            .with_columns(_latest(("part", "pupil"))))
    # Each pupil's latest results as one text: component \x01 result, sorted, \x02 between
    # (neither byte can be in XML text).
    latest = (kept.filter("is_latest").group_by("part", "pupil")
              .agg(pl.concat_str("component", pl.lit("\x01"), "result").sort()
                   .str.join("\x02").alias("latest")))
    pairs = (kept.select("part", "pupil", "collection").unique(maintain_order=True)
             .join(latest, on=["part", "pupil"], how="left", maintain_order="left")
             .with_columns(pl.col("latest").fill_null("")))
    kept, pairs = pl.collect_all([kept.drop("position", "collection"), pairs])
    measures = []
    for collection, text in set(zip(pairs["collection"], pairs["latest"], strict=True)):
        found = (item.split("\x01", 1) for item in text.split("\x02")) if text else ()
        m = derive_measures(collection, dict(found))
        measures.append((collection, text, m.gld, m.elgs_expected, m.phonics_met,
                         m.mtc_full_marks))
    table = pl.DataFrame(measures, orient="row", schema={
        "collection": pl.String, "latest": pl.String, **_MEASURES})
    records = (pairs.lazy()
               .join(table.lazy(), on=["collection", "latest"], how="left", maintain_order="left")
               .join(pupils.lazy().with_columns(pl.col("ncyear").fill_null("")),
                     on=["part", "pupil"], how="left", maintain_order="left")
               .select("part", *PUPIL_COLUMNS, *_MEASURES).collect())
    return _CollectionRows(records, kept)


class _Register:
    """The LA's establishments and current submissions, read once per batch, not per file."""

    def __init__(self, la: LocalAuthority, year: int, *, deferred: bool = False) -> None:
        self.la = la
        self.year = year
        # With deferred set, committed submissions leave their rows in `pending`, for the
        # batch to load a whole chunk at once.
        self.deferred = deferred
        self.pending: list[_PendingRows] = []
        # Non-CTF files committed in this chunk whose rows wait for the chunk's inserts.
        self.pending_files: list = []
        # New CTFs of this chunk committed in memory: (received file, [(submission, audit
        # event)]), written by flush() in the order they came.
        self.unsaved: list[tuple[ReceivedFile, list[tuple[Submission, dict]]]] = []
        self.failed = False
        # Originals copied aside for this batch, moved into place when their import commits.
        self.staged: list[Path] = []
        self.by_laestab: dict[str, list[Establishment]] = defaultdict(list)
        self.by_urn: dict[str, Establishment] = {}
        for school in Establishment.objects.filter(la=la).select_related("la"):
            self.by_urn[school.urn] = school
            if school.laestab:
                self.by_laestab[school.laestab].append(school)
        # (school, dataset, census term or "") -> the current submission.
        self.current: dict[tuple[int, str, str], Submission] = {
            (s.school_id, s.collection, s.term): s
            for s in Submission.objects.filter(
                la=la, year=year, status=SubmissionStatus.CURRENT
            ).select_related("file")
        }

    def flush(self) -> None:
        """Write the files committed in memory: their received files, submissions and audit
        events, one insert per table (a school's file would otherwise cost a savepoint and
        three inserts, each a round trip to the database)."""
        if not self.unsaved:
            return
        files, self.unsaved = self.unsaved, []
        try:
            ReceivedFile.objects.bulk_create([received for received, _ in files])
            # Each submission takes its file's new key as it is inserted.
            Submission.objects.bulk_create([s for _, items in files for s, _ in items])
            record_events([{**event, "obj": s} for _, items in files for s, event in items])
        except Exception:
            # Not one file's failure: do_import_files loads the chunk again file by file.
            self.failed = True
            raise

    def find(self, laestab: str | None, urn: str | None) -> Establishment | None:
        if laestab:
            candidates = self.by_laestab.get(laestab)
            if not candidates:
                return None
            # An academy converter keeps its predecessor's LAESTAB: prefer the open one.
            return sorted(candidates, key=lambda s: not s.is_open)[0]
        return self.by_urn.get(urn) if urn else None


def _find_school(header, la: LocalAuthority, register: _Register | None = None):
    """The sending school from the CTF header, or a message saying why it is refused."""
    if header.source_la and header.source_estab:
        laestab = f"{header.source_la}{header.source_estab}"
        label = f"LAESTAB {laestab}"
        school = register.find(laestab, None) if register else None
        if school is None:
            candidates = list(
                Establishment.objects.filter(laestab=laestab).select_related("la")
            )
            candidates.sort(key=lambda s: not s.is_open)
            school = candidates[0] if candidates else None
    elif header.source_urn:
        label = f"URN {header.source_urn}"
        school = register.find(None, header.source_urn) if register else None
        if school is None:
            school = (
                Establishment.objects.filter(urn=header.source_urn).select_related("la").first()
            )
    else:
        return None, ("the header names no school (SourceSchool has no LEA and Estab, and no "
                      "URN). Ask the school to export the file again from its MIS.")
    if school is None:
        return None, (f"the sending school ({label}) is not in the schools register. Add it "
                      "(GIAS import, or a PVI setting by hand), then import the file again.")
    if school.la_id != la.pk:
        return None, (f"the sending school {school.name} ({label}) belongs to another local "
                      f"authority ({school.la.code}), not {la.code}. Nothing was loaded.")
    if not school.is_open:
        return None, (f"the sending school {school.name} ({label}) is closed in the register. "
                      "Check the header; if it has reopened, update the register first.")
    return school, ""


def _store_original(source: InputFile, digest: str, staged: list[Path]) -> str:
    """Where the original will be kept; it is moved there only when the import commits."""
    relative = f"received/{digest[:2]}/{digest}"
    final = Path(settings.MEDIA_ROOT) / relative
    if final.exists():
        return relative
    # Copied aside now (a rollback leaves only this, which the batch deletes), and moved into
    # place (atomically: never a half-written original under the final name) on commit.
    part = source.copy_to(scratch_folder())
    staged.append(part)

    def move_into_place() -> None:
        if final.exists():
            part.unlink(missing_ok=True)
            return
        if not final.parent.is_dir():
            final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, final)

    transaction.on_commit(move_into_place)
    return relative


def discard_uncommitted_originals(staged: list[Path]) -> None:
    """Delete originals copied aside whose import rolled back (once no transaction is open)."""
    if connection.in_atomic_block:
        return  # an outer transaction may still commit them
    for part in staged:
        part.unlink(missing_ok=True)
    staged.clear()
# A pupil's text fields and the PupilRecord columns they go into.
_PUPIL_TEXT = (("upn", "UPN"), ("surname", "Surname"), ("forename", "Forename"),
               ("middle_names", "MiddleNames"), ("dob_text", "DOB"), ("sex", "Sex"),
               ("ncyear", "NCyearActual"))


def _check_pupil_fits(pupil, filename: str) -> None:
    """Refuse the file, naming the pupil's line, when a value would not fit its column."""
    for attr, element in _PUPIL_TEXT:
        value = getattr(pupil, attr) or ""
        limit = PupilRecord._meta.get_field(attr).max_length
        problem = check_text(value, max_length=limit, what=f"The pupil's <{element}>")
        if problem:
            raise FormatError(problem, filename=filename, line=pupil.line, column=element)


def _read_ctf(filename: str, data: InputFile) -> CtfFrames:
    """The file's pupils and rows: read whole when small, else (and whenever the whole-file
    reader refuses it) by the streaming reader, whose refusal is the file's."""
    if data.size <= WHOLE_FILE_MAX_BYTES:
        try:
            frames = read_ctf_frames(data.reader_source(), filename=filename, row_lines=False)
            _check_pupils_fit(frames.pupils, filename)
            return frames
        except FormatError:
            pass  # read again below: the message, line and column are the streaming reader's
    with CtfReader(data.reader_source(), filename=filename) as reader:
        pupils = []
        for pupil in reader.pupils():
            _check_pupil_fits(pupil, filename)
            pupils.append(pupil)
        return CtfFrames.from_pupils(reader.header, reader.warnings, pupils)


def _check_pupils_fit(pupils: pl.DataFrame, filename: str) -> None:
    """Refuse the file when a pupil's value would not fit its column (the streaming read then
    names the pupil, as _check_pupil_fits does)."""
    # Plain Python over a school's few dozen pupils: a polars plan per file cost more than the
    # check itself (its fixed cost, paid for every file of a batch).
    for attr, limit in _pupil_limits():
        for value in pupils.get_column(attr).to_list():
            if value and (len(value) > limit or "\x00" in value):
                raise FormatError("a pupil's value does not fit its column", filename=filename)


@functools.cache
def _pupil_limits() -> tuple[tuple[str, int], ...]:
    """Each checked pupil column and its length limit."""
    return tuple((attr, PupilRecord._meta.get_field(attr).max_length) for attr, _ in _PUPIL_TEXT)


def import_ctf(
    filename: str,
    data: bytes | InputFile,
    *,
    la: LocalAuthority,
    year: int,
    acting_user,
    confirm_replacements: bool = False,
    only_school: Establishment | None = None,
    register: _Register | None = None,
    previewed: dict[str, int | None] | None = None,
    read: ReadCtf | None = None,
) -> FileOutcome:
    """Import one CTF for one LA and assessment year: all of it, or nothing (`read`: the
    file already read with its chunk)."""
    own_register = register is None
    register = register or _Register(la, year)
    source = InputFile.of(filename, data)
    try:
        return _import_ctf(filename, source, la=la, year=year, acting_user=acting_user,
                           confirm_replacements=confirm_replacements, only_school=only_school,
                           register=register, previewed=previewed, read=read)
    finally:
        if own_register:
            discard_uncommitted_originals(register.staged)


def _import_ctf(filename, data: InputFile, *, la, year, acting_user, confirm_replacements,
                only_school, register: _Register, previewed=None,
                read: ReadCtf | None = None) -> FileOutcome:
    if read is None:
        try:
            frames = _read_ctf(filename, data)
        except FormatError as error:
            return FileOutcome(filename, "refused", f"{error}")
        counts = None
    else:
        frames, counts = read.frames, read.counts
    header = frames.header
    warnings = list(frames.warnings)
    school, refusal = _find_school(header, la, register)
    if school is None:
        return FileOutcome(filename, "refused", f"{filename}: {refusal}", warnings=warnings)
    if only_school is not None and school.pk != only_school.pk:
        return FileOutcome(filename, "refused",
                           f"{filename}: this file is from {school.name}; you can only "
                           f"send files for {only_school.name}.", warnings=warnings)
    by_collection, ignored_rows = counts if counts is not None else _counts(frames, year)

    if not by_collection:
        return FileOutcome(
            filename, "skipped",
            f"{filename}: no {year} statutory assessment results in this file "
            f"({ignored_rows} rows of other years or assessments). Check the year, or that "
            "the school exported the right assessments.", warnings=warnings,
        )

    digest = data.sha256
    changes: list[SubmissionChange] = []
    unchanged = []
    if any((c := register.current.get((school.pk, collection, ""))) is not None and c.pk is None
           for collection in by_collection):
        register.flush()  # the school's current file is this chunk's, not written yet
    for collection, (pupil_count, result_count) in sorted(by_collection.items()):
        current = register.current.get((school.pk, collection, ""))
        if current is not None and current.file.sha256 == digest:
            unchanged.append(collection)
            continue
        change = SubmissionChange(
            collection=collection, school=school, pupils=pupil_count, results=result_count,
            replaces=current,
        )
        pupils = _FileCollection(frames, collection)
        if current is not None:
            _diff_with_current(change, _collection_rows([pupils], year), current)
        changes.append((change, pupils))

    if confirm_replacements and previewed is not None:
        # A confirmation applies only what was previewed: if the school's current file is
        # no longer the one the preview compared against, the preview is stale.
        for change, _ in changes:
            seen = previewed.get(preview_key(school, change.collection))
            now = change.replaces.pk if change.replaces else None
            if seen != now:
                return FileOutcome(
                    filename, "refused",
                    f"{filename}: a newer file arrived from {school.name} since this preview "
                    f"({change.collection.upper()}); nothing was replaced. Check the newer "
                    "file, then upload this one again if it should still replace it.",
                    warnings=warnings, newer=change.replaces,
                )
    if not changes:
        return FileOutcome(filename, "unchanged",
                           f"{filename}: identical to the file already loaded for "
                           f"{school.name}; nothing changed.", warnings=warnings)
    if any(change.replaces for change, _ in changes) and not confirm_replacements:
        return FileOutcome(
            filename, "needs-confirmation",
            f"{filename}: replaces the data {school.name} sent before. Check the pupils "
            "added, removed and changed, then confirm.",
            changes=[c for c, _ in changes], warnings=warnings,
        )
    _commit(filename, data, digest, school, la, year, changes, acting_user, warnings,
            ignored_rows, header, register)
    for change, _ in changes:
        register.current[(school.pk, change.collection, "")] = change.submission
    summary = "; ".join(
        f"{c.collection}: {c.pupils} pupils" + (" (replaced the earlier file)" if c.replaces
                                                  else "")
        for c, _ in changes
    )
    return FileOutcome(filename, "committed", f"{filename}: {school.name}: {summary}",
                       changes=[c for c, _ in changes], warnings=warnings)


def preview_key(school: Establishment, collection: str, term: str = "") -> str:
    """The key under which a preview records the school's current submission."""
    return f"{school.pk}:{collection}" + (f":{term}" if term else "")


PREVIEW_FIELDS = [("surname", "surname"), ("forename", "forename"),
                  ("dob_text", "date of birth"), ("sex", "sex"), ("ncyear", "year group")]


def _row_key(stage, subject, method, component, status, qualifier, result, result_date):
    """One result row as stored (fields cut to the columns' lengths), for comparing files."""
    return (stage[:3], subject[:3], method[:3], component[:3], status[:1], qualifier[:2],
            result[:9], result_date.isoformat() if result_date else "")


def _diff_with_current(change: SubmissionChange, pupils, current: Submission) -> None:
    """Every pupil field and every result row of the new file against the current one."""
    old_rows: dict[int, list] = defaultdict(list)
    old_latest: dict[int, dict[str, str]] = defaultdict(dict)
    for pupil_id, *row, is_latest in (
        AssessmentResult.objects.filter(pupil__submission=current)
        .values_list("pupil_id", "stage", "subject", "method", "component", "status",
                     "qualifier", "result", "result_date", "is_latest")
    ):
        old_rows[pupil_id].append(_row_key(*row))
        if is_latest:
            old_latest[pupil_id][row[3]] = row[6]
    old: dict[str, dict] = {}
    for p in current.pupils.all().values("id", "upn", *[f for f, _ in PREVIEW_FIELDS]):
        old[p["upn"]] = {"fields": {f: p[f] or "" for f, _ in PREVIEW_FIELDS},
                         "latest": old_latest[p["id"]], "rows": sorted(old_rows[p["id"]]),
                         "name": f"{p['forename']} {p['surname']}".strip()}
    new_rows: dict[int, list] = defaultdict(list)
    new_latest: dict[int, dict[str, str]] = defaultdict(dict)
    for pupil, stage, subject, method, component, status, qualifier, result, when, latest in (
        pupils.results.select("pupil", "stage", "subject", "method", "component", "status",
                              "qualifier", "result", "result_date", "is_latest").iter_rows()
    ):
        new_rows[pupil].append(_row_key(stage, subject, method, component, status, qualifier,
                                        result, when))
        if latest:
            new_latest[pupil][component[:3]] = result[:9]
    new: dict[str, dict] = {}
    for pupil, upn, surname, forename, dob_text, sex, ncyear in pupils.records.select(
            "pupil", "upn", "surname", "forename", "dob_text", "sex", "ncyear").iter_rows():
        new[upn] = {
            "fields": {"surname": surname[:100], "forename": forename[:100],
                       "dob_text": dob_text[:30], "sex": sex[:10], "ncyear": ncyear[:4]},
            "latest": new_latest[pupil], "rows": sorted(new_rows[pupil]),
            "name": f"{forename} {surname}".strip(),
        }
    change.la_edits = _edits_overwritten_by_replacing(current)
    change.added = sorted(set(new) - set(old))
    change.removed = sorted(set(old) - set(new))
    change.names = {upn: (new.get(upn) or old[upn])["name"] for upn in set(new) | set(old)}
    for upn in sorted(set(new) & set(old)):
        before, after = old[upn], new[upn]
        details = [
            {"upn": upn, "name": after["name"], "field": label,
             "old": before["fields"][f], "new": after["fields"][f]}
            for f, label in PREVIEW_FIELDS if before["fields"][f] != after["fields"][f]
        ]
        for component in sorted(set(before["latest"]) | set(after["latest"])):
            was, now = before["latest"].get(component, ""), after["latest"].get(component, "")
            if was != now:
                details.append({"upn": upn, "name": after["name"], "field": component,
                                "old": was, "new": now})
        if before["rows"] != after["rows"] and not details:
            # The results that count are the same, but rows were added or removed (a
            # superseded result, a phonics outcome code beside a mark): still a change.
            details.append({"upn": upn, "name": after["name"], "field": "result rows",
                            "old": str(len(before["rows"])), "new": str(len(after["rows"]))})
        if details:
            change.changed.append(upn)
            change.details.extend(details)


def _edits_overwritten_by_replacing(current: Submission) -> list[dict]:
    """The LA's edits to a submission, which a replacement from the school overwrites."""
    from keystage.cleaning.models import LaEdit

    return [
        {"upn": e.upn, "field": e.field, "old_value": e.old_value, "new_value": e.new_value,
         "edited_by": e.edited_by_name, "edited_at": e.edited_at.isoformat(timespec="minutes"),
         "reason": e.reason}
        for e in LaEdit.objects.filter(submission=current, overwritten_by=None).order_by("id")
    ]


def _commit(filename, data, digest, school, la, year, changes, acting_user, warnings,
            ignored_rows, header, register=None):
    """Commit a file's submissions: in memory, for the chunk to write, when the file replaces
    nothing; else now, each file in a savepoint of its own."""
    if register is not None and register.deferred and not any(c.replaces for c, _ in changes):
        _commit_later(filename, data, digest, school, la, year, changes, acting_user,
                      warnings, ignored_rows, header, register)
    else:
        if register is not None:
            register.flush()  # what came before is written first, so the log keeps its order
        _commit_now(filename, data, digest, school, la, year, changes, acting_user, warnings,
                    ignored_rows, header, register)


def _submission_of(change, school, la, year, received, header, acting_user, warnings,
                   ignored_rows) -> Submission:
    return Submission(
        la=la, school=school, collection=change.collection, year=year, file=received,
        replaces=change.replaces, ctf_version=(header.version or "")[:10],
        supplier=header.supplier[:100], pupil_count=change.pupils,
        result_count=change.results, submitted_by=acting_user,
        submitted_by_name=received.received_by_name,
        report={"warnings": warnings, "added": change.added, "removed": change.removed,
                "changed": change.changed, "ignored_rows": ignored_rows},
    )


def _submission_event(change, school, la, year, filename, digest, acting_user) -> dict:
    """record_event's arguments for a submission added or replaced (its obj set by caller)."""
    return dict(
        event_type=(EventType.SUBMISSION_REPLACED if change.replaces
                    else EventType.SUBMISSION_ADDED),
        acting_user=acting_user, la=la, school=school,
        summary=f"{change.collection.upper()} {year} from {school.name}: "
        f"{change.pupils} pupils from {filename}"
        + (f" ({len(change.added)} added, {len(change.removed)} removed, "
           f"{len(change.changed)} changed"
           + (f", {len(change.la_edits)} LA edits overwritten" if change.la_edits else "")
           + ")" if change.replaces else ""),
        filename=filename, sha256=digest, added=change.added, removed=change.removed,
        changed=change.changed, la_edits_overwritten=change.la_edits,
    )


def received_file(filename: str, data: InputFile, digest: str, *, la, acting_user
                  ) -> ReceivedFile:
    """The record of a file received from someone (not saved; its stored_path comes when the
    original is kept)."""
    return ReceivedFile(
        la=la, filename=filename[:255], sha256=digest, size=data.size, received_by=acting_user,
        received_by_name=acting_user.username if acting_user else "command line",
    )


def _commit_later(filename, data, digest, school, la, year, changes, acting_user, warnings,
                  ignored_rows, header, register):
    """A new file's submissions built in memory and queued on the register (flush() writes
    them with the chunk); nothing reaches the database, so a failure leaves nothing behind."""
    received = received_file(filename, data, digest, la=la, acting_user=acting_user)
    items, rows = [], []
    for change, pupils in changes:
        submission = _submission_of(change, school, la, year, received, header, acting_user,
                                    warnings, ignored_rows)
        items.append((submission, _submission_event(change, school, la, year, filename,
                                                    digest, acting_user)))
        rows.append(_PendingRows(submission, la.pk, school.pk, change.collection, year,
                                 pupils))
    # Last: the original is kept (on commit) only for a file that is queued.
    received.stored_path = _store_original(data, digest, register.staged)
    for (submission, _), (change, _) in zip(items, changes, strict=True):
        change.submission = submission
    register.unsaved.append((received, items))
    register.pending.extend(rows)


@transaction.atomic
def _commit_now(filename, data, digest, school, la, year, changes, acting_user, warnings,
                ignored_rows, header, register=None):
    received = received_file(filename, data, digest, la=la, acting_user=acting_user)
    received.stored_path = _store_original(data, digest, register.staged if register else [])
    received.save(force_insert=True)
    for change, pupils in changes:
        if change.replaces is not None:
            old = change.replaces
            _retire_pupil_records(old)
            AssessmentResult.objects.filter(pupil__submission=old).delete()
            PupilRecord.objects.filter(submission=old).delete()
            if register is not None:
                # Replaced earlier in the same chunk: its rows, not written yet, never are.
                register.pending = [r for r in register.pending if r.submission_id != old.pk]
            old.status = SubmissionStatus.REPLACED
            old.save(update_fields=["status"])
        submission = _submission_of(change, school, la, year, received, header, acting_user,
                                    warnings, ignored_rows)
        submission.save(force_insert=True)
        change.submission = submission
        if change.replaces is not None:
            from keystage.cleaning.models import LaEdit

            LaEdit.objects.filter(submission=change.replaces, overwritten_by=None).update(
                overwritten_by=submission
            )
        if change.la_edits and _is_school_user(acting_user):
            _notify_la_of_overwritten_edits(change, submission, school, la, filename,
                                            acting_user)
        record_event(**_submission_event(change, school, la, year, filename, digest,
                                         acting_user), obj=submission)
        rows = _PendingRows(submission, la.pk, school.pk, change.collection, year, pupils)
        if register is not None and register.deferred:
            register.pending.append(rows)
        else:
            _write_rows([rows], la_id=la.pk, year=year)


RETIRED_PUPIL_FIELDS = ["id", "la", "school", "collection", "year", "upn"]


def _retire_pupil_records(old: Submission) -> None:
    """Keep the stable key of each pupil record of a replaced submission, before it goes.

    One read and one bulk insert, in the replacement's transaction: the old record ids then
    still lead to each pupil's page (records without a UPN have no stable key and are not kept).
    """
    bulk_insert(
        RetiredPupilRecord,
        RETIRED_PUPIL_FIELDS,
        # A list, not an iterator: one school's pupils, read before the insert begins.
        list(PupilRecord.objects.filter(submission=old).exclude(upn="")
             .values_list("pk", "la_id", "school_id", "collection", "year", "upn")),
    )


@dataclass
class _PendingRows:
    """The pupil and result rows of one submission, waiting to be loaded with their chunk."""

    submission: Submission  # its key may come only when the chunk is written
    la_id: int
    school_id: int
    collection: str
    year: int
    pupils: _FileCollection

    @property
    def submission_id(self) -> int | None:
        return self.submission.pk


PUPIL_FIELDS = [
    "id", "submission", "la", "school", "collection", "year", "line", "upn", "surname",
    "forename", "middle_names", "dob", "dob_text", "sex", "ncyear", "gld", "elgs_expected",
    "phonics_met", "mtc_full_marks", "pupil", "link_method", "link_score",
]
RESULT_FIELDS = [
    "pupil", "stage", "locale", "year", "subject", "method", "component", "status", "qualifier",
    "result", "result_date", "is_latest",
]


def _write_rows(pending: list[_PendingRows], pending_files=(), *, la_id: int = 0,
                year: int = 0) -> None:
    """Write a chunk's pupil records, each already linked to its pupil, and their results and
    the datasets' own rows: one allocation of keys, one link of the LA's pupils, one COPY per
    table (the records go in once, never updated to add their pupil)."""
    from keystage.collection.intake import file_records, write_file_rows
    from keystage.pupils.linking import RECORD_SCHEMA, link_new_records
    from keystage.transfer.lost import find_lost_in_submissions

    for p in pending_files:
        # A later file of the same chunk may have replaced this one before it was written.
        p.written = [(s, rows) for s, rows in p.written if s.status == SubmissionStatus.CURRENT]
    pending_files = [p for p in pending_files if p.written]
    files = file_records(pending_files, la_id=la_id, year=year)
    records, results = _ctf_frames(pending, year)
    total = records.height + files.height
    if not total:
        return
    ids = pl.Series(allocate_ids(PupilRecord, total), dtype=pl.Int64)
    files = files.with_columns(record_id=ids[records.height:])
    if records.height:
        records = records.with_columns(record_id=ids[:records.height])
        ctf = records.select(
            "record_id", pl.col("la").alias("la_id"), "upn", former_upns=pl.lit(""),
            surname=pl.col("surname").str.slice(0, 100),
            forename=pl.col("forename").str.slice(0, 100), dob="dob",
            sex=pl.col("sex").str.slice(0, 10),
            slot=pl.concat_str("collection", pl.lit(":"), pl.col("year").cast(pl.String),
                               pl.lit(":")),
        ).cast(RECORD_SCHEMA)
    else:
        ctf = pl.DataFrame(schema=RECORD_SCHEMA)
    links, write_reviews = link_new_records(pl.concat([ctf, files.select(list(RECORD_SCHEMA))]))
    if records.height:
        # One COPY each for the records (linked as they go in) and their results, written by
        # polars: no Python per row.
        bulk_insert_frame(PupilRecord, PUPIL_FIELDS, records.join(
            links, on="record_id", how="left", maintain_order="left").select(
            "record_id", "submission", "la", "school", "collection", "year", "line", "upn",
            *(pl.col(c).str.slice(0, 100) for c in ("surname", "forename", "middle_names")),
            "dob", pl.col("dob_text").str.slice(0, 30), pl.col("sex").str.slice(0, 10),
            pl.col("ncyear").str.slice(0, 4), *_MEASURES, "pupil_id",
            pl.col("method").fill_null(""), "score"))
        bulk_insert_frame(AssessmentResult, RESULT_FIELDS, results.join(
            records.select("part", "pupil", "record_id"), on=["part", "pupil"], how="inner",
            maintain_order="left").select(
            "record_id", *(pl.col(c).str.slice(0, n) for c, n in _RESULT_WIDTHS[:2]), "year",
            *(pl.col(c).str.slice(0, n) for c, n in _RESULT_WIDTHS[2:]), "result_date",
            "is_latest"))
    write_file_rows(pending_files, files, links)
    write_reviews()
    # Any LA's lost pupils this load names are found now (keystage/transfer/lost.py).
    find_lost_in_submissions([r.submission_id for r in pending]
                             + [s.pk for p in pending_files for s, _ in p.written])


# The result columns' widths, as the rows are stored.
_RESULT_WIDTHS = (("stage", 3), ("locale", 3), ("subject", 3), ("method", 3), ("component", 3),
                  ("status", 1), ("qualifier", 2), ("result", 9))


def _ctf_frames(pending: list[_PendingRows], year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A chunk's CTF pupil records (with their submission, school, collection and year) and
    their results, each in write order; `part` and `pupil` tie a result to its record."""
    if not pending:
        return pl.DataFrame(), pl.DataFrame()
    parts = pl.DataFrame(
        [(part, r.submission_id, r.la_id, r.school_id, r.collection, r.year)
         for part, r in enumerate(pending)], orient="row",
        schema={"part": pl.Int64, "submission": pl.Int64, "la": pl.Int64, "school": pl.Int64,
                "collection": pl.String, "year": pl.Int64})
    rows = _collection_rows([r.pupils for r in pending], year)
    return rows.records.join(parts, on="part", how="left", maintain_order="left"), rows.results


@dataclass
class BatchOutcome:
    """What a batch did: each file's outcome, and the cleaning runs it triggered."""

    outcomes: list[FileOutcome]
    runs: list = field(default_factory=list)


def do_import_batch(
    items: Iterable[tuple[str, bytes | InputFile | FormatError]],
    *,
    la: LocalAuthority,
    year: int,
    acting_user,
    confirm_replacements: bool = False,
    only_school: Establishment | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    total: int = 0,
    previewed: dict[str, int | None] | None = None,
    extra_fields: dict[str, str] | None = None,
    care_year_from_file: bool = False,
    provisional: bool = False,
) -> BatchOutcome:
    """Import a batch of files of any kind, then re-check what it changed.

    The one intake the upload worker, `keystage import` and the demo all call: expected-cohort
    CSVs, CTFs and every other file kind (keystage.formats.kinds) are told apart by content;
    each file is all or nothing; the collections a batch touched are cleaned once it commits.
    """
    from keystage.socialcare.actions import CareFile, import_care_files, social_care_kind

    cohorts: list[tuple[str, InputFile]] = []
    care: list[CareFile] = []

    def files():
        for name, data in items:
            if not isinstance(data, FormatError):
                data = InputFile.of(name, data)
                # Expected-cohort CSVs may come in the same upload as the assessment files.
                if sniff_cohorts(data.head(2048)):
                    cohorts.append((name, data))
                    continue
                # Social care files are a return together (the 903 tables), loaded after.
                kind = social_care_kind(data.head(SNIFF_BYTES)) if data.size else None
                if kind is not None:
                    care.append(CareFile.take(name, data, kind))
                    continue
            yield name, data

    outcomes = do_import_files(
        files(), la=la, year=year, acting_user=acting_user,
        confirm_replacements=confirm_replacements, only_school=only_school, progress=progress,
        total=total, previewed=previewed, extra_fields=extra_fields, provisional=provisional,
    )
    outcomes = load_cohorts_files(cohorts, la, acting_user, only_school) + outcomes
    outcomes += import_care_files(care, la=la, year=year, acting_user=acting_user,
                                  confirm_replacements=confirm_replacements,
                                  only_school=only_school, year_from_file=care_year_from_file)
    return BatchOutcome(outcomes, after_batch_commits(la, year, outcomes,
                                                      acting_user=acting_user,
                                                      progress=progress))


def after_batch_commits(la, year: int, outcomes, *, acting_user, progress=None) -> list:
    """What follows a committed batch: the collections it touched are checked by the rules."""
    from keystage.cleaning.actions import clean_after_import, collections_to_clean

    # The rules and then the reports read what the batch loaded: PostgreSQL plans them from
    # statistics taken after it (core.statistics).
    refresh_statistics()
    runs = clean_after_import(la, year, collections_to_clean(outcomes, la, year),
                              acting_user=acting_user, progress=progress)
    if any(o.status == "committed" for o in outcomes):
        _queue_reports(la, year, acting_user)
    return runs


def _queue_reports(la, year: int, acting_user) -> None:
    """The loaded files change the reports: the worker computes them again (one job waiting per
    LA and year is enough)."""
    from keystage.jobs.actions import do_queue_job
    from keystage.jobs.models import Job, JobStatus

    waiting = Job.objects.filter(kind="compute-reports", la=la, status=JobStatus.QUEUED,
                                 params__year=year).exists()
    if not waiting:
        do_queue_job("compute-reports", f"Compute the {year} reports", la=la,
                     params={"la_code": la.code, "year": year}, acting_user=acting_user)


def do_import_files(
    items: Iterable[tuple[str, bytes | InputFile | FormatError]],
    *,
    la: LocalAuthority,
    year: int,
    acting_user,
    confirm_replacements: bool = False,
    only_school: Establishment | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    total: int = 0,
    previewed: dict[str, int | None] | None = None,
    extra_fields: dict[str, str] | None = None,
    provisional: bool = False,
) -> list[FileOutcome]:
    """Import a batch of files; each is all or nothing and a bad one leaves the others alone.

    Files are taken from items as they are needed, a few at a time, and their temporary copies
    are deleted as soon as their chunk is done: a batch never holds all its files at once.
    """
    outcomes: list[FileOutcome] = []
    register = _Register(la, year, deferred=True)
    done = 0
    options = dict(la=la, year=year, acting_user=acting_user,
                   confirm_replacements=confirm_replacements, only_school=only_school,
                   previewed=previewed, extra_fields=extra_fields, provisional=provisional)
    chunks = batches(items, BYTES_PER_TRANSACTION, _bytes_of, FILES_PER_TRANSACTION)
    with contextlib.closing(_read_ahead(chunks, year)) as read:
        for chunk, prepared in read:
            options["prepared"] = prepared
            chunk_outcomes, register = _import_chunk(chunk, register, options)
            for outcome in chunk_outcomes:
                done += 1
                outcomes.append(outcome)
                if progress:
                    progress(done, max(total, done), outcome.message)
    return outcomes


def _import_chunk(chunk, register: _Register, options: dict
                  ) -> tuple[list[FileOutcome], _Register]:
    """A chunk's files imported in one transaction, each file all or nothing (a savepoint), its
    rows written together; if writing them fails, each file again on its own. Returns the
    files' outcomes and the register for the next chunk."""
    la, year, staged = options["la"], options["year"], register.staged
    # The chunk shares one transaction and one COPY per table: per-file round trips cost more
    # than small files.
    try:
        with transaction.atomic():
            # Its records are linked to the LA's pupils (keystage.pupils.locks).
            hold_pupil_identity(la.pk)
            chunk_outcomes = [_import_item(name, data, register=register, **options)
                              for name, data in chunk]
            if register.failed:
                raise RuntimeError("writing the chunk's files failed")
            register.flush()
            _write_rows(register.pending, register.pending_files, la_id=la.pk, year=year)
    except Exception:
        # The whole chunk rolled back: load it again file by file, each on its own.
        logger.exception("loading a chunk of %d files failed; retrying one by one", len(chunk))
        discard_uncommitted_originals(staged)
        register = _Register(la, year, deferred=False)
        register.staged = staged
        with transaction.atomic():
            hold_pupil_identity(la.pk)
            chunk_outcomes = [_import_item(name, data, register=register, **options)
                              for name, data in chunk]
        register.deferred = True
    finally:
        register.pending = []
        register.pending_files = []
        register.unsaved = []
        discard_uncommitted_originals(staged)
        close_all(chunk)
    return chunk_outcomes, register


def _read_ahead(chunks, year: int):
    """Each chunk of the batch (its files opened) with what reading it together gave, the next
    chunk being read on a thread (files parsed, frames built: no database) while the caller
    imports this one, so the database's work on one chunk and the reading of the next take a
    core each. The caller closes the chunks it is given; a chunk still being read when the
    batch stops is closed here."""
    opened = []  # (chunk, its reading) not yet handed on
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="keystage-read-ahead") as reader:
        try:
            for chunk in chunks:
                chunk = [(name, data if isinstance(data, FormatError)
                          else InputFile.of(name, data)) for name, data in chunk]
                opened.append((chunk, reader.submit(_prepared, chunk, year)))
                if len(opened) == 2:
                    yield _hand_on(opened)
            while opened:
                yield _hand_on(opened)
        finally:
            for chunk, reading in opened:
                reading.exception()  # (let it finish before its files go)
                close_all(chunk)


def _hand_on(opened: list) -> tuple[list, dict]:
    """The first opened chunk and its reading's result, no longer opened's to close."""
    chunk, reading = opened[0]
    prepared = reading.result()
    opened.pop(0)
    return chunk, prepared


def _prepared(chunk, year: int) -> dict:
    """The chunk's files read together where their kind allows (intake.prepare_chunk); if that
    fails, nothing: each file is then read alone, and its own error is its own."""
    from keystage.collection.intake import prepare_chunk

    try:
        return prepare_chunk(chunk, year=year)
    except Exception:
        logger.exception("reading a chunk's files together failed; reading them one by one")
        return {}


# A chunk's fixed costs (reading the LA's pupils and identifiers to link its records, the
# commit, each table's COPY) are paid once for all its files: an LA's census returns (140
# schools, 22 MB for LA 831) go in one chunk. Its parsed pupils wait in memory for its COPY
# while the next chunk is read, so the bytes of its files bound it (the largest LA's census,
# 80 MB in four chunks, peaks at about 450 MB).
FILES_PER_TRANSACTION = 500
BYTES_PER_TRANSACTION = 24 * 1024 * 1024


def _bytes_of(item) -> int:
    """The size of a batch's (name, file) item, as far as it is known before reading it."""
    data = item[1]
    if isinstance(data, InputFile):
        return data.size
    return len(data) if isinstance(data, (bytes, bytearray)) else 0


def _import_item(name, data, *, la, year, acting_user, confirm_replacements, only_school,
                 register, previewed=None, extra_fields=None,
                 provisional=False, prepared=None) -> FileOutcome:
    """One file of a batch, classified by its content."""
    if isinstance(data, FormatError):
        return FileOutcome(name, "refused", str(data))
    data = InputFile.of(name, data)
    if not data.size:
        return FileOutcome(name, "refused", f"{name}: the file is empty. Ask the school to "
                           "export it again.")
    head = data.head(SNIFF_BYTES)
    options = dict(la=la, year=year, acting_user=acting_user,
                   confirm_replacements=confirm_replacements, only_school=only_school,
                   register=register, previewed=previewed)
    try:
        if looks_like_ctf(head):
            return import_ctf(name, data, **options,
                              read=(prepared or {}).get(id(data)))
        kind = kind_of(head)
        if kind is None and extra_fields is not None and "extra_csv" in KINDS:
            kind = KINDS["extra_csv"]
        if kind is None:
            return FileOutcome(
                name, "skipped", f"{name}: not a file Keystage recognises (skipped). Send CTF "
                "XML, school census XML or CSV extracts, or the pupil premium, KS2, KS4 or "
                "KS5 results CSVs (README, 'The command line': import); for a CSV of your own "
                "pupil fields, import it as extra fields.")
        from keystage.collection.intake import import_dataset_file

        return import_dataset_file(
            name, data, kind, **options, provisional=provisional,
            options={"fields": extra_fields} if kind.dataset == "extra" else None,
            prepared=(prepared or {}).get(id(data)))
    except Exception:
        # The file's savepoint has rolled back; the rest of the batch goes on.
        logger.exception("importing %s failed", name)
        return FileOutcome(name, "refused", f"{name}: could not be loaded because of an "
                           "error in Keystage (logged for the administrators). Nothing from "
                           "this file was stored; try again later.")


@transaction.atomic
def do_import_expected_cohorts(
    data: bytes, *, filename: str, la: LocalAuthority, acting_user
) -> int:
    """Load expected cohort sizes for the LA's schools, all or nothing; returns rows loaded."""
    from keystage.collection.models import ExpectedCohort
    from keystage.formats.cohorts import read_expected_cohorts

    rows = read_expected_cohorts(data, filename=filename)
    schools = {}
    for school in Establishment.objects.filter(la=la):
        schools[school.urn] = school
        if school.laestab:
            # An open school wins over a closed predecessor with the same LAESTAB.
            if school.laestab not in schools or school.is_open:
                schools[school.laestab] = school
    for row in rows:
        if row.laestab not in schools:
            raise FormatError(
                f"{row.laestab} is not a school of {la.name} in the register. Add it, or "
                "remove the row.", filename=filename, line=row.line, column="LAESTAB",
            )
    existing = {
        (c.school_id, c.collection, c.year): c
        for c in ExpectedCohort.objects.filter(la=la, year__in={row.year for row in rows})
    }
    to_create, to_update = [], []
    # What the import changed, keyed "LAESTAB collection year": the log shows old -> new.
    old, new = {}, {}
    for row in rows:
        school = schools[row.laestab]
        cohort = existing.get((school.pk, row.collection, row.year))
        key = f"{school.laestab or school.urn} {row.collection} {row.year}"
        if cohort is None:
            to_create.append(ExpectedCohort(la=la, school=school, collection=row.collection,
                                            year=row.year, expected_count=row.expected_count))
            old[key], new[key] = None, row.expected_count
        elif cohort.expected_count != row.expected_count:
            old[key], new[key] = cohort.expected_count, row.expected_count
            cohort.expected_count = row.expected_count
            to_update.append(cohort)
    ExpectedCohort.objects.bulk_create(to_create, batch_size=1000)
    ExpectedCohort.objects.bulk_update(to_update, ["expected_count", "updated_at"],
                                       batch_size=1000)
    record_event(
        EventType.COHORTS_IMPORTED, acting_user=acting_user, la=la,
        summary=f"{len(rows)} expected cohort sizes from {filename} "
        f"({len(to_create)} new, {len(to_update)} changed)",
        filename=filename, rows=len(rows), old=old, new=new,
    )
    return len(rows)


# Temporary files of an import older than this are left over from a crash: the sweep deletes them.
SCRATCH_MAX_AGE = timedelta(days=1)


def do_expire_waiting_uploads(*, acting_user=None, now: datetime | None = None) -> list[int]:
    """Delete uploads that waited for confirmation too long; each batch page says so.

    An upload's files stay in its job folder while replacements wait for "Confirm". After
    KEYSTAGE_UPLOAD_WAITING_DAYS with no job of that folder queued or running, the folder is
    deleted and every job of it records which files expired. Returns the ids of those jobs.
    """
    from keystage.jobs.models import Job, JobStatus

    now = now or timezone.now()
    days = settings.KEYSTAGE_UPLOAD_WAITING_DAYS
    cutoff = now - timedelta(days=days)
    root = Path(settings.MEDIA_ROOT)
    jobs_root = root / "jobs"
    folders = sorted(d for d in jobs_root.iterdir() if d.is_dir()) if jobs_root.is_dir() else []
    expired: list[int] = []
    for folder in folders:
        relative = f"jobs/{folder.name}"
        with transaction.atomic():
            jobs = list(Job.objects.select_for_update()
                        .filter(kind="import-files", params__folder=relative)
                        .order_by("created_at", "id"))
            if any(j.status in (JobStatus.QUEUED, JobStatus.RUNNING) for j in jobs):
                continue
            last = max((j.finished_at or j.created_at for j in jobs), default=None)
            if last is None:
                # No job: a crash between saving the files and queueing their import.
                last = datetime.fromtimestamp(folder.stat().st_mtime, tz=UTC)
            if last >= cutoff:
                continue
            names = sorted(p.name.split("__", 1)[-1] for p in folder.iterdir() if p.is_file())
            for job in jobs:
                waiting = job.result.get("waiting") or []
                if not waiting:
                    continue
                job.result = {
                    **job.result, "waiting": [],
                    # As the user named them, without the folder's ordering prefix.
                    "expired_files": [name.split("__", 1)[-1] for name in waiting],
                    "expired_at": now.isoformat(), "expired_after_days": days,
                    "files": [
                        {**f, "status": "expired",
                         "message": f"{f['filename']}: waited more than {days} days for "
                         "confirmation and was deleted. Upload it again to load it."}
                        if f.get("status") == "needs-confirmation" else f
                        for f in job.result.get("files", [])
                    ],
                }
                job.save(update_fields=["result"])
                expired.append(job.pk)
            owner = jobs[-1] if jobs else None
            record_event(
                EventType.UPLOADS_EXPIRED, acting_user=acting_user,
                la=owner.la if owner else None, obj=owner,
                summary=f"{len(names)} uploaded file{'s' if len(names) != 1 else ''} waiting "
                f"since {last.day} {last:%B %Y} deleted after {days} days",
                files=names, days=days,
            )
            # Deleted last: a failure above rolls back and leaves the files for the next sweep.
            shutil.rmtree(folder, ignore_errors=True)
    scratch = root / "tmp"
    if scratch.is_dir():
        for leftover in scratch.iterdir():
            modified = datetime.fromtimestamp(leftover.stat().st_mtime, tz=UTC)
            if leftover.is_file() and modified < now - SCRATCH_MAX_AGE:
                leftover.unlink(missing_ok=True)
    return expired


def _is_school_user(user) -> bool:
    from keystage.accounts.models import Role

    return user is not None and user.role == Role.SCHOOL_USER


NOTICE_ROLES = ("la_data_officer", "la_admin")


def _notify_la_of_overwritten_edits(change, submission, school, la, filename, acting_user):
    """A school's file overwrote the LA's edits: a notice on the LA's home page and an email."""
    from django.core.mail import send_mail
    from django.urls import reverse

    from keystage.accounts.models import User
    from keystage.collection.models import LaNotice
    from keystage.core.templatetags.govuk_dates import govuk_datetime

    count = len(change.la_edits)
    title = (f"{school.name} replaced its {change.collection.upper()} file: "
             f"{count} LA edit{'s' if count != 1 else ''} overwritten")
    lines = [f"{e['upn']} {e['field']}: your edit {e['old_value'] or '(blank)'} -> "
             f"{e['new_value'] or '(blank)'} ({e['edited_by']}, {govuk_datetime(e['edited_at'])})"
             for e in change.la_edits]
    body = (f"{acting_user.username} at {school.name} sent {filename}, which replaced the data "
            "the LA had edited. Check the edits below and make them again if they still "
            "apply.\n" + "\n".join(lines))
    notice = LaNotice.objects.create(la=la, school=school, submission=submission,
                                     title=title[:200], body=body)
    record_event(EventType.NOTICE_ADDED, acting_user=acting_user, la=la, school=school,
                 obj=notice, summary=title[:300], la_edits_overwritten=change.la_edits)
    recipients = list(
        User.objects.filter(la=la, role__in=NOTICE_ROLES, is_active=True)
        .exclude(email="").values_list("email", flat=True)
    )
    if recipients:
        link = reverse("collection:submission", args=[submission.pk])
        # Sent once the replacement has committed: a rolled-back file tells nobody.
        transaction.on_commit(lambda: send_mail(
            f"Keystage: {title}", f"{body}\n\nThe new submission: {link}",
            None, recipients, fail_silently=True,
        ))


@transaction.atomic
def do_dismiss_notice(notice, *, acting_user):
    """An LA officer has read a notice: it leaves the home page, and the log says who."""
    from django.utils import timezone

    if notice.dismissed_at is not None:
        return notice
    notice.dismissed_at = timezone.now()
    notice.dismissed_by = acting_user
    notice.save(update_fields=["dismissed_at", "dismissed_by"])
    record_event(EventType.NOTICE_DISMISSED, acting_user=acting_user, la=notice.la,
                 school=notice.school, obj=notice, summary=f"Dismissed: {notice.title}"[:300])
    return notice


class AlreadyConfirmed(Exception):
    """The batch's replacements were confirmed before; they are not applied twice."""


@transaction.atomic
def do_confirm_replacements(job, *, acting_user):
    """Queue the confirmation of a batch's waiting replacements, once, against its preview."""
    from keystage.jobs.actions import do_queue_job
    from keystage.jobs.models import Job

    # Locked, so two confirmations of the same preview cannot both pass the check.
    job = Job.objects.select_for_update().get(pk=job.pk)
    if job.result.get("confirmed_by"):
        raise AlreadyConfirmed(job.result["confirmed_by"])
    # Files, not the uploads (archives) they came in.
    waiting = job.result.get("counts", {}).get("waiting", len(job.result.get("waiting", [])))
    confirmed = do_queue_job(
        "import-files", f"Confirm {waiting} replacement{'s' if waiting != 1 else ''}",
        la=job.la, acting_user=acting_user,
        # A preview made before previews were recorded has none: it is confirmed unchecked.
        params={**job.params, "confirm": True, "previewed": job.result.get("previewed")},
    )
    job.result = {**job.result, "confirmed_by": confirmed.pk}
    job.save(update_fields=["result"])
    return confirmed


# An expected-cohorts CSV is read whole; one row per school and collection is far below this.
COHORTS_MAX_BYTES = 20 * 1024 * 1024


def load_cohorts_files(cohorts: list[tuple[str, InputFile]], la, user,
                       only_school) -> list[FileOutcome]:
    """The expected-cohorts CSVs of a batch, each loaded (or refused) and then closed."""
    outcomes = []
    for label, data in cohorts:
        try:
            outcomes.append(load_cohorts_file(label, data, la, user, only_school))
        finally:
            data.close()
    return outcomes


def load_cohorts_file(label, data: InputFile, la, user, only_school) -> FileOutcome:
    """An expected-cohorts CSV in an upload: LA users only, all or nothing."""
    if only_school is not None:
        return FileOutcome(label, "refused", f"{label}: expected cohorts are set by the LA; "
                           "schools send their CTF files only.")
    if data.size > COHORTS_MAX_BYTES:
        return FileOutcome(label, "refused", f"{label}: an expected-cohorts CSV has one row per "
                           "school and collection, but this one is larger than 20 MB. Check "
                           "it is the right file, or split it.")
    try:
        rows = do_import_expected_cohorts(data.read_bytes(), filename=label, la=la,
                                          acting_user=user)
    except FormatError as error:
        return FileOutcome(label, "refused", f"{error}")
    return FileOutcome(label, "committed", f"{label}: {rows} expected cohort sizes loaded")
