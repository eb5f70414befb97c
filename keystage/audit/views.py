"""Searching the audit log."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import render

from keystage.accounts import access
from keystage.audit.models import EventType
from keystage.core.inputs import choice_param, text_param
from keystage.core.pagination import paginate


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


@login_required
def audit_log(request):
    """The LA's audit log, searchable by text, event type, school, user and dates."""
    events = access.access_audit_events(request.user)
    q = text_param(request, "q")
    if q:
        events = events.filter(
            Q(summary__icontains=q) | Q(reason__icontains=q) | Q(actor__icontains=q)
            | Q(school__urn=q) | Q(school__laestab=q) | Q(school__name__icontains=q)
        )
    event_type = choice_param(request, "type", EventType.values, default="")
    if event_type:
        events = events.filter(event_type=event_type)
    actor = text_param(request, "actor", max_length=150)
    if actor:
        events = events.filter(actor__iexact=actor)
    errors = []
    start, end = request.GET.get("from", ""), request.GET.get("to", "")
    if start:
        if (day := _date(start)) is None:
            errors.append(("from", "Enter the 'from' date as a real date, like 2026-06-30."))
        else:
            events = events.filter(event_time__date__gte=day)
    if end:
        if (day := _date(end)) is None:
            errors.append(("to", "Enter the 'to' date as a real date, like 2026-07-31."))
        else:
            events = events.filter(event_time__date__lte=day)
    return render(request, "audit/log.html", {
        "grid": paginate(request, events), "q": q, "type": event_type, "actor": actor,
        "from": start, "to": end, "types": EventType.choices, "errors": errors,
    })
