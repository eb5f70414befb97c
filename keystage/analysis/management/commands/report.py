"""keystage report DATASET: the primary measures by LA, school or group, as the contract's CSV."""

from django.core.management.base import BaseCommand, CommandError

from keystage.core.inputs import assessment_year
from keystage.core.outfiles import write_csv
from keystage.measures import primary
from keystage.schools.models import LocalAuthority


class Command(BaseCommand):
    help = ("Write the measures of a dataset (methods.md 11.2) for an LA: its own figure, one "
            "row per school (--by school) or per pupil group (--by group), and the emerging "
            "national figure of every LA in this deployment (--national).")

    def add_arguments(self, parser):
        parser.add_argument("dataset", choices=primary.DATASETS)
        parser.add_argument("--la", required=True)
        parser.add_argument("--year", type=assessment_year, required=True)
        parser.add_argument("--by", choices=["school", "group"])
        parser.add_argument("--national", action="store_true")
        parser.add_argument("--out", required=True)

    def handle(self, *args, dataset, la, year, by, national, out, **options):
        from keystage.analysis.queries import report_rows

        authority = LocalAuthority.objects.filter(code=la).first()
        if authority is None:
            raise CommandError(f"--la {la}: no such local authority.", returncode=2)
        rows, counted = report_rows(authority, dataset, year, by=by, national=national)
        if not counted:
            # Bad input, not an empty report: say what to load (issue 12).
            raise CommandError(
                f"No {dataset} results are loaded for LA {la} in {year} (the {year - 1}/"
                f"{year % 100:02d} academic year): import the schools' files first "
                "(keystage import). No report was written.", returncode=2)
        path = write_csv(out, primary.REPORT_COLUMNS, rows)
        self.stdout.write(f"Wrote {len(rows)} rows to {path}.")
        from keystage.analysis.stored import report_inputs

        if report_inputs(dataset, year).provisional:
            self.stdout.write(f"Provisional: some {dataset} {year} results were loaded as early "
                              "results; the figures change when the DfE's file replaces them.")
