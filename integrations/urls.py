"""Webhook routes: `/webhooks/<messenger>/<account uuid>/` and Vonage's status callback."""

from django.urls import path

from integrations.webhooks import webhook

app_name = "webhooks"

urlpatterns = [
    path("<str:messenger>/<uuid:account_id>/", webhook, name="inbound"),
    path("<str:messenger>/<uuid:account_id>/status/", webhook, {"callback": "status"}, name="status"),
]
