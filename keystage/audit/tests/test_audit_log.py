"""The audit log: append-only rows, written inside the action's transaction, searched per LA."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from keystage.accounts.actions import do_change_user_role, do_create_user
from keystage.accounts.models import Role
from keystage.audit.log import record_event, record_events
from keystage.audit.models import AuditEvent, EventType
from keystage.schools.actions import do_update_establishment


@pytest.fixture
def event(world) -> AuditEvent:
    return AuditEvent.objects.filter(la=world.a.la).first()


# -- Append-only ----------------------------------------------------------------------------


def test_save_raises_when_an_existing_event_is_changed(event):
    event.summary = "Rewritten history"

    with pytest.raises(PermissionError):
        event.save()

    event.refresh_from_db()
    assert event.summary != "Rewritten history"


def test_delete_raises_when_an_event_is_deleted(event):
    with pytest.raises(PermissionError):
        event.delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_queryset_update_raises_when_events_are_changed_in_bulk(event):
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(summary="Rewritten history")
    with pytest.raises(PermissionError):
        AuditEvent.objects.update(reason="")

    event.refresh_from_db()
    assert event.summary != "Rewritten history"


def test_queryset_delete_raises_when_events_are_deleted_in_bulk(world, event):
    count = AuditEvent.objects.count()

    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.count() == count


def test_bulk_update_raises_when_events_are_changed_in_bulk(event):
    event.summary = "Rewritten history"

    with pytest.raises(PermissionError):
        AuditEvent.objects.bulk_update([event], ["summary"])


def test_record_event_raises_when_called_outside_a_transaction():
    # No database mark: there is no test transaction around this call, as in real code that
    # forgot @transaction.atomic; the check comes before any query.
    assert not transaction.get_connection().in_atomic_block

    with pytest.raises(RuntimeError, match="inside the action's transaction"):
        record_event(EventType.USER_CREATED, acting_user=None, summary="no transaction")
    with pytest.raises(RuntimeError, match="inside the action's transaction"):
        record_events([{"event_type": EventType.USER_CREATED, "acting_user": None}])


def test_action_writes_no_event_when_its_transaction_rolls_back(world):
    before = AuditEvent.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        do_create_user("rolled_back", role=Role.LA_ANALYST, la=world.a.la, acting_user=None)
        raise RuntimeError("the write failed after the event was recorded")

    assert AuditEvent.objects.count() == before


def test_record_event_stores_old_and_new_values_as_json(world):
    today = dt.date(2026, 6, 30)
    with transaction.atomic():
        stored = record_event(
            EventType.ESTABLISHMENT_CHANGED, acting_user=world.a.users[Role.LA_ADMIN],
            la=world.a.la, obj=world.a.schools[0], summary="edited", reason="typo",
            old={"close_date": None, "la": world.a.la}, new={"close_date": today}, rows=3,
        )

    stored = AuditEvent.objects.get(pk=stored.pk)
    assert stored.old == {"close_date": None, "la": world.a.la.pk}
    assert stored.new == {"close_date": "2026-06-30"}
    assert stored.extra_data["rows"] == 3
    assert stored.actor == "la_admin_330"
    assert (stored.object_type, stored.object_id) == ("establishment", str(world.a.schools[0].pk))


def test_record_event_names_the_command_line_when_there_is_no_user(world):
    with transaction.atomic():
        stored = record_event(EventType.DEMO_LOADED, acting_user=None, summary="demo")

    assert stored.actor.startswith("command line")
    assert stored.acting_user is None


# -- The audit page -------------------------------------------------------------------------


@pytest.fixture
def logged(world, login):
    """Events by each LA's admin, then the LA 330 admin's client on the audit page."""
    for part in (world.a, world.b):
        admin = part.users[Role.LA_ADMIN]
        do_change_user_role(part.users[Role.LA_DATA_OFFICER], Role.LA_ANALYST,
                            acting_user=admin, reason=f"Restructure in {part.la.name}")
        do_update_establishment(part.schools[0], {"postcode": "ZZ9 9ZZ"}, acting_user=admin,
                                reason="Moved site")
    return login(world.a.users[Role.LA_ADMIN])


def _events(response) -> list[AuditEvent]:
    assert response.status_code == 200
    return list(response.context["grid"].rows)


def test_audit_page_shows_only_the_las_events_when_the_admin_opens_it(world, logged):
    events = _events(logged.get("/audit/"))

    assert events
    assert {e.la_id for e in events} == {world.a.la.pk}
    assert len(events) == AuditEvent.objects.filter(la=world.a.la).count()


def test_audit_page_never_shows_the_other_las_events_when_searching_by_text(world, logged):
    own = _events(logged.get("/audit/?q=Restructure"))
    theirs = _events(logged.get("/audit/?q=Coventry"))

    assert [e.reason for e in own] == ["Restructure in Birmingham"]
    assert theirs == []
    assert AuditEvent.objects.filter(summary__icontains="Coventry").exists()


def test_audit_page_finds_a_schools_events_when_searching_by_urn(world, logged):
    mine = _events(logged.get(f"/audit/?q={world.a.schools[0].urn}"))
    theirs = _events(logged.get(f"/audit/?q={world.b.schools[0].urn}"))

    assert mine and {e.school_id for e in mine} == {world.a.schools[0].pk}
    assert theirs == []


def test_audit_page_filters_by_event_type_within_the_la(world, logged):
    events = _events(logged.get("/audit/?type=user-role-changed"))

    assert len(events) == 1
    assert events[0].la == world.a.la
    assert AuditEvent.objects.filter(event_type=EventType.USER_ROLE_CHANGED).count() == 2


def test_audit_page_filters_by_user_within_the_la(world, logged):
    own = _events(logged.get("/audit/?actor=la_admin_330"))
    theirs = _events(logged.get("/audit/?actor=la_admin_331"))

    assert {e.event_type for e in own} == {EventType.USER_ROLE_CHANGED,
                                           EventType.ESTABLISHMENT_CHANGED}
    assert theirs == []
    assert AuditEvent.objects.filter(actor="la_admin_331").exists()


def test_audit_page_filters_by_date_range(world, logged):
    today = timezone.localdate()
    yesterday, tomorrow = today - dt.timedelta(days=1), today + dt.timedelta(days=1)

    in_range = _events(logged.get(f"/audit/?from={yesterday}&to={today}"))
    future = _events(logged.get(f"/audit/?from={tomorrow}"))
    past = _events(logged.get(f"/audit/?to={yesterday}"))

    assert len(in_range) == AuditEvent.objects.filter(la=world.a.la).count()
    assert future == []
    assert past == []


@pytest.mark.parametrize(("query", "field"), [("from=30/06/2026", "from"), ("to=2026-02-30", "to"),
                                               ("from=yesterday&to=2026-13-01", "from")])
def test_audit_page_shows_an_error_message_when_a_date_is_not_a_date(logged, query, field):
    response = logged.get(f"/audit/?{query}")

    assert response.status_code == 200
    text = response.content.decode()
    assert "There is a problem" in text
    assert f'href="#{field}"' in text
    assert "as a real date" in text


def test_audit_page_shows_old_and_new_values_and_the_reason(logged):
    response = logged.get("/audit/?type=user-role-changed")

    text = response.content.decode()
    assert "la_data_officer → la_analyst" in text
    assert "Restructure in Birmingham" in text
    assert "la_admin_330" in text

    edited = logged.get("/audit/?type=establishment-changed").content.decode()
    assert "AB1 2CD → ZZ9 9ZZ" in edited
    assert "Moved site" in edited


def test_audit_page_answers_403_when_the_user_is_not_an_la_admin(world, login):
    for role in (Role.LA_DATA_OFFICER, Role.LA_ANALYST, Role.SCHOOL_USER):
        assert login(world.a.users[role]).get("/audit/").status_code == 403
    assert login(world.national).get("/audit/").status_code == 403
