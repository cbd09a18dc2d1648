"""Bench phases of the webhook ack and the inbox processor: open-loop ack latency on the
recommended server alone and with the workers on the box, durability (stored == unique acked),
the drain of a backlog and the inbox lag."""

from __future__ import annotations

import asyncio
import json
import random
import time

from bench import loadgen
from bench.common import (
    LOGS,
    PORT,
    PROCS,
    PY,
    QUICK,
    RATES,
    SIZE,
    WS_PORT,
    bind_port,
    daphne_ws,
    quiesce,
    say,
    telegram_account,
    to_ms,
    update_body,
    wait_for_worker,
    warm,
)
from bench.servers import SERVERS


def start_shape(key: str, *, ws: bool = True) -> None:
    _, product, _ = SERVERS[key]
    server = PROCS.start(f"shape-{key}", bind_port(product, PORT))
    warm(f"http://127.0.0.1:{PORT}/healthz", server)
    if ws:
        daphne = PROCS.start("shape-daphne-ws", daphne_ws())
        loadgen.wait_port(WS_PORT, daphne)
    # The production shape's workers: one on the webhook inbox (its own queue, never behind
    # scenario steps), one on everything else. Sends (-Q outbound) have their own phase.
    celery = [PY, "-m", "celery", "-A", "contactcenter", "worker", "-P", "prefork", "--loglevel=WARNING"]
    PROCS.start("inbox-worker", [*celery, "-Q", "inbox", "-c", "2", "-n", "inbox@%h"])
    PROCS.start("chat-worker", [*celery, "-Q", "celery", "-c", "2", "-n", "chat@%h"])
    beat = [PY, "-m", "celery", "-A", "contactcenter", "beat", "--loglevel=WARNING"]
    PROCS.start("beat", [*beat, "-s", str(LOGS / "celerybeat-schedule")])
    wait_for_worker()


def wait_processed(account_ids: list, seconds: float = 60.0) -> bool:
    from integrations.models import InboxEvent

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not InboxEvent.objects.filter(account_id__in=account_ids, processed_at__isnull=True).exists():
            return True
        time.sleep(0.1)
    return False


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


def _open_loop(rate: int, name: str) -> tuple[dict, object, list]:
    """Signed updates at `rate`/s from 1,000 customers (10 % replays) to a new account, open
    loop; the ack figures and durability, with the account and the acked bodies."""
    from integrations.models import InboxEvent

    account = telegram_account(name)
    count = int(rate * SIZE["open_seconds"])
    unique = [update_body(3 * 10**8 + i, 600_000 + i % 1000, f"open {i}") for i in range(count - count // 10)]
    bodies = unique + random.Random(rate).sample(unique, count // 10)
    random.Random(rate + 1).shuffle(bodies)
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": account.webhook_secret}
    run = asyncio.run(loadgen.open_loop(PORT, account.webhook_path, bodies, rate=rate, headers=headers))
    acked_ids = {json.loads(bodies[i])["update_id"] for i, _ in run.acked}
    stored_ids = {int(e) for e in InboxEvent.objects.filter(account=account).values_list("event_id", flat=True)}
    entry = {
        "rate": rate,
        "sent": count,
        "statuses": run.statuses,
        "timeouts": run.timeouts,
        "late_starts": run.late_starts,
        "p50_ms": to_ms(loadgen.percentile(run.latencies, 0.5)),
        "p95_ms": to_ms(loadgen.percentile(run.latencies, 0.95)),
        "p99_ms": to_ms(loadgen.percentile(run.latencies, 0.99)),
        "acked_unique": len(acked_ids),
        "stored": len(stored_ids),
        "durable": acked_ids <= stored_ids and stored_ids <= {json.loads(b)["update_id"] for b in unique},
        "exact": acked_ids == stored_ids,
    }
    return entry, account, run


def _say_ack(entry: dict, extra: str = "") -> None:
    say(
        f"   {entry['rate']}/s: ack p50 {entry['p50_ms']:.1f} p95 {entry['p95_ms']:.1f} p99 {entry['p99_ms']:.1f} ms; "
        f"stored {entry['stored']} = acked unique {entry['acked_unique']}: {entry['exact']}; "
        f"late sends {entry['late_starts']}{extra}"
    )


def ack_alone(results: dict, key: str) -> None:
    """The ack path by itself: the recommended server with no worker on the box, as when the
    workers run elsewhere. The rows stay for the processor (the drain phase)."""
    _, product, _ = SERVERS[key]
    server = PROCS.start(f"{key}-ack", bind_port(product, PORT))
    try:
        warm(f"http://127.0.0.1:{PORT}/healthz", server)
        for rate in RATES:
            entry, _, _ = _open_loop(rate, f"bench-ack-{rate}")
            results["ack_alone"].append(entry)
            _say_ack(entry)
    finally:
        PROCS.stop(f"{key}-ack")


def open_loop_runs(results: dict) -> None:
    """Ack latency with the processor and the scenario workers on the same two cores, and the
    inbox lag (received -> processed) of those updates."""
    from integrations.models import InboxEvent

    for rate in RATES:
        quiesce()
        entry, account, _ = _open_loop(rate, f"bench-open-{rate}")
        processed = wait_processed([account.pk], 30 if QUICK else 60)
        rows = list(InboxEvent.objects.filter(account=account).values_list("received_at", "processed_at"))
        lags = [(p - r).total_seconds() for r, p in rows if p is not None]
        span = [min(r for r, _ in rows), max(p for _, p in rows if p)] if lags else None
        entry |= {
            "all_processed": processed,
            "lag_p50_ms": to_ms(loadgen.percentile(lags, 0.5)),
            "lag_p99_ms": to_ms(loadgen.percentile(lags, 0.99)),
            "processed_rate": len(lags) / (span[1] - span[0]).total_seconds() if span else 0.0,
        }
        results["open_loop"].append(entry)
        _say_ack(entry, f"; lag p50 {entry['lag_p50_ms']:.0f} p99 {entry['lag_p99_ms']:.0f} ms")
