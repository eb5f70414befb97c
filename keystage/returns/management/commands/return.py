"""keystage return: make an LA's DfE return file for a collection and year."""

import shutil
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from keystage.core.inputs import assessment_year
from keystage.core.plural import counted
from keystage.returns.actions import NoReturnData, ReturnBlocked, do_make_return
from keystage.returns.layout import RETURN_COLLECTIONS
from keystage.returns.writer import write_whole
from keystage.schools.models import LocalAuthority


class Command(BaseCommand):
    help = (
        "Make the LA's DfE return for a collection and year, after a fresh run of the "
        "cleaning rules. Errors block it (exit 1, no file); queries must be accepted with "
        "--allow-queries. The file is validated against the return's schema, kept in the "
        "history, and copied to --out."
    )

    def add_arguments(self, parser):
        parser.add_argument("collection", choices=RETURN_COLLECTIONS)
        parser.add_argument("--la", required=True, help="three-digit LA code")
        parser.add_argument(
            "--year", type=assessment_year, required=True,
            help="assessment year (summer), e.g. 2026",
        )
        parser.add_argument("--out", required=True, help="folder to copy the return file into")
        parser.add_argument(
            "--allow-queries",
            action="store_true",
            help="accept the queries the rules found (recorded in the history)",
        )

    def handle(self, *args, collection, la, year, out, allow_queries, **options):
        authority = LocalAuthority.objects.filter(code=la).first()
        if authority is None:
            raise CommandError(f"--la {la}: no such local authority in the register.", returncode=2)
        folder = Path(out)
        if not folder.is_dir():
            raise CommandError(f"--out {out}: no such folder. Create it first.", returncode=2)

        def progress(done, total, message):
            self.stderr.write(f"[{done}/{total}] {message}")

        try:
            made = do_make_return(
                authority,
                collection,
                year,
                acting_user=None,
                accept_queries=allow_queries,
                progress=progress,
            )
        except NoReturnData as error:
            raise CommandError(str(error), returncode=2) from None
        except ReturnBlocked as blocked:
            self._list(blocked.check)
            raise CommandError(str(blocked), returncode=1) from None
        target = folder / made.filename
        write_whole(target, partial(shutil.copyfile, Path(settings.MEDIA_ROOT) / made.stored_path))
        self.stdout.write(
            f"Wrote {target}: {counted(made.pupils, 'pupil')} from "
            f"{counted(made.schools, 'school')} (sha256 {made.sha256})."
        )
        if made.accepted_queries:
            accepted = ", ".join(f"{code} ({n})" for code, n in made.accepted_queries.items())
            self.stdout.write(f"Queries accepted: {accepted}.")
        if made.missing_schools:
            self.stdout.write(f"Expected schools with no data: {', '.join(made.missing_schools)}.")
        changes = made.changes
        if not changes.get("first"):
            self.stdout.write(
                f"Since {changes['previous']}: {changes['pupils_added']} pupils added, "
                f"{changes['pupils_removed']} removed, {changes['pupils_changed']} changed."
            )

    def _list(self, check):
        for issue in check.errors:
            self.stdout.write(
                f"error {issue.rule_code} {issue.laestab} {issue.upn or '-'} "
                f"{issue.field}={issue.value!r}: {issue.message}"
            )
        if check.error_count > len(check.errors):
            self.stdout.write(
                f"... and {check.error_count - len(check.errors)} more errors "
                "(keystage clean --report lists them all)."
            )
        for code, count in check.queries.items():
            self.stdout.write(f"query {code}: {count}")
