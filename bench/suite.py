"""`make bench` (issue 13): every figure with the baselines of the same run, on 127.0.0.1.

Phases, in order: baselines and the HTTP servers compared (`bench.servers`); the profile; the
ack path alone, then the recommended shape with its workers (`bench.ingest`); webhook ->
agent socket and idle sockets (`bench.sockets`); outbound (`bench.outbound`). Each phase
first waits for the previous one's work to drain. Results go to bench/results.json and
bench/latency.png; `bench.report` prints the table. Shared settings: `bench.common`.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time

from bench import loadgen, report
from bench.common import (
    CORES,
    LOGS,
    PROCS,
    QUICK,
    SIZE,
    admin_cookie,
    create_database,
    drop_database,
    flush_own_redis,
    say,
    setup_django,
)
from bench.ingest import ack_alone, drain, open_loop_runs, start_shape, trim_backlog
from bench.outbound import outbound
from bench.servers import SERVERS, baseline_pubsub, baseline_raw_insert, compare_servers, profile, recommend
from bench.sockets import idle_sockets, make_agents, socket_latency


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
        "ack_alone": [],
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
        say(f"-- ack latency of {SERVERS[key][0]} alone (no worker on the box)")
        ack_alone(results, key)
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
