"""Authentication backends: django-axes' throttle in front of Django's model backend."""

from axes.backends import AxesStandaloneBackend
from django.core.exceptions import PermissionDenied


class ThrottleBackend(AxesStandaloneBackend):
    """Refuse a login from a username and address pair that is cooling off after failures.

    Only web logins carry a request; a check without one (the command line, tests calling
    `authenticate` directly) has no source address to throttle, so it is left to the next
    backend instead of failing as axes' own backend does.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except PermissionDenied:
            # Already paused: the lockout was audited when it began.
            request.keystage_already_locked = True
            raise
