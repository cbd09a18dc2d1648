"""Every app's WebSocket routes, collected in one list for the ASGI router."""

websocket_urlpatterns: list = []
