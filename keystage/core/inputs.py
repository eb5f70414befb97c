"""One place that checks what a request brings before it reaches the database.

PostgreSQL refuses a NUL character in text and an integer outside its column's range with an
error (a 500), where SQLite silently stores them; so both are refused here, the same on both.
Views read query parameters through `int_param` and `choice_param`; forms get their limits
from `keystage.core.forms.GovukFormMixin`; actions that load files check with `check_text`.
"""

from __future__ import annotations

from django.db.backends.base.operations import BaseDatabaseOperations
from django.http import Http404
from django.shortcuts import render

from keystage.years import MAX_YEAR, MIN_YEAR

NUL = "\x00"
NUL_MESSAGE = (
    "What you sent contains a NUL character (\\x00), which cannot be stored. It usually comes "
    "from copying text out of another program or a binary file. Remove it and try again."
)
# The ranges PostgreSQL enforces for each integer column type (SQLite enforces none, so
# Django's defaults, which match PostgreSQL's, are used on both).
INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges
INT_RANGE = INTEGER_RANGES["IntegerField"]


def has_nul(value) -> bool:
    """True when a text value contains a NUL character."""
    return isinstance(value, str) and NUL in value


def _querydict_has_nul(data) -> bool:
    return any(has_nul(key) or any(has_nul(v) for v in values) for key, values in data.lists())


class RefuseNulBytesMiddleware:
    """Answers 400 with a clear message when any GET or POST name or value holds a NUL."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _querydict_has_nul(request.GET) or (
            request.method == "POST" and _querydict_has_nul(request.POST)
        ):
            return render(request, "core/error.html", {
                "title": "There is a problem with what you sent",
                "text": NUL_MESSAGE,
            }, status=400)
        return self.get_response(request)


def int_param(request, name: str, *, default: int | None = None,
              min_value: int = INT_RANGE[0], max_value: int = INT_RANGE[1],
              source=None) -> int | None:
    """An integer query parameter; absent or empty gives the default, anything else not a
    whole number within [min_value, max_value] is a 404 (the page asked for does not exist)."""
    raw = (source if source is not None else request.GET).get(name, "")
    raw = raw.strip()
    if raw == "":
        return default
    if not (raw.isascii() and raw.lstrip("-").isdigit()) or len(raw) > 20:
        raise Http404(f"'{name}' must be a whole number.")
    value = int(raw)
    if not min_value <= value <= max_value:
        raise Http404(f"'{name}' must be from {min_value} to {max_value}.")
    return value


def choice_param(request, name: str, choices, *, default: str | None = None,
                 source=None, lenient: bool = False) -> str | None:
    """A query parameter that must be one of `choices`; absent or empty gives the default,
    an unknown value is a 404 (or, when `lenient`, for a harmless choice like a sort
    column, the default)."""
    raw = (source if source is not None else request.GET).get(name, "")
    if raw == "":
        return default
    if raw not in choices:
        if lenient:
            return default
        raise Http404(f"There is no {name} '{raw[:40]}'.")
    return raw


def text_param(request, name: str, *, max_length: int = 200, source=None) -> str:
    """A free-text query parameter (a search box), stripped and cut to a sane length."""
    raw = (source if source is not None else request.GET).get(name, "")
    return raw.strip()[:max_length]


def assessment_year(text: str) -> int:
    """An argparse type for `--year`: a whole number from MIN_YEAR to MAX_YEAR."""
    import argparse

    if not (text.isascii() and text.isdigit() and len(text) == 4) or not (
        MIN_YEAR <= int(text) <= MAX_YEAR
    ):
        raise argparse.ArgumentTypeError(
            f"'{text[:20]}' is not an assessment year: give the summer of the assessments, "
            f"from {MIN_YEAR} to {MAX_YEAR} (2026 means 2025/26)."
        )
    return int(text)


def check_text(value: str, *, max_length: int, what: str) -> str | None:
    """Why a text value from a file cannot be stored (too long, or a NUL), or None if it can."""
    if has_nul(value):
        return f"{what} contains a NUL character (\\x00). Remove it and send the file again."
    if len(value) > max_length:
        return (f"{what} is {len(value):,} characters long; at most {max_length} fit. "
                "Shorten it and send the file again.")
    return None


def extra_fields(text: str) -> dict[str, str]:
    """--fields "COLUMN[=NAME],...": the columns of an extra-fields CSV to keep, and their names."""
    fields = {}
    for part in text.split(","):
        column, _, name = part.partition("=")
        column, name = column.strip(), (name.strip() or column.strip())
        if not column:
            continue
        fields[column] = name
    if not fields:
        raise ValueError("name at least one column")
    return fields
