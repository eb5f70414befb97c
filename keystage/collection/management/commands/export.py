"""keystage export results: one CSV row per pupil of a collection, as committed."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from keystage.collection.models import Collection
from keystage.collection.queries import iter_results, result_columns
from keystage.core.cells import SafeCsvWriter
from keystage.core.inputs import assessment_year
from keystage.schools.models import LocalAuthority


class Command(BaseCommand):
    help = "Export committed data. `export results`: one row per pupil with every component."

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["results"])
        parser.add_argument("--la", required=True)
        parser.add_argument("--year", type=assessment_year, required=True,
                            help="assessment year, e.g. 2026")
        parser.add_argument("--collection", required=True, choices=Collection.values)
        parser.add_argument("--out", required=True, help="the CSV file to write")

    def handle(self, *args, what, la, year, collection, out, **options):
        authority = LocalAuthority.objects.filter(code=la).first()
        if authority is None:
            raise CommandError(f"--la {la}: no such local authority.", returncode=2)
        path = Path(out)
        temporary = path.with_name(path.name + ".part")
        count = 0
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            writer = SafeCsvWriter(handle)
            writer.writerow(result_columns(collection, year))
            for row in iter_results(authority, collection, year):
                writer.writerow(row)
                count += 1
        temporary.replace(path)  # no half-written file under the final name
        self.stdout.write(f"Wrote {count} pupils to {path}.")
