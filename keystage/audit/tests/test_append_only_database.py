"""The database refuses changes to the audit log, and so does every ORM back door."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, models, transaction

from keystage import cli
from keystage.audit.management.commands import flush as flush_command
from keystage.audit.models import AuditEvent, EventType


@pytest.fixture
def event(world) -> AuditEvent:
    return AuditEvent.objects.filter(la=world.a.la).first()


def _raw(sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_database_refuses_an_update_of_an_audit_row(event):
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE audit_auditevent SET summary = 'Rewritten' WHERE id = %s", [event.pk])

    event.refresh_from_db()
    assert event.summary != "Rewritten"


def test_database_refuses_a_delete_of_an_audit_row(event):
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])

    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no TRUNCATE")
def test_database_refuses_a_truncate_of_the_audit_table(event):
    # Run the deferred foreign-key checks first: TRUNCATE refuses a table with pending ones.
    _raw("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("TRUNCATE audit_auditevent CASCADE")

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_save_base_raises_when_an_existing_event_is_changed(event):
    event.summary = "Rewritten"

    with pytest.raises(PermissionError):
        event.save_base()

    event.refresh_from_db()
    assert event.summary != "Rewritten"


def test_private_update_raises_when_events_are_changed(event):
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk)._update({"summary": "Rewritten"})


def test_bulk_create_with_update_conflicts_raises(event):
    copy = AuditEvent(
        pk=event.pk, actor="x", event_type=EventType.USER_CREATED, summary="Rewritten"
    )

    with pytest.raises(PermissionError):
        AuditEvent.objects.bulk_create(
            [copy], update_conflicts=True, unique_fields=["id"], update_fields=["summary"]
        )

    event.refresh_from_db()
    assert event.summary != "Rewritten"


def test_update_or_create_raises(event):
    with pytest.raises(PermissionError):
        AuditEvent.objects.update_or_create(pk=event.pk, defaults={"summary": "Rewritten"})


def test_a_plain_queryset_past_the_manager_fails_at_the_database(event):
    # Code that builds its own QuerySet skips the manager's guards; the triggers still refuse.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        models.QuerySet(model=AuditEvent).filter(pk=event.pk).update(summary="Rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        models.QuerySet(model=AuditEvent).filter(pk=event.pk)._raw_delete(connection.alias)

    event.refresh_from_db()
    assert event.summary != "Rewritten"


def test_flush_is_refused_outside_tests(world, monkeypatch):
    monkeypatch.setattr(flush_command, "running_tests", lambda: False)
    count = AuditEvent.objects.count()

    with pytest.raises(CommandError, match="audit log"):
        call_command("flush", interactive=False, verbosity=0)

    assert AuditEvent.objects.count() == count


def test_keystage_flush_exits_2_outside_tests(transactional_db, monkeypatch, capsys):
    # transactional_db: the command line closes its database connection when it ends.
    monkeypatch.setattr(flush_command, "running_tests", lambda: False)
    with transaction.atomic():
        AuditEvent.objects.create(actor="test", event_type=EventType.USER_CREATED)

    assert cli.main(["flush", "--no-input"]) == 2

    assert "flush is refused" in capsys.readouterr().err
    assert AuditEvent.objects.count() == 1
    monkeypatch.undo()  # before the harness's own flush at teardown


def test_flush_empties_the_database_inside_the_test_harness_and_keeps_the_triggers(
    transactional_db,
):
    with transaction.atomic():
        AuditEvent.objects.create(actor="test", event_type=EventType.USER_CREATED)

    call_command("flush", interactive=False, verbosity=0)

    assert AuditEvent.objects.count() == 0
    with transaction.atomic():
        event = AuditEvent.objects.create(actor="test", event_type=EventType.USER_CREATED)
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])


def test_a_cohort_import_records_old_and_new_counts(world):
    from keystage.collection.actions import do_import_expected_cohorts

    a0, a1 = world.a.schools[0], world.a.schools[1]
    officer = world.a.users["la_data_officer"]
    header = "LAESTAB,Collection,AcademicYear,ExpectedCount\n"
    first = f"{header}{a0.laestab},EYFSP,2025/26,20\n{a1.laestab},EYFSP,2025/26,30\n"
    second = f"{header}{a0.laestab},EYFSP,2025/26,25\n{a1.laestab},EYFSP,2025/26,30\n"

    do_import_expected_cohorts(first.encode(), filename="c1.csv", la=world.a.la,
                               acting_user=officer)
    do_import_expected_cohorts(second.encode(), filename="c2.csv", la=world.a.la,
                               acting_user=officer)

    events = AuditEvent.objects.filter(event_type=EventType.COHORTS_IMPORTED).order_by("id")
    loaded, changed = list(events)
    assert loaded.old == {f"{a0.laestab} EYFSP 2026": None, f"{a1.laestab} EYFSP 2026": None}
    assert loaded.new == {f"{a0.laestab} EYFSP 2026": 20, f"{a1.laestab} EYFSP 2026": 30}
    assert changed.old == {f"{a0.laestab} EYFSP 2026": 20}
    assert changed.new == {f"{a0.laestab} EYFSP 2026": 25}
