"""keystage indicators: what each LA has loaded of each dataset and year, against expectations."""

from django.core.management.base import BaseCommand, CommandError

from keystage.collection.indicators import indicators
from keystage.core.inputs import assessment_year
from keystage.core.outfiles import write_csv
from keystage.measures.indicators import INDICATOR_COLUMNS
from keystage.schools.models import LocalAuthority


class Command(BaseCommand):
    help = ("Import indicators: one row per LA, dataset and year with files, schools and pupils "
            "loaded, the pupils expected, and the deployment's share of the national cohort.")

    def add_arguments(self, parser):
        parser.add_argument("--la", help="three-digit LA code (default: every LA)")
        parser.add_argument("--year", type=assessment_year,
                            help="assessment year (default: the last five years)")
        parser.add_argument("--out", required=True, help="the CSV file to write")

    def handle(self, *args, la=None, year=None, out, **options):
        authority = None
        if la is not None:
            authority = LocalAuthority.objects.filter(code=la).first()
            if authority is None:
                raise CommandError(f"--la {la}: no such local authority.", returncode=2)
        rows = indicators(la=authority, year=year)
        path = write_csv(out, INDICATOR_COLUMNS,
                         ([row[c] for c in INDICATOR_COLUMNS] for row in rows))
        self.stdout.write(f"Wrote {len(rows)} indicator rows to {path}.")
