"""/api/v1/ routes, the OpenAPI schema's docs pages, and the supervisor's interaction records."""

from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api import records_views, views

router = DefaultRouter()
router.register("integration-accounts", views.IntegrationAccountViewSet, basename="v1-integration-account")
router.register("skills", views.SkillViewSet, basename="v1-skill")
router.register("teams", views.TeamViewSet, basename="v1-team")
router.register("services", views.ServiceViewSet, basename="v1-service")
router.register("hours-of-operation", views.HoursOfOperationViewSet, basename="v1-hours")
router.register("scenario-entries", views.ScenarioEntryViewSet, basename="v1-scenario-entry")
router.register("scenarios", views.ScenarioViewSet, basename="v1-scenario")
router.register("agents", views.AgentViewSet, basename="v1-agent")
router.register("not-ready-reasons", views.NotReadyReasonViewSet, basename="v1-not-ready-reason")
router.register("dispositions", views.DispositionViewSet, basename="v1-disposition")
router.register("canned-responses", views.CannedResponseViewSet, basename="v1-canned-response")
router.register("customers", views.CustomerViewSet, basename="v1-customer")
router.register("interactions", views.InteractionViewSet, basename="v1-interaction")

api_urlpatterns = [
    path("v1/", include(router.urls)),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

records_urlpatterns = [
    path("", records_views.records, name="records"),
    path("export.csv", records_views.export_csv, name="records-export"),
    path("<int:interaction_id>/", records_views.transcript_view, name="records-transcript"),
]
