"""Outbound delivery through a real Celery worker process, Redis and PostgreSQL, against the
simulator's fake Telegram API over real HTTP."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest

from conversations.models import Customer, Message
from integrations.outbound import queue_text
from simulator.models import ForcedError, SimRequest

from .conftest import add_customer, link_account, received, settled, wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.postgres]


def sent_texts(sim) -> list[str]:
    return [m.text for m in received(sim)]


def send_requests(sim) -> list[SimRequest]:
    return list(SimRequest.objects.filter(account=sim, path__icontains="sendMessage").order_by("id"))


def request_text(request: SimRequest) -> str:
    return json.loads(request.body)["text"]


def test_a_queued_reply_is_sent_once_with_the_platform_message_id(live_daphne, celery_processes):
    account, sim = link_account(live_daphne.url)
    interaction = add_customer(account, sim, 1)
    celery_processes.worker()

    [message] = queue_text(interaction=interaction, text="Hello from the contact center", sender="agent")
    wait_until(lambda: settled([message]), what="the message to settle")

    message.refresh_from_db()
    [delivered] = received(sim)
    assert message.status == Message.Status.SENT
    assert message.platform_message_id == delivered.platform_message_id
    assert message.attempts == 1
    assert delivered.text == "Hello from the contact center"
    assert delivered.customer.external_id == interaction.customer.external_id


def test_429_retry_after_is_honoured(live_daphne, celery_processes):
    # The fake bot answers 429 "retry after 1" past 2 sends per second; we queue faster than that.
    account, sim = link_account(live_daphne.url, rate_limit=2)
    interactions = [add_customer(account, sim, n) for n in range(6)]
    celery_processes.worker()

    messages = [m for i in interactions for m in queue_text(interaction=i, text=f"rate {i.pk}", sender="bot")]
    wait_until(lambda: settled(messages), what="all messages to settle")

    assert sorted(sent_texts(sim)) == sorted(m.text for m in messages)  # each exactly once
    assert all(m.status == Message.Status.SENT for m in Message.objects.filter(pk__in=[m.pk for m in messages]))
    requests = send_requests(sim)
    limited = [r for r in requests if r.status_code == 429]
    assert limited, "the fake never rate-limited us: the test did not exercise a 429"
    for refusal in limited:
        retry = next(r for r in requests if r.id > refusal.id and request_text(r) == request_text(refusal))
        assert retry.created_at - refusal.created_at >= dt.timedelta(seconds=1), "resent before retry_after"


def test_a_5xx_is_retried_and_then_succeeds(live_daphne, celery_processes):
    account, sim = link_account(live_daphne.url, forced_error=ForcedError.SERVER_ERROR)
    interaction = add_customer(account, sim, 1)
    celery_processes.worker()

    [message] = queue_text(interaction=interaction, text="after the outage", sender="agent")
    wait_until(
        lambda: Message.objects.filter(pk=message.pk, attempts__gte=2, status="queued").exists(),
        what="two failed attempts",
    )
    message.refresh_from_db()
    assert message.error_text.startswith("Telegram answered 500")
    assert sent_texts(sim) == []

    sim.forced_error = ""
    sim.save()
    wait_until(lambda: settled([message]), what="the retry to succeed")
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert sent_texts(sim) == ["after the outage"]
    assert [r.status_code for r in send_requests(sim)][-1] == 200
    assert all(code == 500 for code in [r.status_code for r in send_requests(sim)][:-1])


def test_a_403_fails_at_once_and_marks_the_customer_unreachable(live_daphne, celery_processes):
    account, sim = link_account(live_daphne.url, forced_error=ForcedError.BLOCKED)
    interaction = add_customer(account, sim, 1)
    celery_processes.worker()

    [message] = queue_text(interaction=interaction, text="are you there?", sender="agent")
    wait_until(lambda: settled([message]), what="the message to settle")

    message.refresh_from_db()
    customer = Customer.objects.get(pk=interaction.customer_id)
    assert message.status == Message.Status.FAILED
    assert (message.error_code, message.error_text) == ("403", "Forbidden: bot was blocked by the user")
    assert message.attempts == 1
    assert len(send_requests(sim)) == 1  # no retry of a permanent failure
    assert customer.unreachable_at is not None
    assert "blocked" in customer.unreachable_reason


def test_order_per_customer_holds_with_two_worker_processes(live_daphne, celery_processes):
    account, sim = link_account(live_daphne.url)
    interactions = [add_customer(account, sim, n) for n in range(5)]
    celery_processes.worker(concurrency=2)
    celery_processes.worker(concurrency=2)

    written: dict[str, list[str]] = {i.customer.external_id: [] for i in interactions}
    messages = []
    for k in range(8):  # interleaved across customers, one transaction per reply
        for interaction in interactions:
            text = f"customer {interaction.customer.external_id} line {k}"
            messages += queue_text(interaction=interaction, text=text, sender="agent")
            written[interaction.customer.external_id].append(text)
    wait_until(lambda: settled(messages), what="all messages to settle")

    arrived: dict[str, list[str]] = {external_id: [] for external_id in written}
    for delivered in received(sim):
        arrived[delivered.customer.external_id].append(delivered.text)
    assert arrived == written


def test_a_burst_of_300_to_one_bot_gets_no_429_from_a_30_per_second_fake(live_daphne, celery_processes):
    account, sim = link_account(live_daphne.url, rate_limit=30)
    interactions = [add_customer(account, sim, n) for n in range(30)]
    celery_processes.worker(concurrency=2)
    celery_processes.worker(concurrency=2)

    messages = []
    for k in range(10):
        for interaction in interactions:
            messages += queue_text(interaction=interaction, text=f"burst {interaction.pk}/{k}", sender="bot")
    wait_until(lambda: settled(messages), timeout=120, what="the burst to settle")

    statuses = Counter(r.status_code for r in send_requests(sim))
    assert statuses == {200: 300}
    assert sorted(sent_texts(sim)) == sorted(m.text for m in messages)


def test_kill_9_of_a_worker_mid_batch_loses_nothing(live_daphne, celery_processes):
    # 200 messages, the kill after 40: at the kill some are sent, one or two are on the wire,
    # up to 8 are reserved by the dying worker (prefetch 4 x 2) and the rest wait in Redis,
    # which is every state a kill can find. (It was 500 and the kill after 100: the same
    # states, and 300 more sends to wait for.)
    account, sim = link_account(live_daphne.url)
    interactions = [add_customer(account, sim, n) for n in range(20)]
    worker = celery_processes.worker(concurrency=2)
    celery_processes.beat()

    messages = []
    for k in range(10):
        for interaction in interactions:
            messages += queue_text(interaction=interaction, text=f"batch {interaction.pk}/{k}", sender="bot")
    wait_until(lambda: len(received(sim)) >= 40, what="a part of the batch to go out")
    celery_processes.kill_hard(worker)
    sent_before_restart = len(received(sim))
    assert sent_before_restart < len(messages), "the batch finished before the kill"

    celery_processes.worker(concurrency=2)
    wait_until(lambda: settled(messages), timeout=150, what="the batch to settle after the restart")

    texts = Counter(sent_texts(sim))
    assert set(texts) == {m.text for m in messages}  # every message reached the customer
    duplicates = sum(n - 1 for n in texts.values())
    assert duplicates <= 2, f"{duplicates} duplicates; at most the 2 sends in flight at the kill may repeat"
    assert not Message.objects.filter(pk__in=[m.pk for m in messages]).exclude(status="sent").exists()


def test_kill_9_during_line_sends_duplicates_nothing_thanks_to_the_retry_key(live_daphne, celery_processes):
    # Every LINE answer takes 0.8 s, so the kill lands while the platform already holds a message
    # that our row still calls "sending": the resend must be answered 409, not delivered twice.
    account, sim = link_account(live_daphne.url, messenger="line", latency_ms=800)
    interactions = [add_customer(account, sim, n) for n in range(10)]
    # The rows the kill leaves "sending" are requeued after this (15 s in the other tests): six
    # times the 0.8 s a send takes here. A live send taken for lost too early would only be
    # answered 409 as well, which the assertions below allow.
    celery_processes.env["OUTBOUND_SENDING_TIMEOUT"] = "5"
    worker = celery_processes.worker(concurrency=2)
    celery_processes.beat()

    messages = []
    for k in range(2):
        for interaction in interactions:
            messages += queue_text(interaction=interaction, text=f"line {interaction.pk}/{k}", sender="bot")

    def accepted_but_not_recorded() -> bool:
        at_platform = set(sent_texts(sim))
        return any(
            m.text in at_platform for m in Message.objects.filter(pk__in=[m.pk for m in messages], status="sending")
        )

    wait_until(accepted_but_not_recorded, what="a send the platform holds but our row does not")
    celery_processes.kill_hard(worker)

    celery_processes.worker(concurrency=2)
    wait_until(lambda: settled(messages), timeout=150, what="the batch to settle after the restart")

    assert Counter(sent_texts(sim)) == Counter(m.text for m in messages)  # each exactly once
    assert not Message.objects.filter(pk__in=[m.pk for m in messages]).exclude(status="sent").exists()
    pushes = SimRequest.objects.filter(account=sim, path__contains="message/push")
    assert pushes.filter(status_code=409).exists()  # the resend happened and the key caught it
