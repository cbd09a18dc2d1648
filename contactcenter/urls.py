from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from agentdesk.views import favicon
from api.urls import api_urlpatterns, records_urlpatterns
from contactcenter.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("agent/", include("agentdesk.urls")),
    path("webhooks/", include("integrations.urls")),
    path("media/", include("integrations.media_urls")),
    path("api/", include("integrations.api")),
    path("api/", include(api_urlpatterns)),
    path("supervisor/records/", include(records_urlpatterns)),
]

if settings.SIMULATOR_ENABLED:
    urlpatterns.append(path("simulator/", include("simulator.urls")))
