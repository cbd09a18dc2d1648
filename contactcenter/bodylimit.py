"""Request bodies bounded while they arrive, before anything buffers them whole.

Two layers, one limit (`settings.MAX_REQUEST_BODY_BYTES`):

- `BodyLimitMiddleware` wraps the ASGI HTTP app: a declared Content-Length over the limit
  is answered 413 without reading the body; otherwise the body is read up to the limit and
  a body that goes past it (chunked, or lying about its length) is answered 413 as soon as
  it does. Servers that stream bodies to the application (uvicorn, hypercorn) hold at most
  the limit in memory.
- Daphne does not stream: Twisted collects the whole body first and Daphne then queues all
  of it to the application at once, so an ASGI wrapper alone still lets a 200 MB POST grow
  the process by 200 MB. `LimitedWebRequest` refuses on Twisted's side, while the bytes
  arrive; `contactcenter.server` installs it.
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger(__name__)

TOO_LARGE_BODY = b"Payload Too Large"


def body_limit(path: str = "") -> int:
    """The largest body accepted on `path`: the agent's attachment upload may carry one file
    up to MEDIA_MAX_BYTES (plus the multipart envelope); everything else is small."""
    if path.startswith(settings.MEDIA_UPLOAD_PATH_PREFIX):
        return max(settings.MAX_REQUEST_BODY_BYTES, settings.MEDIA_MAX_BYTES + 64 * 1024)
    return settings.MAX_REQUEST_BODY_BYTES


def _declared_length(headers) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(TOO_LARGE_BODY)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": TOO_LARGE_BODY})


class BodyLimitMiddleware:
    """ASGI middleware: HTTP request bodies over the limit get 413 and never reach the app."""

    def __init__(self, app, limit: int | None = None):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit if self.limit is not None else body_limit(scope.get("path", ""))
        declared = _declared_length(scope.get("headers", ()))
        if declared is not None and declared > limit:
            logger.warning("request body refused: Content-Length %d over %d bytes", declared, limit)
            return await _send_413(send)
        # Read the body here, at most `limit` bytes of it, then hand it to the app whole.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                logger.warning("request body refused: over %d bytes while streaming", limit)
                return await _send_413(send)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        del chunks
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


# --- Daphne (Twisted) side ---------------------------------------------------------------


def limited_request_class(base):
    """A subclass of Daphne's `WebRequest` that stops reading a body past the limit."""

    class LimitedWebRequest(base):
        _received = 0
        _refused = False
        _limit = None

        def _body_limit(self) -> int:
            if self._limit is None:
                # The request line is parsed before the body arrives; Twisted keeps its path here.
                raw = getattr(self.channel, "_path", b"") or b""
                self._limit = body_limit(raw.decode("latin-1").split("?", 1)[0])
            return self._limit

        def gotLength(self, length):
            super().gotLength(length)
            if length is not None and length > self._body_limit():
                self._refuse(f"Content-Length {length}")

        def handleContentChunk(self, data):
            if self._refused:
                return  # bytes already in flight when we refused: dropped, never stored
            self._received += len(data)
            if self._received > self._body_limit():
                self._refuse("body")
                return
            super().handleContentChunk(data)

        def process(self):
            if self._refused:
                return None
            return super().process()

        def _refuse(self, what: str) -> None:
            self._refused = True
            logger.warning("request body refused by the server: %s over %d bytes", what, self._body_limit())
            transport = self.channel.transport
            transport.write(
                b"HTTP/1.1 413 Payload Too Large\r\n"
                b"Content-Type: text/plain; charset=utf-8\r\n"
                b"Content-Length: " + str(len(TOO_LARGE_BODY)).encode() + b"\r\n"
                b"Connection: close\r\n\r\n" + TOO_LARGE_BODY
            )
            # Stops reading at once; the rest of the body is never taken from the socket.
            transport.loseConnection()

    return LimitedWebRequest


def limited_http_factory(base_factory, base_request):
    """Daphne's HTTPFactory building channels that use the limited request class."""
    request_class = limited_request_class(base_request)

    class LimitedHTTPFactory(base_factory):
        def buildProtocol(self, addr):
            protocol = super().buildProtocol(addr)
            protocol.requestFactory = request_class
            return protocol

    return LimitedHTTPFactory
