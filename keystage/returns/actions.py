"""Making a DfE return: the gate (errors block, queries need accepting), the file, its history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from keystage.audit.log import record_event
from keystage.audit.models import EventType
from keystage.cleaning.actions import do_run_cleaning
from keystage.cleaning.models import CleaningRun, Issue
from keystage.collection.models import Submission
from keystage.core.plural import counted
from keystage.returns.layout import file_name, layout_for
from keystage.returns.models import ReturnFile
from keystage.returns.queries import return_chunks
from keystage.returns.reader import validate_return
from keystage.returns.writer import ReturnHeader, write_return, write_whole
from keystage.schools.models import LocalAuthority

# The rule that lists expected schools with no data (cleaning/data/rules.csv).
MISSING_SCHOOL_RULE = "SCH004"
_SHOWN = 200  # blocking errors listed on screen and on the command line


class NoReturnData(ValueError):
    """Nothing to return: no such return layout, or no files loaded for it."""


@dataclass
class ReturnCheck:
    """What stands between the data and a return file, from a fresh run of the rules."""

    run: CleaningRun
    errors: list[Issue] = field(default_factory=list)  # the first _SHOWN
    error_count: int = 0
    queries: dict[str, int] = field(default_factory=dict)  # rule_code -> n
    query_count: int = 0
    missing_schools: list[str] = field(default_factory=list)


class ReturnBlocked(Exception):
    """Errors, or queries nobody has accepted, stop the return; the check says which."""

    def __init__(self, check: ReturnCheck, message: str) -> None:
        super().__init__(message)
        self.check = check


def check_return(la: LocalAuthority, collection: str, year: int, *, acting_user) -> ReturnCheck:
    """Run the rules afresh and gather the errors, queries and missing schools."""
    try:
        layout_for(collection, year)
    except LookupError as error:
        raise NoReturnData(str(error)) from None
    if not Submission.objects.filter(
        la=la, collection=collection, year=year, status="current"
    ).exists():
        raise NoReturnData(
            f"No {collection.upper()} {year} files are loaded for LA {la.code}, "
            "so there is nothing to return. Load the schools' files first."
        )
    run = do_run_cleaning(la, collection, year, acting_user=acting_user, trigger="return")
    issues = Issue.objects.filter(la=la, collection=collection, year=year)
    errors = issues.filter(severity="error")
    queries = issues.filter(severity="query")
    return ReturnCheck(
        run=run,
        errors=list(
            errors.select_related("pupil").order_by("laestab", "upn", "rule_code")[:_SHOWN]
        ),
        error_count=errors.count(),
        queries=dict(
            queries.values_list("rule_code").annotate(n=Count("id")).order_by("rule_code")
        ),
        query_count=queries.count(),
        missing_schools=sorted(
            issues.filter(rule_code=MISSING_SCHOOL_RULE).values_list("laestab", flat=True)
        ),
    )


def do_make_return(
    la: LocalAuthority,
    collection: str,
    year: int,
    *,
    acting_user,
    accept_queries: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> ReturnFile:
    """Write the LA's return for a collection and year, if no error blocks it; keep its history."""
    report = progress or (lambda done, total, message: None)
    report(0, 3, "Checking the data against the cleaning rules")
    check = check_return(la, collection, year, acting_user=acting_user)
    if check.error_count:
        raise ReturnBlocked(
            check,
            f"{counted(check.error_count, 'error')} "
            f"block{'s' if check.error_count == 1 else ''} the {collection.upper()} "
            f"{year} return. Correct {'it' if check.error_count == 1 else 'them'} (the schools "
            "resend, or the LA edits with a reason), then try again.",
        )
    if check.query_count and not accept_queries:
        raise ReturnBlocked(
            check,
            f"{counted(check.query_count, 'query', 'queries')} must be accepted before the "
            f"{collection.upper()} {year} return is made. Check them, then "
            "accept them (--allow-queries, or the confirmation in the app).",
        )
    layout = layout_for(collection, year)
    with transaction.atomic():
        # One return at a time per LA, from taking the serial to keeping the history row, so
        # two makers never take the same serial or write over each other's file.
        LocalAuthority.objects.select_for_update().filter(pk=la.pk).first()
        last = ReturnFile.objects.filter(la=la, collection=collection, year=year)
        serial = (last.aggregate(n=Max("serial"))["n"] or 0) + 1
        name = file_name(la.code, layout.collection_code, year, serial)
        relative = Path("returns") / la.code / str(year) / name
        path = Path(settings.MEDIA_ROOT) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        snapshot_path = path.with_suffix(".snapshot.parquet")
        try:
            made = _write_and_keep(la, collection, year, serial, layout, relative, check,
                                   last.order_by("-serial").first(), acting_user, report)
        except BaseException:
            path.unlink(missing_ok=True)
            snapshot_path.unlink(missing_ok=True)
            raise
    report(3, 3, f"Made {name}")
    return made


def _write_and_keep(la, collection, year, serial, layout, relative, check, previous,
                    acting_user, report) -> ReturnFile:
    """Write the file, validate it, keep its snapshot and history row (the caller cleans up)."""
    path = Path(settings.MEDIA_ROOT) / relative
    header = ReturnHeader(la_code=la.code, collection=collection, year=year, serial=serial,
                          created=timezone.localtime().replace(microsecond=0, tzinfo=None))
    snapshot_parts: list[pl.DataFrame] = []

    def chunks():
        for frame in return_chunks(la, collection, year):
            snapshot_parts.append(_fingerprints(frame))
            yield frame

    def validate(written: Path) -> None:
        # The file is checked under its temporary name, before it takes its final one.
        report(2, 3, "Checking the file against the return's schema")
        problems = validate_return(written, layout)
        if problems:
            problem = problems[0].replace(written.name, path.name)
            raise RuntimeError(f"{path.name} does not match its schema ({problem}); it was not "
                               "kept. Report this as a fault in Keystage.")

    report(1, 3, "Writing the return file")
    summary = write_return(path, header, chunks(), check=validate)
    snapshot = (pl.concat(snapshot_parts) if snapshot_parts
                else pl.DataFrame(schema=_SNAPSHOT_SCHEMA))
    write_whole(path.with_suffix(".snapshot.parquet"), snapshot.write_parquet)
    made = ReturnFile.objects.create(
        la=la, collection=collection, year=year, serial=serial, filename=path.name,
        stored_path=str(relative), sha256=summary.sha256, size=summary.size,
        layout=layout.layout, rule_set_version=check.run.rule_set_version,
        created_by=acting_user,
        created_by_name=acting_user.username if acting_user else "command line",
        schools=summary.schools, pupils=summary.pupils, counts=summary.results,
        accepted_queries=check.queries, missing_schools=check.missing_schools,
        changes=_changes(previous, snapshot, summary.results),
    )
    record_event(
        EventType.RETURN_GENERATED, acting_user=acting_user, la=la, obj=made,
        summary=f"{path.name}: {counted(summary.pupils, 'pupil')} from "
        f"{counted(summary.schools, 'school')}",
        reason=(f"{counted(check.query_count, 'query', 'queries')} accepted"
                if check.query_count else ""),
        sha256=summary.sha256, accepted_queries=check.queries,
        missing_schools=check.missing_schools,
    )
    return made


_SNAPSHOT_SCHEMA = {"school": pl.String, "upn": pl.String, "fingerprint": pl.UInt64}


def _fingerprints(frame: pl.DataFrame) -> pl.DataFrame:
    """Per pupil: school, UPN and a hash of everything the return says about them."""
    return frame.select(
        pl.coalesce(pl.col("estab"), pl.col("urn")).alias("school"),
        pl.col("upn"),
        pl.concat_str(pl.all().cast(pl.String).fill_null(""), separator="\x1f")
        .hash()
        .alias("fingerprint"),
    )


def snapshot_of(made: ReturnFile) -> pl.DataFrame:
    """The per-pupil fingerprints kept with a return file."""
    path = (Path(settings.MEDIA_ROOT) / made.stored_path).with_suffix(".snapshot.parquet")
    return pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=_SNAPSHOT_SCHEMA)


def _changes(previous: ReturnFile | None, snapshot: pl.DataFrame, counts: dict) -> dict:
    """What this return says differently from the previous one of its collection and year."""
    if previous is None:
        return {"first": True}
    before = snapshot_of(previous)
    keys = ["school", "upn"]
    added = snapshot.join(before, on=keys, how="anti")
    removed = before.join(snapshot, on=keys, how="anti")
    both = snapshot.join(before, on=keys, how="inner", suffix="_before")
    changed = both.filter(pl.col("fingerprint") != pl.col("fingerprint_before"))
    schools_now, schools_before = set(snapshot["school"]), set(before["school"])
    moved = {}
    for component in sorted(set(counts) | set(previous.counts)):
        now, then = counts.get(component, {}), previous.counts.get(component, {})
        delta = {
            result: now.get(result, 0) - then.get(result, 0)
            for result in sorted(set(now) | set(then))
            if now.get(result, 0) != then.get(result, 0)
        }
        if delta:
            moved[component] = delta
    return {
        "first": False,
        "previous": previous.filename,
        "previous_at": previous.created_at.isoformat(timespec="minutes"),
        "schools_added": sorted(schools_now - schools_before),
        "schools_removed": sorted(schools_before - schools_now),
        "pupils_added": added.height,
        "pupils_removed": removed.height,
        "pupils_changed": changed.height,
        "upns_added": added["upn"].head(50).to_list(),
        "upns_removed": removed["upn"].head(50).to_list(),
        "upns_changed": changed["upn"].head(50).to_list(),
        "counts_moved": moved,
    }
