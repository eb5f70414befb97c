"""Idle sessions without a database write on every request.

A session expires SESSION_IDLE_MINUTES after the user's last request. Saving the session on every
request (SESSION_SAVE_EVERY_REQUEST) does that with a write per page, which under load queues
behind other writes. Instead the session store remembers the expiry it read, and the middleware
saves the session (moving the expiry on) only when more than REFRESH_AFTER has passed since the
last save: the idle limit is then kept to within that margin, and a busy page costs a read.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

REFRESH_AFTER = timedelta(seconds=60)


class SessionStore(DatabaseSessionStore):
    """The database session store, keeping the expiry of the row it loaded."""

    stored_expiry = None

    def _get_session_from_db(self):
        found = super()._get_session_from_db()
        self.stored_expiry = found.expire_date if found is not None else None
        return found


class RefreshIdleSessionMiddleware:
    """Save a signed-in user's session when its expiry is more than REFRESH_AFTER behind the
    full idle time, so it lasts the idle time from (about) the last request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        expiry = getattr(session, "stored_expiry", None)
        if session is not None and expiry is not None and session.session_key:
            fresh = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
            if fresh - expiry > REFRESH_AFTER:
                session.modified = True
        return response
