"""Outbound delivery benchmark (performance.md section 5, M3) on 127.0.0.1.

Starts Daphne (serving the simulator's fake Telegram API) and a Celery worker on a bench
database and Redis database of their own, then prints:
  - baseline B6: sendMessage round trips to the fake from a bare `requests` client;
  - capacity: sends/s through queue_text -> Celery -> fake, one message per chat;
  - the Telegram profile: a burst to one bot, with the most sends the fake saw in any
    1-second window and per chat, and the 429s it answered (it enforces 30/s);
  - enqueue -> fake-receipt latency p50/p99 in both runs.
Runs are bounded (BENCH_MESSAGES, default 300). Needs PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/contactcenter_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "300"))
CONCURRENCY = os.environ.get("BENCH_WORKER_CONCURRENCY", "4")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
URL = f"http://127.0.0.1:{PORT}"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        DEBUG="true",
        SIMULATOR_ENABLED="true",
        PUBLIC_BASE_URL=URL,
        CELERY_TASK_ALWAYS_EAGER="false",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE="contactcenter.settings",
    )
    return env


def _print(*args) -> None:
    print(*args, flush=True)  # noqa: T201


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _create_database() -> None:
    import psycopg

    base, name = DATABASE_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, env=_env(), stdout=log.open("wb"), stderr=subprocess.STDOUT)  # noqa: S603


def _wait_http(url: str, proc: subprocess.Popen) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def _setup_django() -> None:
    os.environ.update(_env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _link(rate_limit: int, chats: int):
    from conversations.models import Customer, Interaction
    from integrations.models import IntegrationAccount
    from simulator import factories
    from simulator.models import SimCustomer

    sim = factories.create_account(platform="telegram", rate_limit=rate_limit)
    account = IntegrationAccount.objects.create(
        messenger="telegram",
        name=f"bench {sim.username}",
        username=sim.username,
        access_token=sim.token,
        api_base_url=f"{URL}/simulator/api/telegram",
    )
    interactions = []
    for n in range(chats):
        external_id = str(800_000_000 + sim.pk * 10_000 + n)
        SimCustomer.objects.create(account=sim, key=f"b{n}", name=f"Bench {n}", external_id=external_id)
        customer = Customer.objects.create(account=account, external_id=external_id)
        interactions.append(Interaction.objects.create(account=account, customer=customer))
    return account, sim, interactions


def _baseline(sim, n: int = 200) -> None:
    import requests

    session = requests.Session()
    chat_id = sim.customers.first().external_id
    times = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        session.post(
            f"{URL}/simulator/api/telegram/bot{sim.token}/sendMessage", json={"chat_id": chat_id, "text": f"b{i}"}
        )
        times.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    _print(
        f"B6 fake sendMessage round trip, 1 client: {n / elapsed:.0f} calls/s, "
        f"p50 {_percentile(times, 0.5) * 1000:.1f} ms, p99 {_percentile(times, 0.99) * 1000:.1f} ms"
    )


def _run(label: str, *, rate_limit: int, chats: int, per_chat: int, pace: float = 0.0) -> None:
    from conversations.models import Message
    from integrations.outbound import queue_text
    from simulator.models import SimMessage, SimRequest

    account, sim, interactions = _link(rate_limit, chats)
    messages = []
    start = time.monotonic()
    for k in range(per_chat):
        for interaction in interactions:
            if pace:  # open loop: on schedule, whatever the previous enqueue cost
                time.sleep(max(0.0, start + len(messages) / pace - time.monotonic()))
            messages += queue_text(interaction=interaction, text=f"{label} {interaction.pk}/{k}", sender="bot")
    ids = [m.pk for m in messages]
    deadline = time.monotonic() + 300
    while Message.objects.filter(pk__in=ids, status__in=["queued", "sending"]).exists():
        if time.monotonic() > deadline:
            _print(f"{label}: gave up after 300 s")
            break
        time.sleep(0.1)
    elapsed = time.monotonic() - start
    written = dict(Message.objects.filter(pk__in=ids).values_list("text", "created_at"))
    arrivals = list(
        SimMessage.objects.filter(account=sim, direction="out").values_list("text", "created_at", "customer_id")
    )
    latencies = [(at - written[text]).total_seconds() for text, at, _ in arrivals if text in written]
    stamps = sorted(at.timestamp() for _, at, _ in arrivals)
    window_max = max((sum(1 for s in stamps[i:] if s < t + 1.0) for i, t in enumerate(stamps)), default=0)
    per_chat_max = 0
    for customer_id in {c for _, _, c in arrivals}:
        chat = sorted(at.timestamp() for _, at, c in arrivals if c == customer_id)
        per_chat_max = max(per_chat_max, max(sum(1 for s in chat[i:] if s < t + 1.0) for i, t in enumerate(chat)))
    refused = SimRequest.objects.filter(account=sim, status_code=429).count()
    _print(
        f"{label}: {len(arrivals)}/{len(ids)} delivered in {elapsed:.1f} s = {len(arrivals) / elapsed:.1f} sends/s; "
        f"enqueue->fake receipt p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {_percentile(latencies, 0.99) * 1000:.0f} ms; max in any 1 s window {window_max} "
        f"(per chat {per_chat_max}); 429s from the fake: {refused}"
    )


def main() -> None:
    _create_database()
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=_env(), check=True)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    daphne = _start(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(PORT), "contactcenter.asgi:application"],
        logs / "daphne.log",
    )
    worker = _start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "contactcenter",
            "worker",
            "-P",
            "prefork",
            "-c",
            CONCURRENCY,
            "--loglevel=WARNING",
        ],
        logs / "worker.log",
    )
    try:
        _wait_http(f"{URL}/healthz", daphne)
        _setup_django()
        from contactcenter.celery import app

        app.conf.task_always_eager = False
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5) and time.monotonic() < deadline:
            pass
        account, sim, _ = _link(0, 1)
        _baseline(sim)
        _print(f"worker: prefork -c {CONCURRENCY}; {MESSAGES} messages per run; fake latency 0 ms")
        _run("spread: one message per chat, limiter on", rate_limit=0, chats=MESSAGES, per_chat=1)
        _run(
            "below the limits: 10 msg/s, one per chat", rate_limit=30, chats=max(MESSAGES // 3, 1), per_chat=1, pace=10
        )
        _run(
            "Telegram profile (fake enforces 30/s; 10 per chat)",
            rate_limit=30,
            chats=max(MESSAGES // 10, 1),
            per_chat=10,
        )
    finally:
        for proc in (worker, daphne):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
