"""ASGI entry point served by Daphne: webhooks straight, other HTTP through Django, WebSockets
through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from contactcenter import embedded  # noqa: E402
from contactcenter.bodylimit import BodyLimitMiddleware  # noqa: E402
from contactcenter.origins import ExactOriginValidator  # noqa: E402
from contactcenter.websocket_urls import websocket_urlpatterns  # noqa: E402
from integrations.webhook_asgi import WebhookRouter  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Bodies over MAX_REQUEST_BODY_BYTES are refused before Django buffers them; webhooks
        # skip Django's middleware and its one-thread executor (integrations.webhook_asgi).
        "http": BodyLimitMiddleware(WebhookRouter(django_asgi_app)),
        # Session authentication, and only pages of this site's exact origin may connect.
        "websocket": ExactOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# The embedded default has no Celery beat: this process runs the sweepers itself.
embedded.start_beat()
