"""One GOV.UK date format everywhere, also for dates kept as ISO text (in JSON fields)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import formats, timezone

from keystage.core import times

register = template.Library()


def _parsed(value):
    """ISO text as a date or datetime; anything else as it is."""
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value) if "T" in value or ":" in value \
                else dt.date.fromisoformat(value)
        except ValueError:
            return value  # not a date: show it as it is
    return value


def local_govuk_datetime(value: dt.datetime) -> str:
    """A datetime in local time (settings.TIME_ZONE), GOV.UK style: "2 December 2026 at 3:04pm"."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return times.govuk_datetime(value)


@register.filter
def govuk_date(value) -> str:
    """A date in the settings' format ("2 December 2026"); a datetime as govuk_datetime shows it."""
    value = _parsed(value)
    if isinstance(value, dt.datetime):
        return local_govuk_datetime(value)
    if isinstance(value, dt.date):
        return formats.date_format(value, "DATE_FORMAT")
    return "" if value is None else str(value)


@register.filter
def govuk_datetime(value) -> str:
    """A datetime or ISO text in local time, GOV.UK style ("2 December 2026 at 3:04pm")."""
    return govuk_date(value)
