"""One LA's pupil identity changed by one transaction at a time.

Pupil records and identifiers keep no database constraint on their pupil key: PostgreSQL
checks such a key row by row at commit, taking a share lock on the pupil's row for each, and
that was an eighth of the machine's time in a national census load (bench/RESULTS.md, 13th
session). What the constraint guarded against is a race: an officer's merge deleting a pupil
that an import, still uncommitted, is linking records to. Instead, every transaction that
links records or identifiers to an LA's pupils, or makes, merges or deletes pupils, holds this
lock first: imports (a chunk's transaction), care returns, and the officers' confirm, split,
merge and match actions. Each then reads the pupils only once it holds the lock, so it sees
every change committed before it.
"""

from __future__ import annotations

from django.db import DatabaseError, connection

# The first key of PostgreSQL's two-key advisory locks: "ks" and 1, Keystage's pupil identity.
_IDENTITY = 0x6B730001

# How long an officer's action waits for an import of the same LA to commit before it is
# refused with a message (an import holds the lock for one chunk of files, seconds to a minute).
OFFICER_WAIT_SECONDS = 60.0


class IdentityBusy(RuntimeError):
    """The LA's pupil identity is being changed by another transaction (an import, usually)."""


def hold_pupil_identity(la_id: int, *, wait_seconds: float | None = None) -> None:
    """Until this transaction ends, no other transaction changes the LA's pupils, their
    identifiers or which pupil a record is; waits for one that does (for at most `wait_seconds`
    if given, then IdentityBusy).

    PostgreSQL: a transaction-level advisory lock. SQLite lets one transaction write at a time
    and each of these writes before it reads the pupils, so it needs none.
    """
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("hold_pupil_identity needs a transaction: the lock ends with it")
    with connection.cursor() as cursor:
        if wait_seconds is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_IDENTITY, la_id])
            return
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_IDENTITY, la_id])
        if cursor.fetchone()[0]:
            return
        # Busy: wait, but not for ever (an officer is waiting on a page).
        cursor.execute("SELECT current_setting('lock_timeout')")
        (before,) = cursor.fetchone()
        cursor.execute("SELECT set_config('lock_timeout', %s, true)",
                       [f"{max(1, int(wait_seconds * 1000))}ms"])
        try:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_IDENTITY, la_id])
        except DatabaseError as error:
            raise IdentityBusy("Files of this local authority are being loaded and are linking "
                               "pupils right now. Try again when the import has finished.") \
                from error
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
