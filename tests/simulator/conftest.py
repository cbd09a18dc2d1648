"""Fixtures of the simulator tests: a tiny webhook receiver standing in for our product."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request and answers scripted statuses
    (then 200). `handshake=True` answers Meta's GET hub.challenge like our product should."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.delay = 0.0  # seconds before each POST is answered (a slow product)
        self.verify_token = "verify-me"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: bytes = b"ok"):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {"method": "POST", "path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
                time.sleep(receiver.delay)
                self._answer(receiver.statuses.pop(0) if receiver.statuses else 200)

            def do_GET(self):
                from urllib.parse import parse_qs, urlsplit

                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                receiver.requests.append(
                    {"method": "GET", "path": self.path, "headers": dict(self.headers), "query": query}
                )
                ok = query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == receiver.verify_token
                self._answer(200 if ok else 403, query.get("hub.challenge", "").encode() if ok else b"Forbidden")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def posts(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST"]

    def json(self, index: int = -1) -> dict:
        return json.loads(self.posts()[index]["body"])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def base(live_server):
    """The live test server's URL (pytest-django's threaded server on the test database)."""
    return live_server.url
