"""Database triggers that keep the audit table append-only, whatever code reaches the database.

The model and its manager refuse changes in Python; these triggers refuse them in the database,
so a raw query, an ORM back door or a bug cannot rewrite or remove history either.
"""

from __future__ import annotations

from contextlib import contextmanager

TABLE = "audit_auditevent"
MESSAGE = "audit events are append-only and cannot be changed or deleted"

_POSTGRES_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION keystage_audit_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP;
    END
    $$
    """,
    f"""
    CREATE TRIGGER audit_refuse_update_delete BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION keystage_audit_refuse_change()
    """,
    f"""
    CREATE TRIGGER audit_refuse_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION keystage_audit_refuse_change()
    """,
]
_POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS audit_refuse_update_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS audit_refuse_truncate ON {TABLE}",
    "DROP FUNCTION IF EXISTS keystage_audit_refuse_change()",
]
_SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER IF NOT EXISTS audit_refuse_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS audit_refuse_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
]
_SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_refuse_update",
    "DROP TRIGGER IF EXISTS audit_refuse_delete",
]


def _statements(vendor: str, install: bool) -> list[str]:
    if vendor == "postgresql":
        return _POSTGRES_INSTALL if install else _POSTGRES_REMOVE
    if vendor == "sqlite":
        return _SQLITE_INSTALL if install else _SQLITE_REMOVE
    return []  # another database: the model and manager still refuse changes


def install_triggers(connection) -> None:
    """Create the triggers that refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL) on the log."""
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, install=True):
            cursor.execute(sql)


def remove_triggers(connection) -> None:
    """Drop the triggers (reversing the migration)."""
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, install=False):
            cursor.execute(sql)


@contextmanager
def triggers_suspended(connection):
    """Lift the protection for the block; only the test harness's flush uses this."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        else:
            remove_triggers(connection)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
            else:
                install_triggers(connection)
