"""What a collection page is about: the user's LA, and the collection and year it asks for."""

from __future__ import annotations

import datetime as dt

from keystage.accounts.models import Role
from keystage.collection.models import Collection


def la_of(user):
    """The LA whose data the user works with: their own, or their school's."""
    return user.school.la if user.role == Role.SCHOOL_USER else user.la


def default_year(la) -> int:
    """The LA's current assessment year, or the one the calendar is in."""
    if la is not None and la.current_year is not None:
        return la.current_year.assessment_year
    today = dt.date.today()
    return today.year + 1 if today.month >= 9 else today.year


def collection_and_year(request, la) -> tuple[str, int]:
    """The collection and assessment year a page's query asks for, with sensible defaults."""
    collection = request.GET.get("collection", "eyfsp")
    if collection not in Collection.values:
        collection = "eyfsp"
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = default_year(la)
    return collection, year
