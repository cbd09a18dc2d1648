"""WSGI entry point: plain HTTP (webhooks, admin, API) may be served by WSGI workers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
application = get_wsgi_application()

from contactcenter import embedded  # noqa: E402

# The embedded default has no Celery beat: this process runs the sweepers itself.
embedded.start_beat()
