"""keystage clean: run the cleaning rules over an LA's collections and write the report CSV."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from keystage.cleaning.actions import do_run_cleaning
from keystage.cleaning.models import Issue
from keystage.cleaning.queries import REPORT_COLUMNS, report_rows
from keystage.cleaning.ruleset import CLEANED_CODES
from keystage.collection.models import Submission
from keystage.core.cells import SafeCsvWriter
from keystage.core.inputs import assessment_year
from keystage.datasets import CENSUS
from keystage.schools.models import LocalAuthority

SOCIAL_CARE = ("ssda903", "cin")


class Command(BaseCommand):
    help = ("Run the year's cleaning rules over an LA's statutory collections and context "
            "datasets (census, pupil premium, KS2 and KS4 results, extra fields), keep what they "
            "find for the app's reports, and write it as CSV. Exit status 1 when any error "
            "(which blocks the return) is found.")

    def add_arguments(self, parser):
        parser.add_argument("--la", required=True, help="three-digit LA code")
        parser.add_argument("--year", type=assessment_year, required=True,
                            help="assessment year (summer), e.g. 2026")
        parser.add_argument("--collection", choices=[*CLEANED_CODES, *SOCIAL_CARE],
                            help="one collection or dataset (default: every one with data)")
        parser.add_argument("--term", choices=CENSUS.terms,
                            help="the census term to check (default: the spring census, or "
                            "the latest term loaded when there is none)")
        parser.add_argument("--report", help="write the errors and queries to this CSV file")

    def handle(self, *args, la, year, collection, report, term=None, **options):
        if term and collection != "census":
            raise CommandError("--term is for the census: add --collection census.",
                               returncode=2)
        authority = LocalAuthority.objects.filter(code=la).first()
        if authority is None:
            raise CommandError(f"--la {la}: no such local authority in the register.",
                               returncode=2)
        if collection in SOCIAL_CARE:
            return self._social_care(authority, collection, year, report)
        loaded = set(Submission.objects.filter(la=authority, year=year, status="current")
                     .values_list("collection", flat=True).distinct())
        wanted = [collection] if collection else [c for c in CLEANED_CODES if c in loaded]
        if not wanted or (collection and collection not in loaded):
            what = collection or "statutory assessment or context"
            raise CommandError(f"No {what} files are loaded for LA {la} in {year}. Load them "
                               "with keystage import first.", returncode=2)
        runs = [do_run_cleaning(authority, c, year, acting_user=None, trigger="command",
                                term=term if c == "census" else None)
                for c in wanted]
        for run in runs:
            self.stdout.write(
                f"{run.collection}{' ' + run.term if run.term else ''}: {run.counts} "
                f"({run.new_issues} new, {run.resolved_issues} resolved "
                f"since the previous check; {run.seconds:.2f} s)"
            )
            for note in run.changes.get("notes", []):
                self.stdout.write(f"  note: {note}")
        if report:
            path = Path(report)
            issues = Issue.objects.filter(la=authority, year=year, collection__in=wanted)
            try:
                with path.open("w", newline="", encoding="utf-8") as handle:
                    writer = SafeCsvWriter(handle)
                    writer.writerow(REPORT_COLUMNS)
                    writer.writerows(report_rows(issues))
            except OSError as error:
                raise CommandError(f"{report}: cannot write the report ({error.strerror}). "
                                   "Choose a folder you can write to.", returncode=2) from None
            self.stdout.write(f"Report written to {report}.")
        if any(run.errors for run in runs):
            raise CommandError("Errors found: they block the return until the schools send "
                               "corrected files or the LA edits the data.", returncode=1)

    def _social_care(self, authority, dataset, year, report):
        """The schema findings of the LA's current social care return (found as it loaded)."""
        from keystage.socialcare.models import CareChild, CareReturn

        care_return = CareReturn.objects.filter(la=authority, dataset=dataset, year=year,
                                                status="current").first()
        if care_return is None:
            raise CommandError(f"No {dataset} return is loaded for LA {authority.code} for the "
                               f"collection year ending 31 March {year}. Load it with keystage "
                               "import first.", returncode=2)
        findings = list(care_return.findings.order_by("table", "line", "code", "id"))
        upns = dict(CareChild.objects.filter(care_return=care_return)
                    .values_list("child_id", "upn"))
        errors = sum(1 for f in findings if f.severity == "error")
        self.stdout.write(f"{dataset}: {errors} errors, {len(findings) - errors} queries in "
                          f"{care_return.children} children")
        if report:
            rows = ([f.code, f.severity, "", upns.get(f.child_id, ""),
                     f"{f.table}.{f.column} (line {f.line})", f.value, f.message]
                    for f in findings)
            try:
                with Path(report).open("w", newline="", encoding="utf-8") as handle:
                    writer = SafeCsvWriter(handle)
                    writer.writerow(REPORT_COLUMNS)
                    writer.writerows(rows)
            except OSError as error:
                raise CommandError(f"{report}: cannot write the report ({error.strerror}). "
                                   "Choose a folder you can write to.", returncode=2) from None
            self.stdout.write(f"Report written to {report}.")
        if errors:
            raise CommandError("Errors found: fix them in the case management system and load "
                               "the return again.", returncode=1)
