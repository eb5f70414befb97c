"""keystage lost list: an LA's lost-pupils register as CSV."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from keystage.core.outfiles import write_csv
from keystage.schools.models import LocalAuthority

LOST_COLUMNS = ("upn", "surname", "forename", "dob", "sex", "last_laestab", "left_on",
                "destination", "status", "matched_laestab")


def lost_rows(pupils) -> list[list]:
    """The `lost list` rows of these register pupils."""
    return [[p.upn, p.surname, p.forename, p.dob.isoformat() if p.dob else "", p.sex,
             p.last_laestab, p.left_on.isoformat(), p.destination, p.status, p.matched_laestab]
            for p in pupils]


class Command(BaseCommand):
    help = "List an LA's lost-pupils register (lost and found pupils) as CSV."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="the register as CSV")
        listing.add_argument("--la", required=True)
        listing.add_argument("--out", required=True)

    def handle(self, *args, action, la, out, **options):
        from keystage.transfer.models import LostPupil

        authority = LocalAuthority.objects.filter(code=la).first()
        if authority is None:
            raise CommandError(f"--la {la}: no such local authority.", returncode=2)
        pupils = LostPupil.objects.filter(la=authority).order_by("left_on", "surname",
                                                                 "forename", "id")
        write_csv(out, LOST_COLUMNS, lost_rows(pupils))
        self.stdout.write(f"Wrote {pupils.count()} pupil(s) to {out}.")
