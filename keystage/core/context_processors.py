"""Navigation by role, for the page header."""

from __future__ import annotations

from django.urls import reverse

from keystage.accounts.permissions import has_permission

# (label, url name, permission needed); the first match for the current path is marked active.
NAVIGATION = (
    ("Home", "core:home", None),
    ("Collections", "collection:completeness", "view-reports"),
    ("Cleaning", "cleaning:overview", "view-reports"),
    ("Pupils", "pupils:search", "view-pupils"),
    ("Social care", "socialcare:home", "view-social-care"),
    ("Transfers", "transfer:home", "transfer-files"),
    ("Lost pupils", "transfer:lost", "manage-lost-pupils"),
    ("Messages", "transfer:messages", "send-messages"),
    ("Agencies", "transfer:agencies", "manage-agencies"),
    ("Extracts", "transfer:extracts", "agency-downloads"),
    ("Reports", "analysis:report", "view-analysis"),
    ("Returns", "returns:list", "make-returns"),
    ("Schools", "schools:list", "view-schools"),
    ("Users", "accounts:user-list", "manage-users"),
    ("Audit log", "audit:log", "view-audit-log"),
    ("National figures", "core:national", "view-national-aggregates"),
    ("Settings", "accounts:settings", None),
)


def navigation(request) -> dict:
    """The navigation items the logged-in user may see."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    items = []
    for label, name, action in NAVIGATION:
        if action is not None and not has_permission(user, action):
            continue
        url = reverse(name)
        active = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"label": label, "url": url, "active": active})
    # Where one section's address holds another's (/transfer/ and /transfer/lost/), only the
    # longest match is the current one.
    current = max((i for i in items if i["active"]), key=lambda i: len(i["url"]), default=None)
    for item in items:
        item["active"] = item is current
    return {"navigation": items}
