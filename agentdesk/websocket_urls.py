"""WebSocket routes of the Agent Desktop (collected in contactcenter/websocket_urls.py)."""

from django.urls import path

from agentdesk.consumers import AgentDeskConsumer

websocket_urlpatterns = [
    path("ws/agent/", AgentDeskConsumer.as_asgi()),
]
