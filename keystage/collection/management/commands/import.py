"""keystage import: load any dataset's files (files, folders or ZIPs) for an LA."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from keystage.collection.actions import do_import_batch
from keystage.collection.inputs import count_input_files, iter_input_files
from keystage.core.inputs import assessment_year, extra_fields
from keystage.schools.models import LocalAuthority


class Command(BaseCommand):
    help = ("Import files of any dataset for an LA: CTFs (EYFSP, phonics, KS1, KS2 TA, MTC), "
            "school census XML and CSV extracts, pupil premium, KS2 and KS4 results CSVs, "
            "expected cohorts, and (with --fields) extra pupil fields. The kind of each file is "
            "read from its content. Each file is all or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="files, folders or ZIPs")
        parser.add_argument("--la", required=True, help="three-digit LA code")
        parser.add_argument("--year", type=assessment_year,
                            help="assessment year (summer), e.g. 2026; default: the LA's "
                            "current academic year")
        parser.add_argument("--yes", action="store_true",
                            help="confirm that files replace what their school sent before")
        parser.add_argument("--provisional", action="store_true",
                            help="the KS4 or KS5 results are early results (August), marked "
                            "provisional in the reports until the DfE's file replaces them")
        parser.add_argument("--fields", type=extra_fields, default=None,
                            help="read CSVs keyed by UPN that are no other kind as extra pupil "
                            "fields, keeping these columns: COLUMN[=NAME],... (e.g. "
                            "'Young carer=young_carer')")
    def handle(self, *args, paths, la, year, yes, fields=None, provisional=False, **options):
        authority = LocalAuthority.objects.filter(code=la).first()
        if authority is None:
            raise CommandError(f"--la {la}: no such local authority in the register. Import a "
                               "GIAS extract first (keystage import-gias).", returncode=2)
        year_given = year is not None
        if year is None:
            if authority.current_year is None:
                raise CommandError("Give --year (the summer of the assessments, e.g. 2026), or "
                                   "set the LA's current academic year.", returncode=2)
            year = authority.current_year.assessment_year
        missing = [p for p in paths if not Path(p).exists()]
        if missing:
            raise CommandError(f"{', '.join(missing)}: no such file or folder.", returncode=2)

        inputs = [Path(p) for p in paths]

        def progress(done, total, message):
            self.stderr.write(f"[{done}/{total}] {message}")

        batch = do_import_batch(
            iter_input_files(inputs), la=authority, year=year, acting_user=None,
            confirm_replacements=yes, progress=progress, total=count_input_files(inputs),
            extra_fields=fields, care_year_from_file=not year_given, provisional=provisional,
        )
        outcomes = batch.outcomes
        self._report(outcomes)
        for run in batch.runs:
            self.stdout.write(
                f"Checked {run.collection}: {run.errors} errors and {run.queries} queries in "
                f"{run.pupils} pupils ({run.new_issues} new, {run.resolved_issues} resolved). "
                f"See keystage clean --la {la} --year {year} --collection {run.collection}."
            )
        if any(o.status == "refused" for o in outcomes):
            raise CommandError("Some files were refused: nothing from them was loaded; the "
                               "others were.", returncode=2)
        if any(o.status == "needs-confirmation" for o in outcomes):
            raise CommandError("Some files replace data their school sent before: check the "
                               "changes above, then run again with --yes.", returncode=1)

    def _report(self, outcomes):
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            self.stdout.write(f"{outcome.status}: {outcome.message}")
            for warning in outcome.warnings:
                self.stdout.write(f"  warning: {warning}")
            for change in outcome.changes:
                if change.replaces is not None:
                    self.stdout.write(
                        f"  {change.collection}: {len(change.added)} pupils added, "
                        f"{len(change.removed)} removed, {len(change.changed)} changed"
                    )
                    for label, upns in (("added", change.added), ("removed", change.removed),
                                        ("changed", change.changed)):
                        if upns:
                            shown = ", ".join(upns[:20]) + (" ..." if len(upns) > 20 else "")
                            self.stdout.write(f"    {label}: {shown}")
                    for detail in change.details[:50]:
                        self.stdout.write(
                            f"    {detail['name']} ({detail['upn']}) {detail['field']}: "
                            f"{detail['old']!r} -> {detail['new']!r}"
                        )
                    if len(change.details) > 50:
                        self.stdout.write(f"    ... and {len(change.details) - 50} more changes")
                    for edit in change.la_edits:
                        self.stdout.write(
                            f"    LA edit overwritten: {edit['upn']} {edit['field']} "
                            f"{edit['old_value']!r} -> {edit['new_value']!r} by "
                            f"{edit['edited_by']} on {edit['edited_at']} ({edit['reason']})"
                        )
        self.stdout.write(
            "Files: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        )
