"""keystage export results|pupils|socialcare: committed data as CSV, in the contract's layouts."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from keystage.collection.models import Collection
from keystage.collection.queries import (
    iter_ks2_results,
    iter_results,
    ks2_result_columns,
    result_columns,
)
from keystage.core.cells import SafeCsvWriter
from keystage.core.inputs import assessment_year
from keystage.schools.models import LocalAuthority


class Command(BaseCommand):
    help = ("Export committed data. `export results`: one row per pupil of a collection with "
            "every component; `export pupils`: one row per pupil of the LA in the year with "
            "their characteristics (methods.md 11.1); `export socialcare`: one row per child of "
            "the SSDA903 and CIN census of the collection year ending 31 March of --year.")

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["results", "pupils", "socialcare"])
        parser.add_argument("--la", required=True)
        parser.add_argument("--year", type=assessment_year, required=True,
                            help="assessment year, e.g. 2026")
        parser.add_argument("--collection", choices=[*Collection.values, "ks2"],
                            help="the collection (export results only)")
        parser.add_argument("--out", required=True, help="the CSV file to write")

    def handle(self, *args, what, la, year, collection, out, **options):
        authority = LocalAuthority.objects.filter(code=la).first()
        if authority is None:
            raise CommandError(f"--la {la}: no such local authority.", returncode=2)
        if what == "results" and not collection:
            raise CommandError("export results needs --collection.", returncode=2)
        noun = "pupils"
        if what == "socialcare":
            from keystage.socialcare.queries import EXPORT_COLUMNS, socialcare_export_rows

            header = list(EXPORT_COLUMNS)
            rows = ([r[c] for c in EXPORT_COLUMNS]
                    for r in socialcare_export_rows(authority, year))
            noun = "children"
        elif what == "pupils":
            from keystage.context.queries import pupil_characteristics
            from keystage.measures.characteristics import EXPORT_COLUMNS

            header = list(EXPORT_COLUMNS)
            rows = pupil_characteristics(authority, year).select(EXPORT_COLUMNS).iter_rows()
        elif collection == "ks2":
            header = ks2_result_columns()
            rows = iter_ks2_results(authority, year)
        else:
            header = result_columns(collection, year)
            rows = iter_results(authority, collection, year)
        path = Path(out)
        temporary = path.with_name(path.name + ".part")
        count = 0
        try:
            with temporary.open("w", encoding="utf-8", newline="") as handle:
                writer = SafeCsvWriter(handle)
                writer.writerow(header)
                for row in rows:
                    writer.writerow(row)
                    count += 1
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise CommandError(f"{out}: could not be written ({error.strerror or error}).",
                               returncode=2) from error
        temporary.replace(path)  # no half-written file under the final name
        self.stdout.write(f"Wrote {count} {noun} to {path}.")
