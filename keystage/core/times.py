"""GOV.UK date-times: "2 December 2026 at 3:04pm" (pure; never imports Django)."""

from __future__ import annotations

import datetime as dt


def govuk_time(value: dt.datetime | dt.time) -> str:
    """A 12-hour clock time in GOV.UK style: "3:04pm", "3pm", "12pm" (midday), "12am" (midnight)."""
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    return f"{hour}{suffix}" if value.minute == 0 else f"{hour}:{value.minute:02d}{suffix}"


def govuk_datetime(value: dt.datetime, zone: dt.tzinfo | None = None) -> str:
    """A date-time in GOV.UK style (in zone, if aware): "2 December 2026 at 3:04pm"."""
    if zone is not None and value.tzinfo is not None:
        value = value.astimezone(zone)
    return f"{value.day} {value:%B} {value.year} at {govuk_time(value)}"
