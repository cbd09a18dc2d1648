"""Bench phase of outbound sends: 50 bots to a fake Telegram API at 50 ms, with the rate
limiter off (capacity) and on (Telegram's caps held, no 429)."""

from __future__ import annotations

import time

from bench import loadgen, report
from bench.common import (
    FAKE_PORT,
    PROCS,
    PY,
    QUICK,
    REDIS_URL,
    SEND_POOL,
    SEND_WORKERS,
    SIZE,
    say,
    telegram_account,
    wait_for_worker,
)


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
    from integrations import delivery, sender_wake

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
        worker = [PY, "-m", "celery", "-A", "contactcenter", "worker", "-Q", "outbound", *SEND_POOL]
        for w in range(SEND_WORKERS):
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
            scheduling.run(sender_wake.SEND_TASK)  # as queue_text's wake-up; each customer's next follows in order
            deadline = time.monotonic() + (60 if QUICK else 180)
            pending = Message.objects.filter(pk__in=ids, status__in=delivery.PENDING)
            while pending.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            stats = requests.get(f"http://127.0.0.1:{FAKE_PORT}/stats", timeout=30).json()
        finally:
            for w in range(SEND_WORKERS):
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
