"""Request bodies are bounded while they arrive (issue 18, item 1).

A 200 MB chunked POST to any URL used to grow the server by 200 MB before the webhook's
1 MiB check: Twisted collected it and Daphne queued all of it to Django. Now the server
refuses past MAX_REQUEST_BODY_BYTES while the bytes arrive, and the ASGI wrapper does the
same for servers that stream.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import time
import urllib.request
import uuid
from urllib.parse import urlsplit

from django.conf import settings

from contactcenter.asgi import application

MIB = 1024 * 1024


def run_async(coroutine):
    """Run a coroutine on a loop of its own thread: a session's Playwright loop may own this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def post_chunked(url: str, path: str, total: int, chunk: int = MIB) -> bytes:
    """POST `total` bytes chunked over a raw socket; returns whatever the server answered."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    answer = b""
    try:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
        )
        data = b"x" * chunk
        sent = 0
        try:
            while sent < total:
                sock.sendall(f"{chunk:x}\r\n".encode() + data + b"\r\n")
                sent += chunk
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: that is the point
        try:
            while chunk_in := sock.recv(65536):
                answer += chunk_in
        except (ConnectionResetError, TimeoutError, OSError):
            pass
    finally:
        sock.close()
    return answer


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


def test_a_50_mb_chunked_body_leaves_daphne_memory_where_it_was(live_daphne):
    path = f"/webhooks/telegram/{uuid.uuid4()}/"
    # Warm up: imports, pools and the 404 path itself are loaded before the baseline.
    for _ in range(3):
        post_chunked(live_daphne.url, path, 64 * 1024, chunk=16 * 1024)
        get(f"{live_daphne.url}/healthz")
    before = rss_bytes(live_daphne.process.pid)

    answer = post_chunked(live_daphne.url, path, 50 * MIB)

    assert get(f"{live_daphne.url}/healthz") == 200  # still serving
    time.sleep(0.5)
    grown = rss_bytes(live_daphne.process.pid) - before
    assert grown < 10 * MIB, f"the server grew by {grown / MIB:.1f} MiB"
    assert not answer or answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_daphne_refuses_a_declared_length_over_the_limit_before_the_body(live_daphne):
    parts = urlsplit(live_daphne.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST /webhooks/line/{uuid.uuid4()}/ HTTP/1.1\r\nHost: {parts.hostname}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {200 * MIB}\r\n\r\n".encode()
        )
        answer = sock.recv(4096)  # no body sent: the answer comes from the headers alone
    assert answer.startswith(b"HTTP/1.1 413"), answer


def _asgi_post(body_chunks: list[bytes], headers: list[tuple[bytes, bytes]], path: str = "/healthz"):
    """Run one POST through the real ASGI application; returns (status, receive calls)."""
    calls = 0
    queue = list(body_chunks)
    sent: list[dict] = []

    async def receive():
        nonlocal calls
        calls += 1
        if queue:
            chunk = queue.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(queue)}
        await asyncio.Event().wait()  # the client stays connected until the answer is sent

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    run_async(application(scope, receive, send))
    return sent[0]["status"], calls


def test_the_asgi_app_stops_reading_a_streamed_body_past_the_limit():
    chunk = b"x" * (64 * 1024)
    chunks = [chunk] * (20 * MIB // len(chunk))
    status, calls = _asgi_post(chunks, [])
    assert status == 413
    # It read just past the limit, not the 20 MiB offered.
    assert calls <= settings.MAX_REQUEST_BODY_BYTES // len(chunk) + 1


def test_the_asgi_app_refuses_a_declared_length_without_reading():
    status, calls = _asgi_post([b"{}"], [(b"content-length", str(5 * MIB).encode())])
    assert (status, calls) == (413, 0)


def test_a_body_within_the_limit_still_reaches_django():
    status, _ = _asgi_post([b"{", b"}"], [(b"content-type", b"application/json")])
    assert status == 403  # Django answered (CSRF refuses the POST), not the body limit
