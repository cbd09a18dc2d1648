"""WSGI entry point: plain HTTP (webhooks, admin, API) may be served by WSGI workers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
django_wsgi_app = get_wsgi_application()

from contactcenter import embedded  # noqa: E402
from integrations.webhook_wsgi import WebhookRouter  # noqa: E402

# Webhooks skip Django's middleware (integrations.webhook_wsgi); everything else is Django.
application = WebhookRouter(django_wsgi_app)

# The embedded default has no Celery beat: this process runs the sweepers itself.
embedded.start_beat()
