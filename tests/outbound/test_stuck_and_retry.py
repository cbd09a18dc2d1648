"""Stuck outbound messages: listed in the admin with their age and reason; Retry requeues failed
and stuck ones safely (row locks, no second send of a message on the wire, per-customer order)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from conversations.models import Message
from integrations import delivery, ratelimit

from .conftest import add_customer, link_account, received
from .test_state_machine import outbound

pytestmark = [pytest.mark.postgres]

ADMIN_LIST = "/admin/integrations/outboundmessage/"


@pytest.fixture(autouse=True)
def fresh_buckets(require_postgres, settings):
    settings.OUTBOUND_QUEUED_GRACE = 30
    settings.OUTBOUND_SENDING_TIMEOUT = 90
    ratelimit.reset()
    yield
    ratelimit.reset()


@pytest.fixture
def scheduled(monkeypatch):
    """Send tasks handed out (message ids), instead of running them."""
    calls: list[int] = []
    monkeypatch.setattr(delivery, "schedule_send", lambda message_id, *, delay: calls.append(message_id))
    return calls


def ago(seconds: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=seconds)


def backdate(message: Message, seconds: float, **fields) -> Message:
    """created_at is auto_now_add: set it (and other times) with an update."""
    Message.objects.filter(pk=message.pk).update(created_at=ago(seconds), **fields)
    message.refresh_from_db()
    return message


@pytest.fixture
def accounts(db):
    return link_account("http://127.0.0.1:9")  # nothing is sent in these tests


@pytest.fixture
def interaction(accounts):
    return add_customer(*accounts, 1)


def test_the_stuck_filter_lists_stuck_messages_with_their_age_and_reason(admin_client, accounts, interaction):
    now = timezone.now()
    lost_worker = backdate(outbound(interaction, "lost worker", status="sending"), 600, sending_started_at=ago(300))
    behind = backdate(outbound(interaction, "behind it"), 500, next_attempt_at=ago(500))
    other = add_customer(*accounts, 2)
    lost_task = backdate(outbound(other, "lost task"), 120, next_attempt_at=ago(100))
    backing_off = backdate(
        outbound(add_customer(*accounts, 3), "backing off", error_code="503", error_text="Service Unavailable"),
        60,
        next_attempt_at=now + dt.timedelta(seconds=200),
        attempts=3,
    )
    fresh = outbound(other, "just queued")  # within the grace: not stuck
    on_the_wire = backdate(outbound(other, "on the wire", status="sending"), 40, sending_started_at=ago(10))
    sent = backdate(outbound(other, "sent long ago", status="sent"), 900)

    page = admin_client.get(ADMIN_LIST, {"stuck": "yes"})
    assert page.status_code == 200
    listed = {m.pk for m in page.context["cl"].result_list}
    assert listed == {lost_worker.pk, behind.pk, lost_task.pk, backing_off.pk}
    assert fresh.pk not in listed and on_the_wire.pk not in listed and sent.pk not in listed
    text = page.text
    assert "Sending for 5 min with no answer from its worker" in text
    assert f"Waiting behind older message #{lost_worker.pk} of the same customer" in text
    assert "Due for 100 s but no worker took it" in text or "Due for 101 s but no worker took it" in text
    assert "Next attempt in 3 min (attempt 4). Last error: 503: Service Unavailable" in text
    assert "10 min" in text  # the age of the oldest one (created 600 s ago)


def test_a_paused_account_is_the_reason(admin_client, interaction):
    message = backdate(outbound(interaction, "held"), 60, next_attempt_at=timezone.now() + dt.timedelta(seconds=50))
    ratelimit.pause(messenger="telegram", account_id=interaction.account_id, seconds=45)

    reason = delivery.stuck_reason(message, now=timezone.now())
    assert reason.startswith("Account paused by the platform's rate limit for 4")
    assert "Account paused by the platform&#x27;s rate limit" in admin_client.get(ADMIN_LIST, {"stuck": "yes"}).text


def test_retry_requeues_failed_and_stuck_but_not_a_message_on_the_wire(
    accounts, interaction, scheduled, django_capture_on_commit_callbacks
):
    other = add_customer(*accounts, 2)
    third = add_customer(*accounts, 3)
    failed = outbound(interaction, "failed", status="failed", attempts=8, error_text="Gave up")
    lost_worker = backdate(
        outbound(other, "lost worker", status="sending", attempts=2), 600, sending_started_at=ago(300)
    )
    in_flight = backdate(outbound(third, "on the wire", status="sending", attempts=1), 40, sending_started_at=ago(5))
    backing_off = backdate(
        outbound(third, "later", attempts=3), 60, next_attempt_at=timezone.now() + dt.timedelta(hours=1)
    )
    sent = outbound(interaction, "done", status="sent")

    with django_capture_on_commit_callbacks(execute=True):
        result = delivery.retry(message_ids=[failed.pk, lost_worker.pk, in_flight.pk, backing_off.pk, sent.pk])

    assert result.requeued == [failed.pk, lost_worker.pk, backing_off.pk]
    assert result.in_flight == [in_flight.pk]
    assert result.behind == [backing_off.pk]  # the customer's older message is still on the wire
    assert result.skipped == [sent.pk]
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses[in_flight.pk] == "sending" and statuses[sent.pk] == "sent"
    assert statuses[failed.pk] == statuses[lost_worker.pk] == statuses[backing_off.pk] == "queued"
    failed.refresh_from_db()
    assert failed.attempts == 0 and failed.next_attempt_at <= timezone.now()
    backing_off.refresh_from_db()
    assert backing_off.next_attempt_at <= timezone.now()  # due now, no longer an hour away
    # One task per customer, for the head of its line; nothing jumps ahead of the message on the wire.
    assert sorted(scheduled) == [failed.pk, lost_worker.pk]


def test_retry_of_a_message_behind_an_older_one_sends_the_older_one_first(
    interaction, scheduled, django_capture_on_commit_callbacks
):
    older = backdate(outbound(interaction, "first"), 300, next_attempt_at=ago(300))
    newer = backdate(outbound(interaction, "second"), 200, next_attempt_at=ago(200))

    with django_capture_on_commit_callbacks(execute=True):
        result = delivery.retry(message_ids=[newer.pk])

    assert result.requeued == [newer.pk] and result.behind == [newer.pk]
    assert scheduled == [older.pk]  # order per customer holds: the head goes, the newer one waits


@pytest.mark.django_db(transaction=True)
def test_retry_waits_for_the_row_lock_of_a_send_in_progress_and_leaves_it_alone(interaction, scheduled):
    """The send task locks the queued row and marks it sending; a Retry clicked meanwhile must
    see that (not the stale "queued") and must not hand the message to a second task."""
    message = backdate(outbound(interaction, "racing"), 120, next_attempt_at=ago(100))
    locked, release = threading.Event(), threading.Event()

    def send_task():
        try:
            with transaction.atomic():
                row = Message.objects.select_for_update().get(pk=message.pk)
                row.status, row.attempts, row.sending_started_at = "sending", 1, timezone.now()
                row.save()
                locked.set()
                release.wait(5)
        finally:
            connection.close()

    worker = threading.Thread(target=send_task)
    worker.start()
    assert locked.wait(5)
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    result = delivery.retry(message_ids=[message.pk])
    worker.join(5)

    assert time.monotonic() - started >= 0.4  # Retry waited for the task's row lock
    assert result.in_flight == [message.pk] and result.requeued == []
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sending", 1)
    assert scheduled == []


def test_admin_retry_of_a_stuck_message_sends_it_once(live_daphne, admin_client):
    account, sim = link_account(live_daphne.url)
    interaction = add_customer(account, sim, 1)
    stuck = backdate(
        outbound(interaction, "stuck for ages", status="sending", attempts=1), 900, sending_started_at=ago(600)
    )
    on_the_wire = backdate(
        outbound(add_customer(account, sim, 2), "busy", status="sending"), 5, sending_started_at=ago(2)
    )

    response = admin_client.post(
        ADMIN_LIST, {"action": "retry", "_selected_action": [stuck.pk, on_the_wire.pk]}, follow=True
    )

    assert "1 message(s) queued again." in response.text
    assert f"#{on_the_wire.pk} are being sent right now and were left alone (no second send)." in response.text
    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == ("sent", 2)
    assert [m.text for m in received(sim)] == ["stuck for ages"]
    assert Message.objects.get(pk=on_the_wire.pk).status == "sending"
