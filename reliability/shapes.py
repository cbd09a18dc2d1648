"""The two shapes a load run starts, each on its own database, stopped on the way out.

- embedded: `make run`'s default: one Daphne process, SQLite (WAL) in a temp dir, eager
  Celery, the in-process beat; no Redis.
- production: Daphne, `celery worker` processes, one `celery beat`, PostgreSQL and Redis. The
  database is created for the run (`soak_<pid>`) and dropped after; Redis is one db number of
  its own whose keys are the run's (never flushed: only the run's own key names are deleted).
  `pg`/`redis` say where they run: the machine's shared ones, or chaos's private instances.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from reliability.load import Proc, celery, daphne, free_port, prepare, run_dbtool, wait_healthy

_CLEARED = ("REDIS_URL", "DATABASE_URL", "TEST_DATABASE_NAME", "CELERY_TASK_ALWAYS_EAGER", "EMBEDDED_BEAT")


def base_env(url: str, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update(
        SECRET_KEY=secrets.token_urlsafe(40),
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        SIMULATOR_ENABLED="true",
        PUBLIC_BASE_URL=url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        LOG_FORMAT="text",
    )
    env.update(overrides)
    return env


@dataclass
class Shape:
    name: str
    url: str
    env: dict[str, str]
    workdir: Path
    port: int
    daphne: Proc | None = None
    workers: list[Proc] = field(default_factory=list)
    beat: Proc | None = None
    platform: Proc | None = None  # the simulator in a Daphne of its own (production shape)
    platform_url: str = ""

    def procs(self) -> list[Proc]:
        return [p for p in [self.daphne, *self.workers, self.beat, self.platform] if p is not None]

    def start_daphne(self) -> None:
        self.daphne = daphne(self.env, self.port, self.workdir / "daphne.log")
        wait_healthy(self.url, self.daphne)

    def logs(self) -> str:
        seen, text = set(), []
        for path in sorted(self.workdir.glob("*.log")):
            if path not in seen:
                seen.add(path)
                text.append(path.read_text(errors="replace"))
        return "\n".join(text)

    def stop(self) -> None:
        for proc in self.procs():
            with contextlib.suppress(Exception):
                proc.stop()


@contextlib.contextmanager
def embedded(workdir: Path, *, agents: int):
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = base_env(url, DATABASE_URL=f"sqlite:///{workdir / 'embedded.sqlite3'}", DEBUG="true")
    shape = Shape("embedded (SQLite, eager, in-process beat)", url, env, workdir, port, platform_url=url)
    try:
        prepare(env, agents=agents)
        shape.start_daphne()
        yield shape
    finally:
        shape.stop()


def _pg_admin(dsn: str):
    import psycopg

    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


@contextlib.contextmanager
def own_database(host: str = "127.0.0.1", port: int = 5432, user: str = "postgres"):
    """A database of this run on that PostgreSQL server, dropped on the way out."""
    name = f"soak_{os.getpid()}_{secrets.token_hex(3)}"
    admin = f"postgresql://{user}@{host}:{port}/postgres"
    with _pg_admin(admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{user}@{host}:{port}/{name}"
    finally:
        if os.environ.get("SOAK_KEEP_DB") == "1":
            sys.stdout.write(f"SOAK_KEEP_DB=1: database {name} kept on {host}:{port}; drop it when done\n")
        else:
            with _pg_admin(admin) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clear_redis_keys(redis_url: str, prefix: str) -> None:
    """Delete the run's own keys (its channel prefix, Celery's queue and bookkeeping keys)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    with contextlib.suppress(redis.RedisError):
        names = ["celery", "inbox", "outbound", "unacked", "unacked_index", "unacked_mutex"]
        for pattern in (f"{prefix}*", "_kombu.binding*", "celery-task-meta-*"):
            names += [k.decode() for k in client.scan_iter(match=pattern, count=500)]
        if names:
            client.delete(*names)


@contextlib.contextmanager
def production(
    workdir: Path,
    *,
    agents: int,
    database_url: str,
    redis_url: str,
    workers: int = 2,
    concurrency: int = 2,
    extra_env: dict[str, str] | None = None,
):
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    prefix = f"soak{os.getpid()}"
    env = base_env(
        url,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CHANNELS_PREFIX=prefix,
        CELERY_TASK_ALWAYS_EAGER="false",
        EMBEDDED_BEAT="false",
        DEBUG="false",
        **(extra_env or {}),
    )
    shape = Shape("production (PostgreSQL, Redis, workers, beat)", url, env, workdir, port)
    platform_port = free_port()
    shape.platform_url = f"http://127.0.0.1:{platform_port}"
    try:
        prepare(env, agents=agents)
        # The platforms are another party: the simulator runs in a Daphne of its own, so a
        # fault of the product's Daphne is not a fault of the platforms (which keep retrying).
        run_dbtool(env, "api-base", url, shape.platform_url)
        shape.platform = daphne(env, platform_port, workdir / "platform.log", name="platform")
        wait_healthy(shape.platform_url, shape.platform)
        for n in range(workers):
            shape.workers.append(
                celery(
                    env,
                    workdir / f"worker{n + 1}.log",
                    "worker",
                    f"--concurrency={concurrency}",
                    f"--hostname=soak{n + 1}-{os.getpid()}@%h",
                    name=f"worker{n + 1}",
                )
            )
        shape.beat = celery(env, workdir / "beat.log", "beat", "-s", str(workdir / "beat-schedule"), name="beat")
        shape.start_daphne()
        yield shape
    finally:
        shape.stop()
        clear_redis_keys(redis_url, prefix)
