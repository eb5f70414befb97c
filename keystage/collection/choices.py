"""What a collection page is about: the user's LA, and the collection and year it asks for."""

from __future__ import annotations

import datetime as dt

from keystage.accounts.models import Role
from keystage.core.inputs import choice_param, int_param
from keystage.datasets import COLLECTION_CODES
from keystage.years import MAX_YEAR, MIN_YEAR, assessment_year_of

__all__ = ["collection_and_year", "default_year", "la_of", "year_param"]


def la_of(user):
    """The LA whose data the user works with: their own, or their school's."""
    return user.school.la if user.role == Role.SCHOOL_USER else user.la


def default_year(la) -> int:
    """The LA's current assessment year, or the one the calendar is in."""
    if la is not None and la.current_year is not None:
        return la.current_year.assessment_year
    return assessment_year_of(dt.date.today())


def year_param(request, la, *, source=None) -> int:
    """The assessment year a query asks for (the LA's current one when absent); 404 if unknown."""
    year = int_param(request, "year", min_value=MIN_YEAR, max_value=MAX_YEAR, source=source)
    return default_year(la) if year is None else year


def collection_and_year(request, la, *, source=None) -> tuple[str, int]:
    """The collection and assessment year a page's query asks for, with sensible defaults;
    an unknown collection or year is a 404, not a silent default."""
    collection = choice_param(request, "collection", COLLECTION_CODES,
                              default=COLLECTION_CODES[0], source=source)
    return collection, year_param(request, la, source=source)
