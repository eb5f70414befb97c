"""The WSGI application, for `keystage serve` and production servers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keystage.settings")
application = get_wsgi_application()
