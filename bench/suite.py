"""`make bench` (issue 13): every figure with the baselines of the same run, on 127.0.0.1.

Own PostgreSQL database (created and dropped) and own Redis db (BENCH_REDIS_DB, default 14,
flushed before and after: never another db). Every process started here is stopped in a
`finally`; every loop is bounded in time and count. BENCH_QUICK=1: seconds, not minutes.
Phases: baselines; the HTTP servers compared (bare app, one-INSERT view, webhook at 40 and
100 connections, an admin page); the profile; the recommended shape (open-loop ack latency,
inbox lag, durability); webhook -> agent socket; idle sockets; outbound. Results go to
bench/results.json and bench/latency.png; `bench.report` prints the table.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import cpu, loadgen, report

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
SOCKET_RATES = [50, 200]

# How each server runs an app: (label, command for the product, command for the bare app).
SERVERS = {
    "daphne": (
        "Daphne, 1 process (python -m contactcenter.server)",
        [PY, "-m", "contactcenter.server", "-b", "127.0.0.1", "-p", str(PORT), "contactcenter.asgi:application"],
        [PY, "-m", "contactcenter.server", "-b", "127.0.0.1", "-p", str(PORT), "bench.bare:asgi"],
    ),
    "uvicorn": (
        f"uvicorn, {CORES} workers",
        [PY, "-m", "uvicorn", "contactcenter.asgi:application", "--lifespan", "off"],
        [PY, "-m", "uvicorn", "bench.bare:asgi"],
    ),
    "gunicorn-sync": (
        f"gunicorn sync, {2 * CORES} workers",
        [PY, "-m", "gunicorn", "-w", str(2 * CORES), "contactcenter.wsgi"],
        [PY, "-m", "gunicorn", "-w", str(2 * CORES), "bench.bare:wsgi"],
    ),
    "gunicorn-gthread": (
        f"gunicorn gthread, {CORES} workers x 8 threads",
        [PY, "-m", "gunicorn", "-w", str(CORES), "-k", "gthread", "--threads", "8", "contactcenter.wsgi"],
        [PY, "-m", "gunicorn", "-w", str(CORES), "-k", "gthread", "--threads", "8", "bench.bare:wsgi"],
    ),
}


def _daphne_ws() -> list[str]:
    """Daphne on the WebSocket port, as the recommended split runs it for /ws/."""
    return [PY, "-m", "contactcenter.server", "-b", "127.0.0.1", "-p", str(WS_PORT), "contactcenter.asgi:application"]


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


def _bind(command: list[str], port: int) -> list[str]:
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


# --- Database and Redis of our own -------------------------------------------------------


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


# --- Baselines that need no server -------------------------------------------------------


def baseline_raw_insert(n: int) -> dict:
    import psycopg

    with psycopg.connect(DATABASE_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_raw (id bigint PRIMARY KEY, body text)")  # logged, as ours are
        started = time.perf_counter()
        for i in range(n):
            conn.execute("INSERT INTO bench_raw VALUES (%s, %s) ON CONFLICT DO NOTHING", (i, "x" * 300))
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_raw")
    return {"rate": n / elapsed, "n": n}


def baseline_pubsub(n: int) -> dict:
    import redis.asyncio as aredis

    async def run() -> list[float]:
        client = aredis.Redis.from_url(REDIS_URL)
        pubsub = client.pubsub()
        await pubsub.subscribe("bench:rtt")
        await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
        times = []
        for _ in range(n):
            started = time.perf_counter()
            await client.publish("bench:rtt", b"x")
            while (await pubsub.get_message(timeout=1.0)) is None:
                pass
            times.append(time.perf_counter() - started)
        await pubsub.aclose()
        await client.aclose()
        return times

    times = asyncio.run(asyncio.wait_for(run(), 60))
    return {"p50_ms": loadgen.percentile(times, 0.5) * 1000, "p99_ms": loadgen.percentile(times, 0.99) * 1000}


# --- Fixtures in the bench database ------------------------------------------------------


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


# --- Phase: the HTTP servers compared ----------------------------------------------------


def stored_rows(account) -> int:
    from integrations.models import InboxEvent

    return InboxEvent.objects.filter(account=account).count()


def compare_servers(results: dict, cookie: str) -> None:
    seconds = SIZE["wrk_seconds"]
    url = f"http://127.0.0.1:{PORT}"
    chosen = os.environ.get("BENCH_SERVERS", ",".join(SERVERS)).split(",")
    for key, (label, product, bare) in SERVERS.items():
        if key not in chosen:
            continue
        say(f"-- {label}")
        row: dict = {"label": label}
        proc = PROCS.start(f"{key}-bare", _bind(bare, PORT))
        try:
            warm(f"{url}/", proc)
            row["bare"] = loadgen.wrk(f"{url}/", connections=40, seconds=seconds, mode="body")
        finally:
            PROCS.stop(f"{key}-bare")
        proc = PROCS.start(key, _bind(product, PORT))
        try:
            warm(f"{url}/healthz", proc)
            for connections in (40, 100):
                row[f"insert_c{connections}"] = loadgen.wrk(
                    f"{url}/bench/insert/", connections=connections, seconds=seconds, mode="body", first=10**9
                )
                account = telegram_account(f"bench-{key}-c{connections}")
                run = loadgen.wrk(
                    f"{url}{account.webhook_path}",
                    connections=connections,
                    seconds=seconds,
                    mode="telegram",
                    first=10**8,
                    secret=account.webhook_secret,
                )
                stored = stored_rows(account)
                # wrk stops with up to `connections` requests in flight: stored or not, unanswered.
                run["stored"] = stored
                run["durable"] = run["errors"] == 0 and run["unique"] - connections <= stored <= run["unique"]
                row[f"webhook_c{connections}"] = run
            row["admin_c40"] = loadgen.wrk(f"{url}/admin/", connections=40, seconds=seconds, mode="get", secret=cookie)
        finally:
            PROCS.stop(key)
        for name in ("bare", "insert_c40", "webhook_c40", "insert_c100", "webhook_c100", "admin_c40"):
            run = row[name]
            say(
                f"   {name:13} {run['rate']:8.0f} req/s  p99 {run['p99_us'] / 1000:7.1f} ms  errors {run['errors']}"
                + (f"  stored {run['stored']}/{run['unique']} unique" if "stored" in run else "")
            )
        results["servers"][key] = row


def recommend(results: dict) -> str:
    """The webhook server: the best webhook rate at 40 and 100 connections, all answers 2xx."""

    def score(key: str) -> float:
        row = results["servers"][key]
        runs = [row["webhook_c40"], row["webhook_c100"]]
        return min(r["rate"] for r in runs) if all(r["errors"] == 0 for r in runs) else 0.0

    return max(results["servers"], key=score)


# --- Phase: profile of the webhook path --------------------------------------------------


def profile(results: dict, key: str) -> None:
    label, product, _ = SERVERS[key]
    proc = PROCS.start(f"{key}-profiled", _bind(product, PORT))
    out = LOGS / "profile.txt"
    try:
        warm(f"http://127.0.0.1:{PORT}/healthz", proc)
        account = telegram_account(f"bench-profile-{key}")
        seconds = SIZE["wrk_seconds"] + 1
        spy = PROCS.start(
            "py-spy",
            [str(Path(PY).with_name("py-spy")), "record", "--subprocesses", "--nonblocking", "-r", "200"]
            + ["-d", str(seconds + 1), "-f", "raw", "-o", str(out), "-p", str(proc.pid)],
        )
        time.sleep(1.0)
        loadgen.wrk(
            f"http://127.0.0.1:{PORT}{account.webhook_path}",
            connections=40,
            seconds=seconds - 1,
            mode="telegram",
            first=2 * 10**8,
            secret=account.webhook_secret,
        )
        spy.wait(timeout=seconds + 30)
    except Exception as exc:  # a profile that fails (no ptrace here) must not fail the run
        say(f"   profile failed: {exc}")
    finally:
        PROCS.stop("py-spy")
        PROCS.stop(f"{key}-profiled")
    results["profile"] = report.summarize_profile(out) if out.exists() else {}


# --- Phase: the recommended shape: ack latency, inbox lag, durability ---------------------


def start_shape(key: str, *, ws: bool = True) -> None:
    _, product, _ = SERVERS[key]
    server = PROCS.start(f"shape-{key}", _bind(product, PORT))
    warm(f"http://127.0.0.1:{PORT}/healthz", server)
    if ws:
        daphne = PROCS.start("shape-daphne-ws", _daphne_ws())
        loadgen.wait_port(WS_PORT, daphne)
    # The production shape's workers: one on the webhook inbox (its own queue, never behind
    # scenario steps), one on everything else. Sends (-Q outbound) have their own phase.
    celery = [PY, "-m", "celery", "-A", "contactcenter", "worker", "-P", "prefork", "--loglevel=WARNING"]
    PROCS.start("inbox-worker", [*celery, "-Q", "inbox", "-c", "2", "-n", "inbox@%h"])
    PROCS.start("chat-worker", [*celery, "-Q", "celery", "-c", "2", "-n", "chat@%h"])
    beat = [PY, "-m", "celery", "-A", "contactcenter", "beat", "--loglevel=WARNING"]
    PROCS.start("beat", [*beat, "-s", str(LOGS / "celerybeat-schedule")])
    wait_for_worker()


def wait_for_worker() -> None:
    from contactcenter.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not app.control.ping(timeout=0.5):
        time.sleep(0.2)


def wait_processed(account_ids: list, seconds: float = 60.0) -> bool:
    from integrations.models import InboxEvent

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not InboxEvent.objects.filter(account_id__in=account_ids, processed_at__isnull=True).exists():
            return True
        time.sleep(0.1)
    return False


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


def trim_backlog(keep: int) -> None:
    """Leave only the newest `keep` unprocessed rows for the drain; the rest are marked done."""
    from django.utils import timezone

    from integrations.models import InboxEvent

    pending = InboxEvent.objects.filter(processed_at__isnull=True).order_by("-id").values_list("id", flat=True)
    cutoff = list(pending[keep : keep + 1])
    if cutoff:
        InboxEvent.objects.filter(processed_at__isnull=True, id__lte=cutoff[0]).update(processed_at=timezone.now())


def drain(results: dict) -> None:
    """Processor throughput: the webhook rows of the server comparison, drained by the worker."""
    from integrations.models import InboxEvent

    pending = InboxEvent.objects.filter(processed_at__isnull=True)
    backlog = pending.count()
    started = time.monotonic()
    deadline = started + (30 if QUICK else 120)
    while pending.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    left = pending.count()
    elapsed = time.monotonic() - started
    results["drain"] = {"backlog": backlog, "left": left, "seconds": elapsed, "rate": (backlog - left) / elapsed}
    say(f"   inbox drain: {backlog - left} of {backlog} rows in {elapsed:.1f} s = {results['drain']['rate']:.0f}/s")


def open_loop_runs(results: dict) -> None:
    from integrations.models import InboxEvent

    for rate in RATES:
        quiesce()
        account = telegram_account(f"bench-open-{rate}")
        count = int(rate * SIZE["open_seconds"])
        unique = [update_body(3 * 10**8 + i, 600_000 + i % 1000, f"open {i}") for i in range(count - count // 10)]
        bodies = unique + random.Random(rate).sample(unique, count // 10)
        random.Random(rate + 1).shuffle(bodies)
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": account.webhook_secret}
        run = asyncio.run(loadgen.open_loop(PORT, account.webhook_path, bodies, rate=rate, headers=headers))
        acked_ids = {json.loads(bodies[i])["update_id"] for i, _ in run.acked}
        processed = wait_processed([account.pk], 30 if QUICK else 60)
        rows = list(InboxEvent.objects.filter(account=account).values_list("event_id", "received_at", "processed_at"))
        stored_ids = {int(event_id) for event_id, _, _ in rows}
        lags = [(p - r).total_seconds() for _, r, p in rows if p is not None]
        span = [min(r for _, r, _ in rows), max(p for _, _, p in rows if p)] if lags else None
        entry = {
            "rate": rate,
            "sent": count,
            "statuses": run.statuses,
            "timeouts": run.timeouts,
            "late_starts": run.late_starts,
            "p50_ms": _ms(loadgen.percentile(run.latencies, 0.5)),
            "p95_ms": _ms(loadgen.percentile(run.latencies, 0.95)),
            "p99_ms": _ms(loadgen.percentile(run.latencies, 0.99)),
            "acked_unique": len(acked_ids),
            "stored": len(stored_ids),
            "durable": acked_ids <= stored_ids and stored_ids <= {json.loads(b)["update_id"] for b in unique},
            "exact": acked_ids == stored_ids,
            "all_processed": processed,
            "lag_p50_ms": _ms(loadgen.percentile(lags, 0.5)),
            "lag_p99_ms": _ms(loadgen.percentile(lags, 0.99)),
            "processed_rate": len(lags) / (span[1] - span[0]).total_seconds() if span else 0.0,
        }
        results["open_loop"].append(entry)
        say(
            f"   {rate}/s: ack p50 {entry['p50_ms']:.1f} p95 {entry['p95_ms']:.1f} p99 {entry['p99_ms']:.1f} ms; "
            f"stored {entry['stored']} = acked unique {entry['acked_unique']}: {entry['exact']}; "
            f"lag p50 {entry['lag_p50_ms']:.0f} p99 {entry['lag_p99_ms']:.0f} ms; late sends {run.late_starts}"
        )


def _ms(value: float | None) -> float:
    return value * 1000 if value is not None else float("nan")


# --- Phase: webhook 2xx -> frame on the agent's socket; idle sockets ----------------------


def make_agents(n: int) -> list[tuple[str, int]]:
    """n agents, each logged in (a session cookie) with one active chat; (cookie, customer id)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from agentdesk.models import Agent, ChatAssignment
    from conversations.models import Customer, Interaction

    account = telegram_account("bench-agents")
    agents = []
    for i in range(n):
        user = get_user_model().objects.create_user(f"bench-agent-{i}", password=None)
        agent = Agent.objects.create(user=user, state=Agent.State.BUSY)
        customer_id = 700_000 + i
        customer = Customer.objects.create(account=account, external_id=str(customer_id))
        interaction = Interaction.objects.create(account=account, customer=customer, agent=user)
        ChatAssignment.objects.create(interaction=interaction, agent=agent, status=ChatAssignment.Status.ACTIVE)
        client = Client()
        client.force_login(user)
        agents.append((f"sessionid={client.cookies['sessionid'].value}", customer_id))
    return account, agents


async def _connect(cookie: str, tries: int = 3):
    """One desktop socket; retried, as the desktop reconnects (Daphne drops a handshake its
    application has not accepted within 5 s, which a burst of connects on a busy box hits)."""
    for attempt in range(tries):
        try:
            return await _connect_once(cookie)
        except Exception:
            if attempt == tries - 1:
                raise
            await asyncio.sleep(0.5 * (attempt + 1))
    return None


async def _connect_once(cookie: str):
    import websockets

    socket = await websockets.connect(
        f"ws://127.0.0.1:{WS_PORT}/ws/agent/",
        additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{WS_PORT}"},
        open_timeout=30,
        max_size=2**22,
    )
    return socket


async def socket_latency(account, agents, results: dict) -> None:
    arrivals: dict[str, float] = {}
    sockets = []
    readers = []

    async def read(socket) -> None:
        try:
            async for raw in socket:
                frame = json.loads(raw)
                if frame.get("type") == "message":
                    text = frame["message"].get("text", "")
                    if text.startswith("sock ") and text not in arrivals:
                        arrivals[text] = time.time()
        except Exception:  # noqa: S110 (a closed socket ends its reader)
            pass

    try:
        for start in range(0, len(agents), 10):
            batch = await asyncio.gather(
                *(_connect(cookie) for cookie, _ in agents[start : start + 10]), return_exceptions=True
            )
            sockets += [s for s in batch if not isinstance(s, BaseException)]
        readers = [asyncio.ensure_future(read(s)) for s in sockets]
        await asyncio.sleep(1.0)  # the snapshots
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": account.webhook_secret}
        for rate in SOCKET_RATES:
            await asyncio.to_thread(quiesce)
            count = int(rate * SIZE["socket_seconds"])
            texts = [f"sock {rate}-{i}" for i in range(count)]
            bodies = [
                update_body(4 * 10**8 + rate * 10**5 + i, agents[i % len(agents)][1], text)
                for i, text in enumerate(texts)
            ]
            cpu_before, wall_started = cpu.snapshot(), time.time()
            run = await loadgen.open_loop(PORT, account.webhook_path, bodies, rate=rate, headers=headers)
            deadline = time.monotonic() + 10
            acked = {texts[i]: at for i, at in run.acked}
            while time.monotonic() < deadline and any(t not in arrivals for t in acked):
                await asyncio.sleep(0.05)
            cpu_spent = cpu.spent(cpu_before, cpu.snapshot())
            latencies = [arrivals[t] - at for t, at in acked.items() if t in arrivals]
            lags = await asyncio.to_thread(inbox_lags, account, [json.loads(b)["update_id"] for b in bodies])
            entry = {
                "rate": rate,
                "agents": len(sockets),
                "acked": len(acked),
                "received": len(latencies),
                "ack_p99_ms": _ms(loadgen.percentile(run.latencies, 0.99)),
                "p50_ms": _ms(loadgen.percentile(latencies, 0.5)),
                "p95_ms": _ms(loadgen.percentile(latencies, 0.95)),
                "p99_ms": _ms(loadgen.percentile(latencies, 0.99)),
                "lag_p50_ms": _ms(loadgen.percentile(lags, 0.5)),  # of which: ack -> processed
                "lag_p99_ms": _ms(loadgen.percentile(lags, 0.99)),
                # CPU milliseconds per message, per kind of process, from the first send to the last frame
                "cpu_ms_per_message": {kind: 1000 * sec / max(1, len(acked)) for kind, sec in cpu_spent.items()},
                "cpu_busy": sum(cpu_spent.values()) / max(1e-9, CORES * (time.time() - wall_started)),
            }
            results["socket"].append(entry)
            say(
                f"   {rate} msg/s, {len(sockets)} agents: 2xx -> frame p50 {entry['p50_ms']:.1f} "
                f"p95 {entry['p95_ms']:.1f} p99 {entry['p99_ms']:.1f} ms; {entry['received']}/{entry['acked']} frames; "
                f"inbox lag p50 {entry['lag_p50_ms']:.0f} p99 {entry['lag_p99_ms']:.0f} ms"
            )
            costs = ", ".join(f"{kind} {ms:.1f}" for kind, ms in entry["cpu_ms_per_message"].items() if ms >= 0.05)
            say(f"     CPU ms per message: {costs} (cores {100 * entry['cpu_busy']:.0f} % busy)")
    finally:
        for socket in sockets:
            await socket.close()
        for reader in readers:
            reader.cancel()


def inbox_lags(account, update_ids: list[int]) -> list[float]:
    """Seconds from each row's arrival to its processing (the share of the processor)."""
    from integrations.models import InboxEvent

    rows = InboxEvent.objects.filter(account=account, event_id__in=[str(u) for u in update_ids])
    return [(p - r).total_seconds() for r, p in rows.values_list("received_at", "processed_at") if p is not None]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def idle_sockets(agents, results: dict) -> None:
    proc = PROCS.start("idle-daphne", _daphne_ws())
    await asyncio.to_thread(loadgen.wait_port, WS_PORT, proc)
    sockets = []
    target = SIZE["idle_sockets"]
    try:
        await asyncio.sleep(1.0)
        before = rss_kib(proc.pid)
        started = time.monotonic()
        deadline = started + 180
        failed = 0
        while len(sockets) < target and time.monotonic() < deadline:
            batch = [agents[(len(sockets) + k) % len(agents)][0] for k in range(min(20, target - len(sockets)))]
            done = await asyncio.gather(*(_connect(cookie) for cookie in batch), return_exceptions=True)
            sockets += [s for s in done if not isinstance(s, BaseException)]
            failed += sum(1 for s in done if isinstance(s, BaseException))
            if failed > 50:
                break
        connect_seconds = time.monotonic() - started
        await asyncio.sleep(2.0)
        after = rss_kib(proc.pid)
        pongs = await asyncio.gather(*(s.ping() for s in sockets[:: max(1, len(sockets) // 50)]))
        alive = await asyncio.wait_for(asyncio.gather(*pongs, return_exceptions=True), 30)
        results["idle"] = {
            "sockets": len(sockets),
            "failed": failed,
            "rss_before_mib": before / 1024,
            "rss_after_mib": after / 1024,
            "kib_per_socket": (after - before) / max(1, len(sockets)),
            "connect_seconds": connect_seconds,
            "sampled_alive": sum(1 for a in alive if not isinstance(a, BaseException)),
            "sampled": len(alive),
        }
        say(
            f"   {len(sockets)} idle sockets ({failed} failed) in {connect_seconds:.1f} s: "
            f"RSS {before / 1024:.0f} -> {after / 1024:.0f} MiB "
            f"({results['idle']['kib_per_socket']:.0f} KiB/socket)"
        )
    finally:
        for socket in sockets:
            await socket.close()
        PROCS.stop("idle-daphne")


# --- Phase: outbound -----------------------------------------------------------------------


def discard_earlier_sends() -> None:
    """The replies earlier phases queued (no sender ran then, and their accounts point at the
    real platforms): dropped, or the send workers would spend this phase timing out on them."""
    import redis

    from conversations.models import Message
    from integrations import delivery

    client = redis.Redis.from_url(REDIS_URL)
    client.delete("outbound")
    client.close()
    Message.objects.filter(status__in=delivery.PENDING).update(
        status=Message.Status.FAILED, error_text="bench: dropped"
    )


def outbound(results: dict) -> None:
    from django.utils import timezone

    from contactcenter import scheduling
    from conversations.models import Customer, Interaction, Message
    from integrations import delivery

    discard_earlier_sends()
    fake = PROCS.start("fake-platform", [PY, "-m", "bench.fake_platform", str(FAKE_PORT), "0.05"])
    loadgen.wait_port(FAKE_PORT, fake)
    import requests

    bots = [telegram_account(f"bench-out-{b}", api_base_url=f"http://127.0.0.1:{FAKE_PORT}") for b in range(50)]
    for limiter, per_chat in (("false", 1), ("true", 2)):
        chats_per_bot = max(1, SIZE["outbound_messages"] // (50 * per_chat))
        interactions = []
        for bot in bots:
            for c in range(chats_per_bot):
                customer = Customer.objects.create(account=bot, external_id=f"{limiter}-{c}")
                interactions.append(Interaction.objects.create(account=bot, customer=customer))
        requests.delete(f"http://127.0.0.1:{FAKE_PORT}/stats", timeout=5)
        worker = [PY, "-m", "celery", "-A", "contactcenter", "worker", "-Q", "outbound", "-P", "threads", "-c", "32"]
        for w in range(CORES):
            command = [*worker, "--loglevel=WARNING", "-n", f"send{w}@%h"]
            PROCS.start(f"send-worker-{w}", command, OUTBOUND_RATE_LIMIT=limiter)
        try:
            wait_for_worker()
            time.sleep(1.0)
            now = timezone.now()
            rows = [
                Message(
                    interaction=i,
                    account_id=i.account_id,
                    customer_id=i.customer_id,
                    direction=Message.Direction.OUTBOUND,
                    sender=Message.Sender.BOT,
                    kind=Message.Kind.TEXT,
                    text=f"out {limiter} {i.pk}/{k}",
                    status=Message.Status.QUEUED,
                    next_attempt_at=now,
                )
                for k in range(per_chat)
                for i in interactions
            ]
            started = time.time()
            ids = [m.pk for m in Message.objects.bulk_create(rows)]
            for message_id in ids[: len(interactions)]:  # each customer's first; the rest follow in order
                scheduling.run(delivery.SEND_TASK, message_id)
            deadline = time.monotonic() + (60 if QUICK else 180)
            pending = Message.objects.filter(pk__in=ids, status__in=delivery.PENDING)
            while pending.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            stats = requests.get(f"http://127.0.0.1:{FAKE_PORT}/stats", timeout=30).json()
        finally:
            for w in range(CORES):
                PROCS.stop(f"send-worker-{w}")
        entry = report.outbound_figures(stats, started=started, messages=len(ids))
        entry["limiter"] = limiter == "true"
        entry["left"] = pending.count()
        results["outbound"].append(entry)
        say(
            f"   limiter {'on ' if entry['limiter'] else 'off'}: {entry['sent']}/{len(ids)} sent, "
            f"{entry['rate']:.0f} sends/s; max per bot in 1 s {entry['max_bot_1s']}, min gap per chat "
            f"{entry['min_chat_gap_s']:.2f} s, 429s {entry['refused']}"
        )
    PROCS.stop("fake-platform")


# --- The run -------------------------------------------------------------------------------


def main() -> None:
    if not loadgen.wrk_available():
        raise SystemExit("wrk not found: `apt-get install -y wrk` (make bench installs it)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of sockets; inherited
    for stale in LOGS.glob("*.log"):
        stale.unlink()
    started = time.monotonic()
    results: dict = {
        "quick": QUICK,
        "cores": CORES,
        "load_average_at_start": os.getloadavg(),
        "size": SIZE,
        "servers": {},
        "open_loop": [],
        "socket": [],
        "outbound": [],
    }
    say(f"bench: {'QUICK' if QUICK else 'full'} mode, {CORES} cores, load average {os.getloadavg()[0]:.1f}")
    create_database()
    flush_own_redis()
    try:
        setup_django()
        say("-- baselines")
        results["raw_insert"] = baseline_raw_insert(SIZE["raw_inserts"])
        results["pubsub"] = baseline_pubsub(SIZE["pubsub_round_trips"])
        say(f"   raw INSERT, 1 connection: {results['raw_insert']['rate']:.0f}/s")
        say(f"   Redis PUBLISH->SUBSCRIBE: p50 {results['pubsub']['p50_ms']:.2f} ms")
        compare_servers(results, admin_cookie())
        key = results["recommended"] = recommend(results)
        say(f"-- profile of the webhook path on {key}")
        profile(results, key)
        say(f"-- recommended shape: {SERVERS[key][0]} for webhooks, Daphne for /ws/, Celery worker + beat")
        trim_backlog(SIZE["drain_rows"])
        start_shape(key)
        drain(results)
        open_loop_runs(results)
        say("-- webhook -> agent socket")
        account, agents = make_agents(SIZE["agents"])
        asyncio.run(asyncio.wait_for(socket_latency(account, agents, results), 300))
        PROCS.stop_all()
        say("-- idle sockets in one Daphne process")
        asyncio.run(asyncio.wait_for(idle_sockets(agents, results), 400))
        say("-- outbound")
        outbound(results)
    finally:
        PROCS.stop_all()
        from django.db import connections

        connections.close_all()
        flush_own_redis()
        drop_database()
    results["seconds"] = time.monotonic() - started
    results["load_average_at_end"] = os.getloadavg()
    report.write(results)
