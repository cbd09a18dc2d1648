"""Webhook ingest benchmark (performance.md section 5, M1) on 127.0.0.1.

Starts the product under Daphne (our access-logged launcher) on a bench database, with tasks
going to a Redis broker that no worker drains, so only the webhook path is measured:
verify -> parse -> one transaction -> enqueue -> 200. Prints, in the same run:
  - B2: a trivial request through the same server (/healthz: one SELECT 1);
  - B3: raw INSERT ... ON CONFLICT DO NOTHING, autocommit, 1 connection;
  - M1: signed Telegram updates at concurrency 40 (Telegram's default max_connections),
    10 % replays, closed loop over keep-alive connections: updates/s and p50/p99, as a
    ratio to B2; then the durability check (rows == unique updates answered 200).
Bounded by BENCH_UPDATES (default 3000). Needs PostgreSQL and Redis.
BENCH_SERVER=gunicorn measures the production shape's WSGI option for plain HTTP instead
(gunicorn, BENCH_WORKERS sync workers, default 4) with the same load.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/contactcenter_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
UPDATES = int(os.environ.get("BENCH_UPDATES", "3000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "40"))
PORT = int(os.environ.get("BENCH_PORT", "8766"))
SERVER = os.environ.get("BENCH_SERVER", "daphne")
WORKERS = os.environ.get("BENCH_WORKERS", "4")


def _server_command() -> list[str]:
    if SERVER == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "-w", WORKERS, "-b", f"127.0.0.1:{PORT}", "contactcenter.wsgi"]
    return [
        sys.executable,
        "-m",
        "contactcenter.server",
        "-b",
        "127.0.0.1",
        "-p",
        str(PORT),
        "contactcenter.asgi:application",
    ]


def _print(*args) -> None:
    print(*args, flush=True)  # noqa: T201


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        DEBUG="false",
        SECRET_KEY="bench-secret-key",  # noqa: S106 (bench database only)
        FIELD_ENCRYPTION_KEY="aTJTNe82jJn1E6hUaniOzs_HhHGEeaxU67tSO-tJN40=",
        CELERY_TASK_ALWAYS_EAGER="false",
        LOG_LEVEL="WARNING",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{PORT}",
        DJANGO_SETTINGS_MODULE="contactcenter.settings",
    )
    return env


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _post_loop(requests_: list[tuple[str, bytes, dict]], concurrency: int) -> tuple[list[float], list[int]]:
    """Closed loop: `concurrency` keep-alive connections, each sending the next request."""
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests_:
        queue.put_nowait(item)
    latencies: list[float] = []
    statuses: list[int] = []

    async def connection() -> None:
        # Keep-alive where the server allows it; gunicorn's sync workers close after each reply.
        reader = writer = None
        try:
            while not queue.empty():
                method, path, body, headers = queue.get_nowait()
                head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
                started = time.perf_counter()
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
                writer.write(head.encode() + body)
                await writer.drain()
                status_line = await reader.readline()
                length, close = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    lowered = line.lower()
                    if lowered.startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                    elif lowered.startswith(b"connection:") and b"close" in lowered:
                        close = True
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                statuses.append(int(status_line.split()[1]))
                if close:
                    writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, statuses


def _run_load(label, items, concurrency=CONCURRENCY):
    started = time.perf_counter()
    latencies, statuses = asyncio.run(_post_loop(items, concurrency))
    elapsed = time.perf_counter() - started
    rate = len(latencies) / elapsed
    _print(
        f"{label}: {rate:.0f} req/s, p50 {_percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms ({len(latencies)} requests, concurrency {concurrency})"
    )
    return rate, statuses


def _baseline_insert(n: int = 3000) -> None:
    import psycopg

    with psycopg.connect(DATABASE_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        # A logged table, as our own tables are (a TEMP table skips the WAL and flatters).
        conn.execute("DROP TABLE IF EXISTS bench_b3")
        conn.execute("CREATE TABLE bench_b3 (id bigint PRIMARY KEY, body text)")
        started = time.perf_counter()
        for i in range(n):
            conn.execute("INSERT INTO bench_b3 VALUES (%s, %s) ON CONFLICT DO NOTHING", (i % (n - n // 10), "x" * 200))
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_b3")
    _print(f"B3 INSERT ... ON CONFLICT DO NOTHING, autocommit, 1 connection: {n / elapsed:.0f}/s")


def _create_database() -> None:
    import psycopg

    base, name = DATABASE_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    _create_database()
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    env = _env()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import redis

    from conversations.models import Message
    from integrations.models import IntegrationAccount

    redis.Redis.from_url(REDIS_URL).flushdb()
    account = IntegrationAccount.objects.create(
        messenger="telegram",
        name="bench",
        username="bench_ingest_bot",
        access_token="123456789:" + "A" * 35,
    )
    server = subprocess.Popen(  # noqa: S603
        _server_command(),
        cwd=ROOT,
        env=env,
        stdout=(logs / "ingest-daphne.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        import requests

        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        _print(f"server: {SERVER} (pid {server.pid}); {os.cpu_count()} cores shared by server, PostgreSQL and client")
        b2, _ = _run_load("B2 GET /healthz (trivial view + SELECT 1)", [("GET", "/healthz", b"", {})] * 1000)
        _baseline_insert()

        unique = [
            json.dumps(
                {
                    "update_id": 500_000_000 + i,
                    "message": {
                        "message_id": i + 1,
                        "date": 1_700_000_000 + i,
                        "text": f"bench message {i}",
                        "from": {
                            "id": 900_000 + i % 500,
                            "is_bot": False,
                            "first_name": "Bench",
                            "language_code": "en",
                        },
                        "chat": {"id": 900_000 + i % 500, "type": "private", "first_name": "Bench"},
                    },
                }
            ).encode()
            for i in range(UPDATES)
        ]
        bodies = unique + random.Random(7).sample(unique, UPDATES // 10)
        random.Random(8).shuffle(bodies)
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": account.webhook_secret}
        items = [("POST", account.webhook_path, body, headers) for body in bodies]
        m1, statuses = _run_load("M1 signed Telegram updates, 10 % replays", items)
        stored = Message.objects.filter(account=account).count()
        answered_ok = sum(1 for s in statuses if s == 200)
        if answered_ok != len(statuses):
            from collections import Counter

            _print(f"M1 answers by status: {dict(Counter(statuses))} (see var/bench/ingest-daphne.log)")
        _print(
            f"M1 / B2 = {m1 / b2:.0%}; answers 200: {answered_ok}/{len(statuses)}; "
            f"rows stored {stored} for {UPDATES} unique updates ({'ok' if stored == UPDATES else 'MISMATCH'})"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
