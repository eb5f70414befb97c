"""Writing audit events: called by every action, inside the action's transaction."""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Iterable
from functools import cache
from typing import Any

from django.db import transaction
from django.utils import timezone

from keystage.audit.models import AuditEvent
from keystage.core.bulk import bulk_insert


def actor_name(acting_user) -> str:
    """How the log names whoever did something: a user, or the command line's OS user."""
    if acting_user is not None:
        return acting_user.username
    return _command_line_actor()


@cache
def _command_line_actor() -> str:
    try:
        return f"command line ({getpass.getuser()})"
    except Exception:  # getuser fails in some containers with no passwd entry
        return "command line"


def jsonable(value: Any) -> Any:
    """A value as it is stored in extra_data: dates as ISO text, models by primary key."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


def record_event(
    event_type: str,
    *,
    acting_user,
    la=None,
    school=None,
    obj=None,
    summary: str = "",
    reason: str = "",
    old: dict | None = None,
    new: dict | None = None,
    **extra: Any,
) -> AuditEvent:
    """Append one event; must run inside the transaction of the write it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit events are written inside the action's transaction")
    return AuditEvent.objects.create(**_event_fields(
        event_type, acting_user=acting_user, la=la, school=school, obj=obj, summary=summary,
        reason=reason, old=old, new=new, **extra,
    ))


def record_events(events: Iterable[dict], *, batch_size: int = 2000) -> int:
    """Append many events in bulk (each dict takes record_event's arguments); returns the count."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit events are written inside the action's transaction")
    now = timezone.now()

    def rows():
        for event in events:
            f = _event_fields(**event)
            yield (
                now, _pk(f["acting_user"]), f["actor"], f["event_type"], _pk(f["la"]),
                _pk(f["school"]), f["object_type"], f["object_id"], f["summary"], f["reason"],
                f["extra_data"],
            )

    return bulk_insert(AuditEvent, _BULK_FIELDS, rows(), batch_size=batch_size)


_BULK_FIELDS = (
    "event_time", "acting_user", "actor", "event_type", "la", "school", "object_type",
    "object_id", "summary", "reason", "extra_data",
)


def _pk(obj):
    """A primary key from a model instance, or the key itself when given as a number."""
    if obj is None or isinstance(obj, int):
        return obj
    return obj.pk


def _event_fields(
    event_type: str,
    *,
    acting_user,
    la=None,
    school=None,
    obj=None,
    summary: str = "",
    reason: str = "",
    old: dict | None = None,
    new: dict | None = None,
    object_type: str = "",
    object_id: str = "",
    **extra: Any,
) -> dict:
    data: dict[str, Any] = {k: jsonable(v) for k, v in extra.items()}
    if old is not None:
        data["old"] = {k: jsonable(v) for k, v in old.items()}
    if new is not None:
        data["new"] = {k: jsonable(v) for k, v in new.items()}
    return {
        "event_type": event_type,
        "acting_user": acting_user,
        "actor": actor_name(acting_user),
        "la": la,
        "school": school,
        "object_type": obj._meta.model_name if obj is not None else object_type,
        "object_id": str(obj.pk) if obj is not None and obj.pk is not None else object_id,
        "summary": summary[:300],
        "reason": reason,
        "extra_data": data,
    }


def data_version() -> int:
    """The id of the latest audit event: every write is an audited action, so a new value means
    something may have changed (caches of rendered figures key on it)."""
    from django.db.models import Max

    return AuditEvent.objects.aggregate(last=Max("pk"))["last"] or 0
