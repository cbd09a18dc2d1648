"""The customer inactivity timeout of messenger chats (Chat Settings).

A chat's deadline is a `ChatInactivity` row: a warning at half the timeout, the close at the
timeout, counted from the last customer or agent message. Messages do not touch the row:
when the deadline comes due it first looks for a newer message and, if there is one, moves
itself forward. A countdown task fires it on time; beat's sweeper fires it if the countdown
was lost (a restart), on both shapes.

Closing by timeout frees the agents holding the chat and ends it with its own cause
(`INACTIVITY_CAUSE`), recorded as a chat event, so the scenario and the desk see why.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from agentdesk import services as desk
from contactcenter import scheduling
from conversations.models import Interaction, Message
from conversations.services import end_interaction
from scenarios.chat_settings import Layers
from scenarios.models import ChatInactivity, ChatSettings, ScenarioEntry, ScenarioRun
from scenarios.services import send_system_text

logger = logging.getLogger(__name__)

INACTIVITY_CAUSE = "InactivityTimeout"
CLOSED_REASON = "inactivity_timeout"
DEADLINE_TASK = "scenarios.tasks.inactivity_deadline"


@dataclass(frozen=True)
class Resolved:
    """The chat settings in force for one entry: the entry's overrides over the tenant's."""

    timeout: int
    warning_text: str
    closing_text: str


def settings_for(entry: ScenarioEntry | None, *, account_id: int | None = None) -> Resolved:
    """The timeout (entry over tenant) and the messages (account over entry over tenant)."""
    layers = Layers(entry=entry, account_id=account_id)
    return Resolved(
        timeout=layers.pick("inactivity_timeout"),
        warning_text=layers.message("inactivity_warning"),
        closing_text=layers.message("inactivity_timeout"),
    )


def arm(
    interaction: Interaction, *, entry: ScenarioEntry | None = None, outbound: bool = False
) -> ChatInactivity | None:
    """Start the chat's inactivity deadline (once per chat); None when the timeout is off.

    An agent-started chat uses the no-response timeout of the settings instead.
    """
    resolved = settings_for(entry, account_id=interaction.account_id)
    timeout = ChatSettings.current().outbound_no_response_timeout if outbound else resolved.timeout
    if not timeout:
        return None
    now = timezone.now()
    row, created = ChatInactivity.objects.get_or_create(
        interaction=interaction,
        defaults={
            "timeout": timeout,
            "warning_text": resolved.warning_text,
            "closing_text": resolved.closing_text,
            **_deadlines(now, timeout, warn=bool(resolved.warning_text)),
        },
    )
    if created:
        _schedule(row)
    return row


def _deadlines(base: dt.datetime, timeout: int, *, warn: bool) -> dict:
    return {
        "base_at": base,
        "warn_at": base + dt.timedelta(seconds=timeout / 2) if warn else None,
        "close_at": base + dt.timedelta(seconds=timeout),
        "warned_at": None,
    }


def _schedule(row: ChatInactivity) -> None:
    due = row.warn_at if row.warn_at and not row.warned_at else row.close_at
    scheduling.on_commit(DEADLINE_TASK, row.pk, delay=max(0.0, (due - timezone.now()).total_seconds()) + 0.05)


def last_activity(interaction_id: int) -> dt.datetime | None:
    """When the customer or an agent last wrote in the chat (scenario and system texts do not count)."""
    return Message.objects.filter(
        Q(direction=Message.Direction.INBOUND, sender=Message.Sender.CUSTOMER)
        | Q(direction=Message.Direction.OUTBOUND, sender=Message.Sender.AGENT),
        interaction_id=interaction_id,
    ).aggregate(at=Max("created_at"))["at"]


def due_ids(*, now: dt.datetime | None = None, limit: int = 200) -> list[int]:
    now = now or timezone.now()
    return list(
        ChatInactivity.objects.filter(done_at__isnull=True)
        .filter(Q(close_at__lte=now) | Q(warn_at__lte=now, warned_at__isnull=True))
        .order_by("close_at")
        .values_list("pk", flat=True)[:limit]
    )


def fire(row_id: int, *, now: dt.datetime | None = None) -> str:
    """Look at one deadline: move it on, warn, or close the chat. Returns what it did.

    Safe to run early, late or twice: it re-reads the row under a lock.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            ChatInactivity.objects.select_for_update(of=("self",))
            .select_related("interaction__account", "interaction__customer")
            .filter(pk=row_id, done_at__isnull=True)
            .first()
        )
        if row is None:
            return "done"
        interaction = row.interaction
        if interaction.status != Interaction.Status.OPEN:
            row.done_at = now
            row.save(update_fields=["done_at"])
            return "chat closed"
        latest = last_activity(interaction.pk)
        if latest is not None and latest > row.base_at:
            for name, value in _deadlines(latest, row.timeout, warn=bool(row.warning_text)).items():
                setattr(row, name, value)
            row.save(update_fields=["base_at", "warn_at", "close_at", "warned_at"])
            _schedule(row)
            return "moved"
        if now >= row.close_at:
            _close(row, interaction, now=now)
            return "closed"
        if row.warn_at and not row.warned_at and now >= row.warn_at:
            _send(interaction, row.warning_text)
            row.warned_at = now
            row.save(update_fields=["warned_at"])
            _schedule(row)
            return "warned"
        return "not due"


def _send(interaction: Interaction, text: str) -> None:
    send_system_text(interaction=interaction, text=text, what="inactivity")


def _close(row: ChatInactivity, interaction: Interaction, *, now: dt.datetime) -> None:
    # The run's lock first, as the engine takes it before it frees agents: no deadlock.
    ScenarioRun.objects.select_for_update().filter(interaction=interaction).first()
    _send(interaction, row.closing_text)
    desk.end_chat(interaction=interaction, by="system", cause=INACTIVITY_CAUSE)
    end_interaction(interaction=interaction, by="system", cause=INACTIVITY_CAUSE, reason=CLOSED_REASON)
    row.done_at = now
    row.save(update_fields=["done_at"])
    logger.info("interaction %s closed after %s s of inactivity", interaction.pk, row.timeout)
