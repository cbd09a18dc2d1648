"""Shared by the `make bench` phases: where and how big, the processes started, the bench's own
database and Redis db, the fixtures every phase uses.

Own PostgreSQL database (created and dropped) and own Redis db (BENCH_REDIS_DB, default 14,
flushed before and after: never another db). Every process started here is stopped in a
`finally`; every loop is bounded in time and count. BENCH_QUICK=1: seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import loadgen

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB_NAME", "contactcenter_bench")
DATABASE_URL = f"{PG}/{DB_NAME}"
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
PORT = int(os.environ.get("BENCH_PORT", "8790"))  # HTTP server under test
WS_PORT, FAKE_PORT = PORT + 1, PORT + 2
LOGS = ROOT / "var" / "bench"
CORES = os.cpu_count() or 1
SIZE = {
    "wrk_seconds": 2 if QUICK else 6,
    "open_seconds": 2 if QUICK else 6,
    "socket_seconds": 2 if QUICK else 6,
    "agents": 200,
    "idle_sockets": 300 if QUICK else 2000,
    "outbound_messages": 300 if QUICK else 1500,
    "drain_rows": 1000 if QUICK else 5000,
    "raw_inserts": 1000 if QUICK else 5000,
    "pubsub_round_trips": 300 if QUICK else 2000,
}
RATES = [100, 500, 1000]
ROUNDS = 1 if QUICK else 2  # runs of each server comparison pair (best kept)
# The send workers' pool (one worker per core), as the README recommends for -Q outbound.
SEND_POOL = os.environ.get("BENCH_SEND_POOL", "-P threads -c 4").split()
SEND_WORKERS = int(os.environ.get("BENCH_SEND_WORKERS", str(CORES)))
SOCKET_RATES = [50, 200]


def warm(url: str, proc: subprocess.Popen) -> None:
    """Wait until the server answers (every worker imported Django), then warm it for a second."""
    import requests

    loadgen.wait_port(PORT, proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code < 500:
                break
        except requests.RequestException:
            pass
        time.sleep(0.3)
    time.sleep(1.0 if QUICK else 3.0)  # workers forked after the first may still be importing
    loadgen.wrk(url, connections=8, seconds=1, mode="get")


def bind_port(command: list[str], port: int) -> list[str]:
    """The server command listening on 127.0.0.1:`port` (uvicorn and gunicorn take flags)."""
    if "uvicorn" in command:
        return [
            *command,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(CORES),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    if "gunicorn" in command:
        return [*command[:-1], "-b", f"127.0.0.1:{port}", command[-1]]
    return command


def say(*args) -> None:
    print(*args, flush=True)  # noqa: T201


def env(**extra: str) -> dict[str, str]:
    values = dict(os.environ)
    values.update(
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SECRET_KEY="bench-secret-key-not-for-production-0123456789",  # noqa: S106 (bench db only)
        FIELD_ENCRYPTION_KEY="aTJTNe82jJn1E6hUaniOzs_HhHGEeaxU67tSO-tJN40=",
        CELERY_TASK_ALWAYS_EAGER="false",
        EMBEDDED_BEAT="false",
        SIMULATOR_ENABLED="false",
        LOG_LEVEL="WARNING",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{WS_PORT}",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PLATFORM_API_BASE_ALLOWED=f"http://127.0.0.1:{FAKE_PORT}/",
        DATABASE_POOL_MAX_SIZE="30",
        OUTBOUND_SWEEP_INTERVAL="5",
        PYTHONUNBUFFERED="1",
    )
    values.update(extra)
    return values


class Processes:
    """Everything this run starts, each in its own process group, stopped in `stop_all`."""

    def __init__(self):
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], **extra_env: str) -> subprocess.Popen:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = (LOGS / f"{name}.log").open("ab")
        proc = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env(**extra_env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running[name] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.running.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # our own process group: the server and its workers
            proc.wait(timeout=15)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


PROCS = Processes()


def own_sessions() -> set[int]:
    """The sessions of this run's processes (each started in its own)."""
    return {proc.pid for proc in PROCS.running.values()}


def _admin_sql(*statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG.replace('postgres://', 'postgresql://')}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def create_database() -> None:
    _admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)', f'CREATE DATABASE "{DB_NAME}"')
    migrate = [PY, "manage.py", "migrate", "--noinput", "-v0"]
    subprocess.run(migrate, cwd=ROOT, env=env(), check=True, timeout=300)  # noqa: S603
    import psycopg

    with psycopg.connect(DATABASE_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_one_insert (id bigserial PRIMARY KEY, body text UNIQUE)")


def drop_database() -> None:
    _admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def flush_own_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # only our own db number


def setup_django() -> None:
    os.environ.update(env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def telegram_account(name: str, api_base_url: str = ""):
    from integrations.models import IntegrationAccount

    return IntegrationAccount.objects.create(
        messenger="telegram",
        name=name,
        username=f"{name.replace('-', '_')}_bot"[:32],
        access_token=f"{random.randint(10**8, 10**9 - 1)}:" + "A" * 35,
        api_base_url=api_base_url,
    )


def update_body(update_id: int, customer: int, text: str) -> bytes:
    sender = {"id": customer, "is_bot": False, "first_name": "Bench", "language_code": "en"}
    message = {
        "message_id": update_id,
        "date": 1_700_000_000,
        "text": text,
        "from": sender,
        "chat": {"id": customer, "type": "private", "first_name": "Bench"},
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


def admin_cookie() -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_superuser("bench-admin", "bench@example.com", "unused-password-bench")
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def wait_for_worker() -> None:
    from contactcenter.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not app.control.ping(timeout=0.5):
        time.sleep(0.2)


def quiesce(seconds: float = 120.0) -> float:
    """Wait until the previous phase's work is done (inbox processed, chat events dispatched,
    the task queues empty), so a phase measures its own load; returns the seconds waited."""
    import redis

    from conversations.models import ChatEvent
    from integrations.models import InboxEvent

    client = redis.Redis.from_url(REDIS_URL)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        busy = (
            InboxEvent.objects.filter(processed_at__isnull=True).exists()
            or ChatEvent.objects.filter(dispatched_at__isnull=True, attempts__lt=3).exists()
            or client.llen("celery")
            or client.llen("inbox")
        )
        if not busy:
            break
        time.sleep(0.25)
    client.close()
    waited = time.monotonic() - started
    if waited > 1:
        say(f"   (waited {waited:.0f} s for the previous phase's work to finish)")
    return waited


def to_ms(value: float | None) -> float:
    """Seconds to milliseconds; None (no samples) is NaN, shown as "-"."""
    return value * 1000 if value is not None else float("nan")


def daphne_ws() -> list[str]:
    """Daphne on the WebSocket port, as the recommended split runs it for /ws/."""
    return [PY, "-m", "contactcenter.server", "-b", "127.0.0.1", "-p", str(WS_PORT), "contactcenter.asgi:application"]
