"""keystage transfer send|inbox|download: school-to-school CTFs from the command line."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from keystage.core.outfiles import write_csv, write_out
from keystage.schools.models import Establishment

INBOX_COLUMNS = ("id", "from_laestab", "to_laestab", "file_name", "pupils", "sent_at", "status")


def _school(laestab: str, option: str) -> Establishment:
    school = Establishment.objects.filter(laestab=laestab, is_pvi=False).select_related(
        "la").first()
    if school is None:
        raise CommandError(f"{option} {laestab}: no such school in the register (give its "
                           "seven-digit LAESTAB).", returncode=2)
    return school


def inbox_rows(files) -> list[list]:
    """The `transfer inbox` rows of these files."""
    return [[f.pk, f.from_laestab, f.to_laestab, f.file_name, f.pupils,
             timezone.localtime(f.sent_at).isoformat(timespec="seconds"), f.status]
            for f in files]


class Command(BaseCommand):
    help = ("Send CTFs from a school (the destination is read from each file's header), list a "
            "school's inbox, or download a file sent to it.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser("send", help="send CTFs (files, folders or ZIPs) from a school")
        send.add_argument("paths", nargs="+")
        send.add_argument("--from", dest="from_school", required=True,
                          help="the sending school's LAESTAB")
        inbox = sub.add_parser("inbox", help="the files sent to a school, as CSV")
        inbox.add_argument("--school", required=True)
        inbox.add_argument("--out", required=True)
        download = sub.add_parser("download", help="download a file sent to a school")
        download.add_argument("id", type=int)
        download.add_argument("--school", required=True)
        download.add_argument("--out", required=True)

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _send(self, *, paths, from_school, **options):
        from keystage.collection.inputs import iter_input_files
        from keystage.transfer.actions import send_transfer_files

        school = _school(from_school, "--from")
        missing = [p for p in paths if not Path(p).exists()]
        if missing:
            raise CommandError(f"{', '.join(missing)}: no such file or folder.", returncode=2)
        outcomes = send_transfer_files(iter_input_files([Path(p) for p in paths]),
                                       from_school=school, acting_user=None)
        for outcome in outcomes:
            stream = self.stderr if outcome.status == "refused" else self.stdout
            stream.write(f"{outcome.status}: {outcome.message}")
        if any(o.status == "refused" for o in outcomes):
            # As `keystage import`: a refused file is unreadable or unusable input (exit 2).
            raise CommandError(f"{sum(o.status == 'refused' for o in outcomes)} of "
                               f"{len(outcomes)} file(s) refused; nothing of them was stored; "
                               "the others were sent.", returncode=2)

    def _inbox(self, *, school, out, **options):
        from keystage.transfer.models import TransferFile

        found = _school(school, "--school")
        files = TransferFile.objects.filter(to_school=found).order_by("-sent_at", "-id")

        write_csv(out, INBOX_COLUMNS, inbox_rows(files))
        self.stdout.write(f"Wrote {files.count()} file(s) to {out}.")

    def _download(self, *, id, school, out, **options):
        from keystage.transfer.actions import do_download_transfer_file
        from keystage.transfer.models import TransferFile

        found = _school(school, "--school")
        transfer = TransferFile.objects.filter(pk=id, to_school=found).first()
        if transfer is None:
            raise CommandError(f"No transfer file {id} was sent to {school}. See "
                               "`keystage transfer inbox`.", returncode=2)
        try:
            data = do_download_transfer_file(transfer, acting_user=None, school=found)
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from error
        write_out(out, lambda handle: handle.write(data), binary=True)
        self.stdout.write(f"Wrote {transfer.file_name} ({len(data)} bytes) to {out}.")
