"""`flush` refused outside tests: it would empty the audit log, which is never emptied."""

from __future__ import annotations

from django.core import mail
from django.core.management.base import CommandError
from django.core.management.commands.flush import Command as DjangoFlush
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from keystage.audit.protect import triggers_suspended


def running_tests() -> bool:
    """True inside Django's test environment (pytest-django and the test runner set it up)."""
    # setup_test_environment() adds mail.outbox; it never exists in a running service.
    return hasattr(mail, "outbox")


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
