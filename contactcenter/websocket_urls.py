"""Every app's WebSocket routes, collected in one list for the ASGI router."""

from agentdesk.websocket_urls import websocket_urlpatterns as agentdesk_websocket_urlpatterns

websocket_urlpatterns: list = []
websocket_urlpatterns += agentdesk_websocket_urlpatterns
