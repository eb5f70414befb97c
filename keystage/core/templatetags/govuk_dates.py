"""One GOV.UK date format everywhere, also for dates kept as ISO text (in JSON fields)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import formats, timezone

register = template.Library()


@register.filter
def govuk_date(value) -> str:
    """A date, datetime or ISO text in the settings' format ("2 December 2026")."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value) if "T" in value or ":" in value \
                else dt.date.fromisoformat(value)
        except ValueError:
            return value  # not a date: show it as it is
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return formats.date_format(value, "DATETIME_FORMAT")
    if isinstance(value, dt.date):
        return formats.date_format(value, "DATE_FORMAT")
    return "" if value is None else str(value)
