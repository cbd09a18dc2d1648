"""`make soak`: customers and agents in parallel on both shapes; exits 1 if anything is lost or stuck.

Each shape starts on its own database (see reliability/shapes.py), SOAK_CUSTOMERS customers
(Telegram, Facebook, Viber, LINE, Vonage demo accounts in turn) write through the simulator while
SOAK_AGENTS agents work the Agent Desktop over its WebSocket, for SOAK_SECONDS; then the last
answers have SOAK_DRAIN seconds to arrive and the product's rows are counted.

    SOAK_SECONDS=300 SOAK_CUSTOMERS=20 SOAK_AGENTS=4 SOAK_SHAPES=embedded,production make soak

Production shape: PostgreSQL at SOAK_PG (default 127.0.0.1:5432, user postgres; the run creates
and drops its own database) and Redis at SOAK_REDIS_URL (default redis://127.0.0.1:6379/12).
Logs stay in SOAK_DIR (default var/soak/<pid>).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from reliability import load, shapes

SECONDS = float(os.environ.get("SOAK_SECONDS", "300"))
CUSTOMERS = int(os.environ.get("SOAK_CUSTOMERS", "20"))
AGENTS = int(os.environ.get("SOAK_AGENTS", "4"))
DRAIN = float(os.environ.get("SOAK_DRAIN", "90"))
SHAPES = [s.strip() for s in os.environ.get("SOAK_SHAPES", "embedded,production").split(",") if s.strip()]
PLATFORMS = ["telegram", "facebook", "viber", "line", "nexmo"]
PG = os.environ.get("SOAK_PG", "127.0.0.1:5432")
REDIS_URL = os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/12")
WORKDIR = Path(os.environ.get("SOAK_DIR", load.ROOT / "var" / "soak" / str(os.getpid())))


def soak(shape: shapes.Shape) -> dict:
    crowd = load.make_load(
        shape.url,
        platform_url=shape.platform_url,
        customers=CUSTOMERS,
        agents=AGENTS,
        platforms=PLATFORMS,
        round_timeout=DRAIN,
        think=(2.0, 6.0),
    )
    started = time.monotonic()
    asyncio.run(load.drive(crowd, seconds=SECONDS, drain=DRAIN))
    # A last look after the sweepers' windows: what is still unsent now is stuck.
    time.sleep(5)
    figures = load.count(crowd, load.db_tally(shape.env, crowd.prefix))
    figures["_seconds"] = round(time.monotonic() - started)
    load.explain(shape.env, crowd, figures, shape.workdir / "explain.txt")
    log = shape.logs()
    figures["_db_locked_log_lines"] = log.count("database is locked")
    figures["_tracebacks"] = log.count("Traceback")
    return figures


def main() -> int:
    load.say(
        f"soak: {CUSTOMERS} customers x {AGENTS} agents, {SECONDS:.0f} s per shape (+ up to {DRAIN:.0f} s drain), "
        f"shapes {', '.join(SHAPES)}; logs in {WORKDIR}"
    )
    rows = []
    for name in SHAPES:
        load.say(f"== {name}")
        if name == "embedded":
            with shapes.embedded(WORKDIR / name, agents=AGENTS) as shape:
                figures = soak(shape)
        elif name == "production":
            host, port = PG.rsplit(":", 1)
            with (
                shapes.own_database(host=host, port=int(port)) as database_url,
                shapes.production(
                    WORKDIR / name, agents=AGENTS, database_url=database_url, redis_url=REDIS_URL
                ) as shape,
            ):
                figures = soak(shape)
        else:
            raise SystemExit(f"unknown shape {name!r} (embedded, production)")
        rows.append((name, figures))
        load.say(load.table([(name, figures)]))
        load.say(load.details(figures))
    load.say("")
    load.say(load.table(rows))
    bad = [name for name, f in rows if f["lost"] or f["stuck"]]
    if bad:
        load.say(f"FAIL: lost or stuck messages on {', '.join(bad)}")
        return 1
    load.say("OK: lost 0, stuck 0 on every shape")
    return 0


if __name__ == "__main__":
    sys.exit(main())
