"""Where the CPU goes during a phase: CPU seconds per kind of process, read from /proc.

A 2-core machine runs the servers, workers, PostgreSQL, Redis and the load client at once;
when a latency target is missed, this says which part ate the cores.
"""

from __future__ import annotations

import collections
import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# (label, a piece of the command line), first match wins.
KINDS = (
    ("PostgreSQL", "postgres"),
    ("Redis", "redis-server"),
    ("HTTP server (webhooks)", "gunicorn"),
    ("HTTP server (webhooks)", "uvicorn"),
    ("inbox worker", "inbox@"),
    ("chat-event worker", "chat@"),
    ("Celery beat", " beat"),
    ("Daphne (/ws/)", "contactcenter.server"),
    ("send worker", "-Q outbound"),
    ("fake platform", "bench.fake_platform"),
    ("load client (bench)", "-m bench"),
)


# Shared services: every process of theirs counts (they serve only us during a phase).
SHARED = ("PostgreSQL", "Redis")


def snapshot(sessions: set[int] | None = None) -> dict[int, tuple[str, int]]:
    """pid -> (kind, CPU ticks so far) for the processes of the kinds above. With `sessions`,
    only PostgreSQL, Redis, this process (the load client) and processes of those sessions
    count (the bench starts each process in its own session): a test run or another server on
    the box is left out."""
    rows = []  # (pid, kind or None, session, ticks)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        kind = next((label for label, piece in KINDS if piece in command), None)
        rows.append((int(name), kind, int(fields[3]), int(fields[11]) + int(fields[12])))  # utime + stime
    # A child whose command line names nothing (uvicorn's workers are multiprocessing spawns)
    # is of the kind of its session's leader, the process the bench started.
    leaders = {pid: kind for pid, kind, session, _ in rows if pid == session and kind}
    found = {}
    for pid, kind, session, ticks in rows:
        kind = kind or leaders.get(session)
        ours = sessions is None or kind in SHARED or session in sessions or pid == os.getpid()
        if kind is not None and ours:
            found[pid] = (kind, ticks)
    return found


def spent(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per kind between two snapshots (processes started in between count whole)."""
    seconds: dict[str, float] = collections.defaultdict(float)
    for pid, (kind, ticks) in after.items():
        seconds[kind] += max(0, ticks - before.get(pid, (kind, 0))[1]) / CLOCK_TICKS
    return dict(sorted(seconds.items(), key=lambda item: -item[1]))
