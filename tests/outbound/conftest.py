"""Fixtures of the outbound tests: simulator accounts linked to ours, customers on both sides,
and real Celery worker / beat processes on the test database and this run's Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from contactcenter.celery import app as celery_app
from conversations.models import Customer, Interaction, Message
from integrations.models import IntegrationAccount
from simulator import factories
from simulator.models import SimAccount, SimCustomer, SimMessage
from tests.conftest import server_environment

API_PATHS = {"telegram": "telegram", "line": "line", "facebook": "facebook/v19.0", "viber": "viber"}


def link_account(
    server_url: str, *, messenger: str = "telegram", **sim_fields
) -> tuple[IntegrationAccount, SimAccount]:
    """A fake platform account and our IntegrationAccount pointing at it."""
    sim = factories.create_account(platform=messenger, **sim_fields)
    account = IntegrationAccount.objects.create(
        messenger=messenger,
        name=sim.name,
        username=sim.username.lstrip("@"),
        page_id=sim.platform_id if messenger == "facebook" else "",
        access_token=sim.token,
        signing_secret=sim.secret,
        api_base_url=f"{server_url}/simulator/api/{API_PATHS[messenger]}",
    )
    return account, sim


def add_customer(account: IntegrationAccount, sim: SimAccount, n: int, **fields) -> Interaction:
    """A customer known to the fake platform and to us, with an open interaction."""
    external_id = {"telegram": str(500_000_000 + n), "line": f"U{n:032x}"}.get(account.messenger, f"{n}")
    SimCustomer.objects.create(account=sim, key=f"c{n}", name=f"Customer {n}", external_id=external_id)
    customer = Customer.objects.create(account=account, external_id=external_id, first_name=f"Customer {n}", **fields)
    return Interaction.objects.create(account=account, customer=customer)


def received(sim: SimAccount) -> list[SimMessage]:
    """What the customers of the fake account received from us, in arrival order."""
    return list(SimMessage.objects.filter(account=sim, direction=SimMessage.Direction.OUT).order_by("id"))


def wait_until(condition: Callable[[], bool], *, timeout: float = 90, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def settled(messages: list[Message]) -> bool:
    ids = [m.pk for m in messages]
    return not Message.objects.filter(pk__in=ids, status__in=["queued", "sending"]).exists()


class Processes:
    """Celery worker and beat processes of one test, each in its own process group."""

    def __init__(self, env: dict[str, str], log_dir):
        self.env = env
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []
        self.count = 0

    def _start(self, args: list[str], name: str) -> subprocess.Popen:
        self.count += 1
        log = open(self.log_dir / f"{name}-{self.count}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "contactcenter", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc.log_path = log.name
        self.procs.append(proc)
        return proc

    def worker(self, concurrency: int = 2) -> subprocess.Popen:
        proc = self._start(
            [
                "worker",
                "-P",
                "prefork",
                "-c",
                str(concurrency),
                "-n",
                f"out{self.count + 1}-{os.getpid()}@%h",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            "worker",
        )
        deadline = time.monotonic() + 60
        while not (celery_app.control.ping(timeout=0.5) or []):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{open(proc.log_path).read()[-4000:]}")
        return proc

    def beat(self) -> subprocess.Popen:
        return self._start(["beat", "-s", str(self.log_dir / "beat-schedule"), "--loglevel=INFO"], "beat")

    @staticmethod
    def kill_hard(proc: subprocess.Popen) -> None:
        """kill -9 the whole worker: the main process and its pool children at once."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        """At the end of the test: kill -9 at once (a warm shutdown took 2 to 8 s per test, and
        the next test starts on a flushed Redis db and an emptied database anyway)."""
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait(timeout=10)


@pytest.fixture
def celery_processes(live_daphne, redis_url, require_postgres, tmp_path):
    """Start real `celery worker` / `beat` processes; tasks queued by the test go to Redis."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # this run's own Redis database: stale tasks and buckets
    env = server_environment(
        REDIS_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        PUBLIC_BASE_URL=live_daphne.url,
        # Short enough for a test, long enough that a task merely waiting in a busy queue is
        # not taken for lost (that would enqueue duplicates of it faster than they drain).
        OUTBOUND_SWEEP_INTERVAL="2",
        OUTBOUND_SENDING_TIMEOUT="15",
        OUTBOUND_QUEUED_GRACE="8",
        OUTBOUND_BACKOFF_BASE="0.5",
        LOG_FORMAT="text",
    )
    processes = Processes(env, tmp_path)
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = redis_url
    try:
        yield processes
    finally:
        celery_app.conf.task_always_eager = True
        processes.stop_all()
