"""`flush` refused outside tests: it would empty the audit log, which is never emptied."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.flush import Command as DjangoFlush
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from keystage.audit.protect import triggers_suspended


def running_tests() -> bool:
    """True in the test run (settings.TESTING: pytest, or KEYSTAGE_TESTS set by conftest.py)."""
    return settings.TESTING


class Command(DjangoFlush):
    help = "Only for the test suite: empties every table. Refused otherwise (keeps the audit log)."

    def handle(self, **options):
        if not running_tests():
            raise CommandError(
                "flush is refused: it would delete the audit log, which Keystage keeps for good. "
                "To start again, create a new database and run `keystage migrate`.",
                returncode=2,
            )
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with transaction.atomic(using=connection.alias), triggers_suspended(connection):
            return super().handle(**options)
