"""The outbound state machine, run in-process (eager tasks) against the simulator over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.utils import timezone

from conversations.models import Customer, Message
from integrations import delivery, ratelimit, sender
from integrations.outbound import queue_text
from integrations.tasks import send_outbound, sweep_outbound
from simulator.models import ForcedError, SimRequest

from .conftest import add_customer, link_account, received, settled, wait_until

pytestmark = [pytest.mark.postgres]


@pytest.fixture(autouse=True)
def fresh_buckets(require_postgres):
    ratelimit.reset()
    yield
    ratelimit.reset()


def outbound(interaction, text: str, **fields) -> Message:
    """An outbound row as queue_text writes it, without sending it yet."""
    return Message.objects.create(
        interaction=interaction,
        account=interaction.account,
        customer=interaction.customer,
        direction="out",
        sender=fields.pop("sender", "agent"),
        text=text,
        status=fields.pop("status", "queued"),
        next_attempt_at=timezone.now(),
        **fields,
    )


def test_queued_to_sent_and_a_repeated_task_sends_nothing_more(live_daphne):
    account, sim = link_account(live_daphne.url)
    interaction = add_customer(account, sim, 1)

    [message] = queue_text(interaction=interaction, text="only once", sender="agent")
    send_outbound.delay()  # duplicated runs
    send_outbound.delay()

    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.attempts == 1
    assert [m.text for m in received(sim)] == ["only once"]
    assert message.platform_message_id == received(sim)[0].platform_message_id


def test_a_message_waits_for_the_older_one_of_the_same_customer(live_daphne):
    account, sim = link_account(live_daphne.url)
    interaction = add_customer(account, sim, 1)
    first = outbound(interaction, "first", status="sending", attempts=1, sending_started_at=timezone.now())
    second = outbound(interaction, "second")

    assert send_outbound() == 0  # "first" is on the wire (another run's): "second" waits
    second.refresh_from_db()
    assert second.status == "queued" and received(sim) == []

    Message.objects.filter(pk=first.pk).update(status="queued")  # its run gave it back
    send_outbound.delay()  # "first" goes, then "second" (a slot later: 1/s per chat)
    wait_until(lambda: settled([first, second]), timeout=30, what="both to settle")
    assert [m.text for m in received(sim)] == ["first", "second"]
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


def test_the_sweeper_resends_a_message_left_sending_by_a_dead_worker(live_daphne, settings):
    account, sim = link_account(live_daphne.url)
    interaction = add_customer(account, sim, 1)
    long_ago = timezone.now() - dt.timedelta(seconds=settings.OUTBOUND_SENDING_TIMEOUT + 5)
    stuck = outbound(interaction, "stuck", status="sending", attempts=1, sending_started_at=long_ago)
    fresh = outbound(interaction, "in flight now", status="sending", attempts=1, sending_started_at=timezone.now())

    sweep_outbound.delay()

    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert (stuck.status, stuck.attempts) == ("sent", 2)
    assert fresh.status == "sending"  # a live send is left alone
    assert [m.text for m in received(sim)] == ["stuck"]


def test_the_sweeper_sends_a_queued_message_whose_task_was_lost(live_daphne, settings):
    account, sim = link_account(live_daphne.url)
    interaction = add_customer(account, sim, 1)
    lost = outbound(interaction, "lost task")
    Message.objects.filter(pk=lost.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=settings.OUTBOUND_QUEUED_GRACE + 1)
    )

    assert sweep_outbound() == {"stuck": 0, "requeued": 1}
    assert [m.text for m in received(sim)] == ["lost task"]


def test_unavailable_past_the_attempt_limit_fails_with_the_platforms_words(live_daphne, settings):
    settings.OUTBOUND_MAX_ATTEMPTS = 1
    account, sim = link_account(live_daphne.url, forced_error=ForcedError.SERVER_ERROR)
    interaction = add_customer(account, sim, 1)

    [message] = queue_text(interaction=interaction, text="during an outage", sender="bot")

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.error_text == "Gave up after 1 attempts: Telegram answered 500: Internal Server Error"


def test_facebook_outside_24_hours_without_the_permission_fails_with_a_reason(live_daphne):
    account, sim = link_account(live_daphne.url)
    account.messenger = "facebook"
    account.save()
    interaction = add_customer(account, sim, 1)
    Customer.objects.filter(pk=interaction.customer_id).update(last_inbound_at=timezone.now() - dt.timedelta(hours=30))

    [message] = queue_text(interaction=interaction, text="late reply", sender="agent")

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert "24 hours" in message.error_text and "Human Agent" in message.error_text
    assert not SimRequest.objects.exists()  # nothing went to the platform


def test_admin_retry_sends_a_failed_message_again(live_daphne, admin_client):
    account, sim = link_account(live_daphne.url)
    interaction = add_customer(account, sim, 1)
    failed = outbound(interaction, "try me again", status="failed", attempts=8, error_text="Gave up")

    page = admin_client.get("/admin/integrations/outboundmessage/?status__exact=failed")
    assert page.status_code == 200
    assert "Gave up" in page.text and "Sends per account, last 24 hours" in page.text
    # queued, sending, sent, delivered, read, failed
    statistics_row = f"<td>{account.name}</td><td>telegram</td><td>1</td>" + "<td>0</td>" * 5 + "<td>1</td>"
    assert statistics_row in page.text

    response = admin_client.post(
        "/admin/integrations/outboundmessage/", {"action": "retry", "_selected_action": [failed.pk]}, follow=True
    )
    assert "1 message(s) queued again." in response.text
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("sent", 1)
    assert [m.text for m in received(sim)] == ["try me again"]


def test_facebook_outside_24_hours_uses_the_human_agent_tag_when_allowed(live_daphne):
    account, sim = link_account(live_daphne.url, messenger="facebook")
    account.allow_human_agent_tag = True
    account.save()
    interaction = add_customer(account, sim, 1)
    Customer.objects.filter(pk=interaction.customer_id).update(last_inbound_at=timezone.now() - dt.timedelta(hours=30))

    [message] = queue_text(interaction=interaction, text="a late human reply", sender="agent")

    message.refresh_from_db()
    [request] = SimRequest.objects.filter(account=sim, path__contains="messages")
    assert message.status == Message.Status.SENT
    assert json.loads(request.body)["messaging_type"] == "MESSAGE_TAG"
    assert json.loads(request.body)["tag"] == "HUMAN_AGENT"
    assert [m.text for m in received(sim)] == ["a late human reply"]


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap(settings):
    settings.OUTBOUND_BACKOFF_BASE, settings.OUTBOUND_BACKOFF_CAP = 2.0, 300.0
    for attempt, full in [(1, 2.0), (2, 4.0), (5, 32.0), (12, 300.0)]:
        delays = [delivery.backoff(attempt) for _ in range(200)]
        assert all(full * 0.5 <= d <= full for d in delays)
        assert len(set(delays)) > 1  # jittered, so workers do not retry in lockstep


def test_a_disabled_account_sends_nothing(live_daphne):
    account, sim = link_account(live_daphne.url)
    account.enabled = False
    account.save()
    interaction = add_customer(account, sim, 1)

    [message] = queue_text(interaction=interaction, text="hello?", sender="bot")

    message.refresh_from_db()
    assert (message.status, message.error_text) == ("failed", "Not sent: the integration account is disabled.")
    assert not SimRequest.objects.exists()


def test_a_receipt_that_beat_the_send_commit_is_applied_when_the_id_is_recorded(live_daphne):
    """The platform's 'delivered' may arrive before our worker recorded the message id (Viber
    reports deliveries; Telegram and LINE send no receipts, so their sends skip the lookup)."""
    from conversations.models import PendingReceipt
    from conversations.services import hold_receipt

    account, sim = link_account(live_daphne.url, messenger="viber")
    interaction = add_customer(account, sim, 1)
    message = outbound(interaction, "fast platform", status="sending")
    hold_receipt(account=account, platform_message_id="m-42", status="delivered", at=timezone.now())

    # What the sender does when send_text returns.
    [recorded] = sender.record_sent([sender.Result(message, platform_message_id="m-42")])

    message.refresh_from_db()
    assert recorded.status == message.status == Message.Status.DELIVERED
    assert message.platform_message_id == "m-42" and message.delivered_at is not None
    assert not PendingReceipt.objects.exists()


def test_a_round_sends_its_messages_side_by_side(live_daphne):
    """Each platform call waits on the network: one round's calls overlap, they do not queue
    (with a fake platform that answers after a second, five in a row would span four)."""
    bots = [link_account(live_daphne.url, latency_ms=1000) for _ in range(5)]  # 5 bots: no slot waits
    messages = [outbound(add_customer(account, sim, n), f"to customer {n}") for n, (account, sim) in enumerate(bots)]

    assert send_outbound() == 5

    assert set(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("status", flat=True)) == {"sent"}
    arrivals = [m.created_at for _, sim in bots for m in received(sim)]  # stored on arrival, before the delay
    assert len(arrivals) == 5
    assert max(arrivals) - min(arrivals) < dt.timedelta(seconds=1)


def test_a_call_too_late_for_its_slot_goes_back_to_the_queue_with_the_attempt_undone(live_daphne):
    """A send thread that starts long after its slot (a busy machine) must not go: the chat's
    next message was spaced from that slot, and the platform measures the gap on arrival."""
    account, sim = link_account(live_daphne.url)
    interaction = add_customer(account, sim, 1)
    message = outbound(interaction, "late", status="sending", attempts=1, sending_started_at=timezone.now())
    message = Message.objects.select_related("account", "customer", "interaction").get(pk=message.pk)
    slot = ratelimit.reserve(messenger="telegram", account_id=account.pk, chat_id=message.customer.chat_id, max_wait=0)
    assert slot.granted  # the claim's slot, now half a second ago
    threads = sender.SendThreads(1)
    threads.take(1)

    result = sender.send_one(message, time.monotonic() - 0.5, threads)
    sender.record([result])

    assert result.retry_in is not None and result.retry_in > 0.5  # the chat's next slot: about a second on
    message.refresh_from_db()
    assert (message.status, message.attempts, message.sending_started_at) == ("queued", 0, None)
    assert message.next_attempt_at > timezone.now()
    assert received(sim) == []


def test_a_message_due_later_is_sent_when_due_without_the_sweeper(live_daphne):
    """The run that finds nothing due wakes the next one for the earliest waiting message (its
    rate-limit slot or its backoff), so that message does not wait for the sweeper."""
    account, sim = link_account(live_daphne.url)
    now_due = outbound(add_customer(account, sim, 1), "now")
    later = outbound(add_customer(account, sim, 2), "in a moment")
    Message.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + dt.timedelta(seconds=1))

    assert send_outbound() == 1  # only "now" is due; no beat, no sweeper in this test

    wait_until(lambda: settled([now_due, later]), timeout=15, what="the later message to go when due")
    assert [m.text for m in received(sim)] == ["now", "in a moment"]


def test_results_are_recorded_through_a_short_database_outage(live_daphne, monkeypatch):
    """The calls went out: a database that answers again a moment later must get their results,
    or the sweeper would take the messages for lost and send them a second time."""
    from django.db import OperationalError

    monkeypatch.setattr(sender, "RECORD_RETRY_SECONDS", 0.1)
    account, sim = link_account(live_daphne.url)
    message = outbound(add_customer(account, sim, 1), "once only")
    real_record, failures = sender.record_sent, []

    def database_restarting(results):
        if not failures:
            failures.append(1)
            raise OperationalError("the database system is shutting down")
        return real_record(results)

    monkeypatch.setattr(sender, "record_sent", database_restarting)

    assert send_outbound() == 1

    message.refresh_from_db()
    assert failures == [1] and (message.status, message.attempts) == ("sent", 1)
    assert [m.text for m in received(sim)] == ["once only"]
