"""Running the cleaning rules and the LA's audited edits to pupil data."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass

import polars as pl
from django.db import transaction

from keystage import years
from keystage.audit.log import record_event
from keystage.audit.models import EventType
from keystage.cleaning.engine import CleaningData, run_rules
from keystage.cleaning.loading import load_cleaning_data
from keystage.cleaning.models import CleaningRun, Issue, LaEdit
from keystage.cleaning.ruleset import CLEANED_CODES, rule_set_for
from keystage.collection.derive import derive_measures
from keystage.collection.models import AssessmentResult, PupilRecord, Submission
from keystage.core.bulk import bulk_insert, read_frame
from keystage.datasets import COLLECTION_CODES
from keystage.formats.assessment_spec import collection_components
from keystage.schools.models import LocalAuthority

ISSUE_FIELDS = ("la", "collection", "year", "school", "pupil", "laestab", "upn", "rule_code",
                "severity", "field", "value", "message")
# What makes one issue the same issue in two runs, for "what changed since the last run".
_ISSUE_KEY = ["rule_code", "laestab", "upn", "field", "value"]

# Pupil details the LA may edit: the CTF name of the field -> the PupilRecord attribute.
PUPIL_FIELDS = {"UPN": "upn", "Surname": "surname", "Forename": "forename", "DOB": "dob_text",
                "Sex": "sex", "NCyearActual": "ncyear"}


def _actor(user) -> str:
    return user.username if user is not None else "command line"


def do_run_cleaning(
    la: LocalAuthority, collection: str, year: int, *, acting_user, trigger: str = "manual",
    term: str | None = None,
) -> CleaningRun:
    """Run the year's rules over an LA's collection or context dataset and keep what they find.

    The census is checked one term at a time: `term`, or the spring census by default (the
    latest term loaded when there is no spring census yet); its issues are that term's.
    """
    started = time.perf_counter()
    data = load_cleaning_data(la, collection, year, term or "")
    rule_set = rule_set_for(year)
    issues = run_rules(data, rule_set)
    notes = []
    if collection == "phonics" and data.earlier_phonics.is_empty():
        notes.append(f"No {year - 1} phonics results are loaded, so Year 2 retakes were not "
                     "checked against Year 1. Load last year's phonics files to check them.")
    if collection == "census":
        notes.append(f"The {years.census_term_label(data.term)} was checked.")
    needs_census = any(rule.check == "not_in_census" for rule in rule_set.for_collection(
        collection))
    if needs_census and data.census_upns.is_empty():
        notes.append(f"No {year} census is loaded, so pupils were not checked against the "
                     "census. Load the census to check them.")
    with transaction.atomic():
        # One run at a time per LA: a second waits here rather than interleaving its rows.
        LocalAuthority.objects.select_for_update().filter(pk=la.pk).first()
        previous = read_frame(
            f"SELECT rule_code, laestab, upn, field, value FROM {Issue._meta.db_table} "  # noqa: S608
            "WHERE la_id = %s AND collection = %s AND year = %s",
            (la.pk, collection, year), dict.fromkeys(_ISSUE_KEY, pl.String),
        )
        had_run = CleaningRun.objects.filter(la=la, collection=collection, year=year).exists()
        Issue.objects.filter(la=la, collection=collection, year=year).delete()
        bulk_insert(Issue, ISSUE_FIELDS, (
            (la.pk, collection, year, row[2], row[3], row[4], row[5], row[0], row[1], row[6][:100],
             (row[7] or "")[:100], row[8])
            for row in issues.select(
                "rule_code", "severity", "school_id", "pupil_id", "laestab", "upn", "field",
                "value", "message",
            ).iter_rows()
        ))
        current = issues.select(pl.col(_ISSUE_KEY).fill_null("")).with_columns(
            pl.col("value").str.slice(0, 100)
        )
        new = current.join(previous, on=_ISSUE_KEY, how="anti", nulls_equal=True)
        resolved = previous.join(current, on=_ISSUE_KEY, how="anti", nulls_equal=True)
        counts = issues["severity"].value_counts()
        by_severity = dict(zip(counts["severity"], counts["count"], strict=True))
        run = CleaningRun.objects.create(
            la=la, collection=collection, year=year, rule_set_version=rule_set.version,
            term=data.term, trigger=trigger, run_by=acting_user, run_by_name=_actor(acting_user),
            seconds=round(time.perf_counter() - started, 3), pupils=data.pupils.height,
            errors=by_severity.get("error", 0), queries=by_severity.get("query", 0),
            new_issues=new.height if had_run else issues.height,
            resolved_issues=resolved.height,
            changes={"new": _by_rule(new), "resolved": _by_rule(resolved), "notes": notes,
                     "first_run": not had_run},
        )
        record_event(
            EventType.CLEANING_RUN, acting_user=acting_user, la=la, obj=run,
            summary=f"{collection.upper()} {year}{' ' + data.term if data.term else ''}: "
            f"{run.counts} "
            f"({run.new_issues} new, {run.resolved_issues} resolved)",
            trigger=trigger, rule_set=rule_set.version,
        )
    return run


def _by_rule(frame: pl.DataFrame) -> dict[str, int]:
    counts = frame["rule_code"].value_counts()
    return dict(sorted(zip(counts["rule_code"], counts["count"], strict=True)))


def collections_to_clean(outcomes, la, year: int) -> set[str]:
    """The datasets whose issues an import may have changed (all of them for new cohorts)."""
    touched = {c.collection for o in outcomes if o.status == "committed" for c in o.changes}
    if any(o.status == "committed" and not o.changes for o in outcomes):
        touched |= set(
            Submission.objects.filter(la=la, year=year, status="current")
            .values_list("collection", flat=True).distinct()
        )
    # Every dataset with rules: the statutory collections and the context datasets (a census,
    # pupil premium, KS2 or KS4 file re-runs its own rules); social care has none yet.
    return touched & set(CLEANED_CODES)


def clean_after_import(la, year: int, collections, *, acting_user,
                       progress=None) -> list[CleaningRun]:
    """Re-run the rules for each collection an import touched, so reports stay current."""
    wanted = sorted(set(collections))
    runs = []
    for step, collection in enumerate(wanted, start=1):
        if progress:
            progress(step - 1, len(wanted),
                     f"Checking the {collection} data against the cleaning rules "
                     f"({step} of {len(wanted)})")
        runs.append(do_run_cleaning(la, collection, year, acting_user=acting_user,
                                    trigger="import"))
    return runs


class EditRefused(ValueError):
    """An LA edit that cannot be made; the message says why and what to do."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class EditOutcome:
    edits: list[LaEdit]
    run: CleaningRun | None


def editable_fields(pupil: PupilRecord) -> list[str]:
    """The fields of a pupil record the LA may edit: details, then the collection's components."""
    components = [c.component for c in collection_components(pupil.collection, pupil.year)]
    return [*PUPIL_FIELDS, *components]


def current_values(pupil: PupilRecord) -> dict[str, str]:
    """The pupil's details and latest result per component, keyed by CTF field name."""
    values = {name: getattr(pupil, attr) or "" for name, attr in PUPIL_FIELDS.items()}
    latest = AssessmentResult.objects.filter(pupil=pupil, is_latest=True, status="R")
    values.update({r.component: r.result for r in latest})
    return values


def do_edit_pupil(
    pupil: PupilRecord,
    changes: dict[str, str],
    *,
    reason: str,
    school_confirmed: bool = False,
    acting_user,
) -> EditOutcome:
    """Change a pupil's details or results with a reason; refuse a change the rules reject."""
    if pupil.collection not in COLLECTION_CODES:
        raise EditRefused("Only pupils of the statutory collections can be edited here: correct "
                          "this dataset at its source and load its file again.")
    reason = (reason or "").strip()
    if not reason:
        raise EditRefused("Enter the reason for the change, for the audit log.", "reason")
    allowed = editable_fields(pupil)
    before = current_values(pupil)
    wanted = {}
    for name, value in changes.items():
        if name not in allowed:
            raise EditRefused(f"{name} cannot be edited for this collection.", name)
        value = (value or "").strip()
        if name in ("UPN", "Sex"):
            value = value.upper()
        if value != before.get(name, ""):
            wanted[name] = value
    if not wanted:
        raise EditRefused("Nothing changed: the values are the same as before.")
    dob = pupil.dob
    if "DOB" in wanted:
        try:
            dob = dt.date.fromisoformat(wanted["DOB"])
        except ValueError:
            raise EditRefused("Enter the date of birth as a real date in the form YYYY-MM-DD, "
                              "like 2020-09-14.", "DOB") from None
        wanted["DOB"] = dob.isoformat()
    _refuse_if_invalid(pupil, wanted, dob)

    with transaction.atomic():
        record = PupilRecord.objects.select_for_update().get(pk=pupil.pk)
        edits = []
        for name, value in wanted.items():
            old = before.get(name, "")
            if name in PUPIL_FIELDS:
                setattr(record, PUPIL_FIELDS[name], value)
                if name == "DOB":
                    record.dob = dob
            else:
                _set_result(record, name, value)
            edits.append(LaEdit(
                la_id=record.la_id, school_id=record.school_id, submission_id=record.submission_id,
                pupil=record, collection=record.collection, year=record.year, upn=record.upn,
                field=name, old_value=old[:100], new_value=value[:100], reason=reason,
                school_confirmed=school_confirmed, edited_by=acting_user,
                edited_by_name=_actor(acting_user),
            ))
        latest = dict(AssessmentResult.objects.filter(pupil=record, is_latest=True, status="R")
                      .values_list("component", "result"))
        measures = derive_measures(record.collection, latest)
        record.gld, record.elgs_expected = measures.gld, measures.elgs_expected
        record.phonics_met, record.mtc_full_marks = measures.phonics_met, measures.mtc_full_marks
        record.save()
        LaEdit.objects.bulk_create(edits)
        record_event(
            EventType.PUPIL_EDITED, acting_user=acting_user, la=record.la, school=record.school,
            obj=record,
            summary=f"{record.collection.upper()} {record.year}: {record.upn or 'no UPN'} "
            f"{record.surname}, {record.forename}: {', '.join(wanted)} changed by the LA",
            reason=reason, old={k: before.get(k, "") for k in wanted}, new=wanted,
            school_confirmed=school_confirmed,
        )
    run = do_run_cleaning(record.la, record.collection, record.year, acting_user=acting_user,
                          trigger="edit")
    return EditOutcome(edits, run)


def _set_result(record: PupilRecord, component: str, value: str) -> None:
    """Make `value` the pupil's latest result for a component, adding the row if missing."""
    row = AssessmentResult.objects.filter(
        pupil=record, component=component, is_latest=True, status="R"
    ).first()
    if row is not None:
        row.result = value
        row.save(update_fields=["result"])
        return
    spec = next(c for c in collection_components(record.collection, record.year)
                if c.component == component)
    AssessmentResult.objects.create(
        pupil=record, stage=spec.stage, locale="ENG", year=record.year, subject=spec.subject,
        method=spec.method, component=component, status="R", qualifier=spec.qualifier,
        result=value, is_latest=True,
    )


def _refuse_if_invalid(pupil: PupilRecord, wanted: dict[str, str], dob) -> None:
    """Run the rules on the collection as it would be after the edit; refuse new errors."""
    data = load_cleaning_data(pupil.la, pupil.collection, pupil.year)
    rule_set = rule_set_for(pupil.year)
    mine = pl.col("pupil_id") == pupil.pk
    before = run_rules(data, rule_set).filter(mine & (pl.col("severity") == "error"))
    after = run_rules(_with_edit(data, pupil.pk, wanted, dob), rule_set).filter(
        mine & (pl.col("severity") == "error")
    )
    introduced = after.join(before, on=["rule_code", "field", "value"], how="anti",
                            nulls_equal=True)
    if not introduced.is_empty():
        first = introduced.row(0, named=True)
        raise EditRefused(f"{first['rule_code']}: {first['message']}", first["field"])


def _with_edit(data: CleaningData, pupil_id: int, wanted: dict[str, str], dob) -> CleaningData:
    """The collection's frames with one pupil's edit applied."""
    pupils, results = data.pupils, data.results
    mine = pl.col("pupil_id") == pupil_id
    updates = [pl.when(mine).then(pl.lit(value)).otherwise(pl.col(PUPIL_FIELDS[name]))
               .alias(PUPIL_FIELDS[name])
               for name, value in wanted.items() if name in PUPIL_FIELDS]
    if "DOB" in wanted:
        updates.append(pl.when(mine).then(pl.lit(dob, dtype=pl.Date)).otherwise(pl.col("dob"))
                       .alias("dob"))
    if updates:
        pupils = pupils.with_columns(updates)
    for name, value in wanted.items():
        if name in PUPIL_FIELDS:
            continue
        target = mine & (pl.col("component") == name) & pl.col("is_latest")
        if results.filter(target).is_empty():
            results = pl.concat([results, pl.DataFrame(
                {"pupil_id": [pupil_id], "component": [name], "result": [value],
                 "is_latest": [True]}, schema=results.schema)])
        else:
            results = results.with_columns(
                pl.when(target).then(pl.lit(value)).otherwise(pl.col("result")).alias("result")
            )
    return dataclasses.replace(data, pupils=pupils, results=results)
