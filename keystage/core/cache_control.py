"""Keep signed-in pages and downloads out of shared and browser caches."""

from __future__ import annotations

from django.utils.cache import patch_cache_control


class PrivateNoStoreMiddleware:
    """Mark every response to a signed-in user `Cache-Control: private, no-store`.

    Pupil pages and every download (CSV, XLSX, return files, originals) are only for signed-in
    users, so one rule here covers them all, including pages added later: a browser's back
    button or a proxy must not keep a copy of children's data. Static files never reach this
    middleware (WhiteNoise answers them first).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Replaces any max-age a view set: nothing a signed-in user sees may be stored.
            if "Cache-Control" in response:
                del response["Cache-Control"]
            patch_cache_control(response, private=True, no_store=True)
        return response
