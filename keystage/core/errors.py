"""GOV.UK-styled error pages."""

from django.shortcuts import render


def forbidden(request, exception=None):
    return render(request, "core/error.html", {
        "title": "You do not have access to this page",
        "text": "Your role does not allow this. Ask your LA administrator if you need it.",
    }, status=403)


def not_found(request, exception=None):
    return render(request, "core/error.html", {
        "title": "Page not found",
        "text": "If you typed the address, check it is correct. If you followed a link, the "
        "item may belong to another organisation or may no longer exist.",
    }, status=404)
