"""`make chaos`: the production shape on its own PostgreSQL and Redis, four faults under load.

Starts a private PostgreSQL (initdb into a temp dir, run as the `postgres` user when we are
root) and a private redis-server, both on free ports of 127.0.0.1; the machine's shared
PostgreSQL and Redis are never touched. On them: Daphne, CHAOS_WORKERS Celery workers, one
Celery beat and the simulator's redelivery loop (`manage.py simulator_deliver --every 2`, as the
platforms retry a webhook that did not get a 2xx). Then, one after the other, each under its own
load of CHAOS_CUSTOMERS customers and CHAOS_AGENTS agents for CHAOS_SECONDS:
  (a) Redis restarted (no persistence: whatever the broker held is gone);
  (b) a Celery worker killed with SIGKILL mid-batch (its process group), started again;
  (c) PostgreSQL stopped for 10 s (fast shutdown), started again;
  (d) Daphne killed with SIGKILL while agents are connected, started again; agents reconnect,
      resync and re-send the actions that got no answer (same request_id).
Each prints sent, stored, delivered, duplicated, lost; exit 1 when a fault lost anything or
duplicated more than the sends that can be in flight (the messages sending at the worker's
kill plus re-sent actions).

The sweepers' windows are shortened (OUTBOUND_SENDING_TIMEOUT=20 s, OUTBOUND_QUEUED_GRACE=10 s,
sweep every 5 s) so a fault's recovery fits in the run; they are settings, not special cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reliability import load, shapes

SECONDS = float(os.environ.get("CHAOS_SECONDS", "45"))
CUSTOMERS = int(os.environ.get("CHAOS_CUSTOMERS", "10"))
AGENTS = int(os.environ.get("CHAOS_AGENTS", "3"))
WORKERS = int(os.environ.get("CHAOS_WORKERS", "2"))
CONCURRENCY = int(os.environ.get("CHAOS_CONCURRENCY", "2"))
DRAIN = float(os.environ.get("CHAOS_DRAIN", "120"))
FAULTS = [f.strip() for f in os.environ.get("CHAOS_FAULTS", "redis,worker,postgres,daphne").split(",") if f.strip()]
PLATFORMS = ["telegram", "facebook", "viber", "line"]
WORKDIR = Path(os.environ.get("CHAOS_DIR", load.ROOT / "var" / "chaos" / str(os.getpid())))
SWEEP = {"OUTBOUND_SENDING_TIMEOUT": "20", "OUTBOUND_QUEUED_GRACE": "10", "OUTBOUND_SWEEP_INTERVAL": "5"}


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(f"no {name} under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return found[-1]


class PrivatePostgres:
    def __init__(self, root: Path):
        self.dir = root / "pg"
        self.port = load.free_port()
        self.log = root / "postgres.log"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *cmd: str, timeout: float = 60) -> None:
        subprocess.run([*self.as_user, *cmd], check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self.dir.mkdir(parents=True)
        if self.as_user:
            shutil.chown(self.dir.parent, "postgres")
            shutil.chown(self.dir, "postgres")
        self._run(_pg_bin("initdb"), "-D", str(self.dir), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir}"
        options += " -c max_connections=200"
        self._run(_pg_bin("pg_ctl"), "-D", str(self.dir), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._run(_pg_bin("pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop")


class PrivateRedis:
    def __init__(self, root: Path):
        self.port = load.free_port()
        self.root = root
        self.proc: load.Proc | None = None

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        cmd += ["--dir", str(self.root)]
        self.proc = load.Proc("redis", cmd, dict(os.environ), self.root / "redis.log")
        deadline = time.monotonic() + 10
        import redis

        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


# --- Faults (each runs alongside its load) ------------------------------------------------


async def _settle() -> None:
    await asyncio.sleep(min(12.0, SECONDS / 3))  # customers and agents busy first


def fault_redis(shape, redis_server, _pg):
    async def run(crowd):
        await _settle()
        load.say("   fault: Redis restarted (its data gone)")
        redis_server.stop()
        await asyncio.sleep(2)
        redis_server.start()

    return run, lambda: 0


def fault_worker(shape, _redis, _pg):
    async def run(crowd):
        await _settle()
        victim = shape.workers[0]
        load.say(f"   fault: SIGKILL to {victim.name} (pid {victim.pid}) and its pool")
        victim.signal(signal.SIGKILL)
        await asyncio.to_thread(victim.process.wait)
        # What the dead worker had on the wire stays "sending" until the sweeper: each may
        # reach the platform twice (a sender run sends a batch side by side, not one per slot).
        sending = int(await asyncio.to_thread(load.run_dbtool, shape.env, "sending"))
        in_flight[0] = max(CONCURRENCY, sending)
        load.say(f"   {sending} outbound messages were sending at the kill")
        await asyncio.sleep(3)
        victim.start()  # a supervisor starts it again

    in_flight = [CONCURRENCY]
    return run, lambda: in_flight[0]


def fault_postgres(shape, _redis, pg):
    async def run(crowd):
        await _settle()
        load.say("   fault: PostgreSQL stopped for 10 s")
        await asyncio.to_thread(pg.stop)
        await asyncio.sleep(10)
        await asyncio.to_thread(pg.start)
        load.say("   PostgreSQL is back")

    return run, lambda: 0


def fault_daphne(shape, _redis, _pg):
    async def run(crowd):
        await _settle()
        connected = sum(1 for a in crowd.agents if a.ws is not None)
        load.say(f"   fault: SIGKILL to Daphne (pid {shape.daphne.pid}) with {connected} agents connected")
        shape.daphne.signal(signal.SIGKILL)
        await asyncio.to_thread(shape.daphne.process.wait)
        await asyncio.sleep(1)
        shape.daphne.start()
        await asyncio.to_thread(load.wait_healthy, shape.url, shape.daphne)
        load.say("   Daphne is back")

    return run, lambda: 0


FAULT_FUNCS = {"redis": fault_redis, "worker": fault_worker, "postgres": fault_postgres, "daphne": fault_daphne}
LABELS = {
    "redis": "(a) Redis restarted",
    "worker": "(b) worker SIGKILL",
    "postgres": "(c) PostgreSQL down 10 s",
    "daphne": "(d) Daphne SIGKILL",
}
COLUMNS = ["sent", "stored", "replies delivered", "duplicated", "lost", "stuck", "in flight"]


def main() -> int:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="chaos-", dir="/tmp"))
    load.say(
        f"chaos: faults {', '.join(FAULTS)}; {CUSTOMERS} customers x {AGENTS} agents, {SECONDS:.0f} s each; "
        f"private PostgreSQL and Redis under {root}; logs in {WORKDIR}"
    )
    pg, redis_server = PrivatePostgres(root), PrivateRedis(root)
    rows = []
    simdeliver = None
    try:
        pg.init()
        redis_server.start()
        load.say(f"   PostgreSQL on 127.0.0.1:{pg.port}, Redis on 127.0.0.1:{redis_server.port}")
        with (
            shapes.own_database(port=pg.port) as database_url,
            shapes.production(
                WORKDIR,
                agents=AGENTS,
                database_url=database_url,
                redis_url=f"redis://127.0.0.1:{redis_server.port}/0",
                workers=WORKERS,
                concurrency=CONCURRENCY,
                extra_env=SWEEP,
            ) as shape,
        ):
            simdeliver = load.Proc(
                "simulator_deliver",
                [load.PY, "manage.py", "simulator_deliver", "--every", "2"],
                shape.env,
                WORKDIR / "simulator_deliver.log",
            )
            for name in FAULTS:
                load.say(f"== {LABELS[name]}")
                fault, in_flight = FAULT_FUNCS[name](shape, redis_server, pg)
                crowd = load.make_load(
                    shape.url,
                    platform_url=shape.platform_url,
                    customers=CUSTOMERS,
                    agents=AGENTS,
                    platforms=PLATFORMS,
                    round_timeout=DRAIN,
                    think=(1.0, 3.0),
                    tag=name[:2],  # new people per fault: a chat one fault broke shows there only
                )
                asyncio.run(load.drive(crowd, seconds=SECONDS, drain=DRAIN, during=fault))
                time.sleep(3)
                figures = load.count(crowd, load.db_tally(shape.env, crowd.prefix))
                figures["in flight"] = in_flight() + sum(a.resent for a in crowd.agents)
                load.explain(shape.env, crowd, figures, WORKDIR / f"explain-{name}.txt")
                rows.append((LABELS[name], figures))
                load.say(load.table([(LABELS[name], figures)], COLUMNS))
                load.say(load.details(figures))
            simdeliver.stop()
    finally:
        if simdeliver is not None:
            simdeliver.stop()
        redis_server.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    load.say("")
    load.say(load.table(rows, COLUMNS))
    bad = [n for n, f in rows if f["lost"] or f["duplicated"] > f["in flight"]]
    if bad or len(rows) != len(FAULTS):
        load.say(f"FAIL: {', '.join(bad) or 'a fault did not complete'}")
        return 1
    load.say("OK: lost 0 for every fault, duplicates within the sends in flight")
    return 0


if __name__ == "__main__":
    sys.exit(main())
