"""Paging every table at the user's chosen page size."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Page, Paginator


@dataclass
class PageLink:
    number: int | None
    url: str
    current: bool = False


@dataclass
class Grid:
    """A page of rows plus the links the GOV.UK pagination component needs."""

    page: Page
    links: list[PageLink]
    previous_url: str | None
    next_url: str | None

    @property
    def rows(self):
        return self.page.object_list


def page_size_for(user) -> int:
    """The user's grid page size, or the default."""
    return getattr(user, "page_size", None) or settings.DEFAULT_PAGE_SIZE


def paginate(request, rows, *, per_page: int | None = None) -> Grid:
    """One page of rows at the user's page size, keeping the other query parameters in links."""
    paginator = Paginator(rows, per_page or page_size_for(request.user))
    page = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()

    def url(number: int) -> str:
        params["page"] = str(number)
        return "?" + urlencode(sorted(params.lists()), doseq=True)

    links: list[PageLink] = []
    last_added = 0
    for number in paginator.page_range:
        near = abs(number - page.number) <= 2
        if number in (1, paginator.num_pages) or near:
            if number - last_added > 1:
                links.append(PageLink(None, ""))  # an ellipsis
            links.append(PageLink(number, url(number), current=number == page.number))
            last_added = number
    return Grid(
        page=page,
        links=links if paginator.num_pages > 1 else [],
        previous_url=url(page.previous_page_number()) if page.has_previous() else None,
        next_url=url(page.next_page_number()) if page.has_next() else None,
    )
