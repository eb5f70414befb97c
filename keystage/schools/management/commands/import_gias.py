"""keystage import-gias: load a GIAS 'all establishments' extract into the register."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from keystage.formats.errors import FormatError
from keystage.formats.la_codes import is_known_la_code
from keystage.schools.actions import ForeignEstablishmentError, do_import_establishments


class Command(BaseCommand):
    help = ("Insert or update the schools register from a GIAS extract, by URN; report what was "
            "added, changed and closed. Creates the LAs the file names.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the GIAS extract (CSV, UTF-8)")
        parser.add_argument("--la", help="load only this LA's rows (three-digit LA code)")

    def handle(self, *args, file: str, la: str | None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file. Check the path.", returncode=2)
        if la is not None and not is_known_la_code(la):
            raise CommandError(f"--la {la}: not a known LA code. Use the three-digit DfE LA "
                               "code, for example 330 for Birmingham.", returncode=2)

        def progress(done, total, message):
            self.stderr.write(f"[{done}/{total}] {message}")

        try:
            outcome = do_import_establishments(
                path.read_bytes(), filename=path.name, la_code=la, acting_user=None,
                progress=progress,
            )
        except ForeignEstablishmentError as error:
            # The file is readable but its data blocks the import (exit 1, as the contract says).
            raise CommandError(f"{error}\nNothing was changed in the register.",
                               returncode=1) from None
        except FormatError as error:
            raise CommandError(f"{error}\nNothing was changed in the register.",
                               returncode=2) from None
        self.stdout.write(outcome.summary())
        if outcome.unknown_columns:
            self.stdout.write(f"{len(outcome.unknown_columns)} columns not used: "
                              + ", ".join(outcome.unknown_columns[:10])
                              + (" ..." if len(outcome.unknown_columns) > 10 else ""))
        # What was added, changed and closed, with each changed field's old and new value.
        for urn in outcome.added[:ADDED_SHOWN]:
            self.stdout.write(f"added: {urn}")
        if len(outcome.added) > ADDED_SHOWN:
            self.stdout.write(f"... and {len(outcome.added) - ADDED_SHOWN} more added (the "
                              "import report in the app lists them all)")
        for urn, (old, new) in outcome.moved.items():
            self.stdout.write(f"moved: {urn}: from LA {old} to LA {new}")
        # Each LA's import report in the app lists its moves: in for the new LA, out for the old.
        for log in outcome.imports:
            if log.moved_in or log.moved_out:
                self.stdout.write(f"LA {log.la.code} import report: {log.moved_in} moved in, "
                                  f"{log.moved_out} moved out")
        closed = set(outcome.closed)
        for urn, fields in outcome.changed.items():
            changes = "; ".join(f"{name}: {_shown(old)} -> {_shown(new)}"
                                for name, (old, new) in fields.items())
            self.stdout.write(f"{'closed' if urn in closed else 'changed'}: {urn}: {changes}")


# A first national import adds about 50,000 schools: list only the first ones.
ADDED_SHOWN = 100


def _shown(value) -> str:
    return "(empty)" if value is None or value == "" else str(value)
