"""State changes of the scenarios app: account assignment, timers, sends, closing a chat."""

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agentdesk import services as desk
from contactcenter import scheduling
from conversations.models import Interaction, Message
from integrations.errors import OutboundRefused
from integrations.outbound import queue_image_url, queue_text
from scenarios.blocks.base import SendFailed
from scenarios.models import AccountAssignment, ScenarioEntry, ScenarioRun, ScenarioTimer, Service

logger = logging.getLogger(__name__)

# A timer handed to the engine but not handled this long after is handed over again (the
# task was lost with its worker); the engine ignores a second delivery.
TIMER_REDELIVER_AFTER = timedelta(seconds=30)
ADVANCE_TASK = "scenarios.tasks.advance_scenario"
FIRE_TIMER_TASK = "scenarios.tasks.fire_timer"


# --- Account assignment ---------------------------------------------------------------


def assignment_problem(*, account, entry: ScenarioEntry | None = None, service: Service | None = None) -> str:
    """Why `account` may not go to this entry/service, or "" when it may."""
    owner = AccountAssignment.objects.filter(account=account).select_related("entry", "service").first()
    if owner is not None and (
        owner.entry_id != getattr(entry, "pk", None) or owner.service_id != getattr(service, "pk", None)
    ):
        where = f'scenario entry "{owner.entry}"' if owner.entry_id else f'service "{owner.service}"'
        return f'Account "{account}" is already assigned to {where}; an account belongs to one entry or service only.'
    same_type = AccountAssignment.objects.filter(messenger=account.messenger).exclude(account=account)
    same_type = same_type.filter(entry=entry) if entry is not None else same_type.filter(service=service)
    other = same_type.select_related("account").first()
    if other is not None:
        return (
            f'{entry or service} already has the {account.get_messenger_display()} account "{other.account}"; '
            "at most one account per messenger type."
        )
    return ""


def assign_account(*, account, entry: ScenarioEntry | None = None, service: Service | None = None) -> AccountAssignment:
    """Attach an integration account to one scenario entry or one service (the seed's rule)."""
    if (entry is None) == (service is None):
        raise ValidationError("Assign the account to either a scenario entry or a service.")
    with transaction.atomic():
        problem = assignment_problem(account=account, entry=entry, service=service)
        if problem:
            raise ValidationError(problem)
        assignment, _ = AccountAssignment.objects.get_or_create(
            account=account, defaults={"entry": entry, "service": service}
        )
        return assignment


def entry_for_account(account_id) -> ScenarioEntry | None:
    assignment = (
        AccountAssignment.objects.filter(account_id=account_id, entry__isnull=False, entry__enabled=True)
        .select_related("entry__scenario", "entry__service", "entry__hours_of_operation")
        .first()
    )
    return assignment.entry if assignment else None


# --- Run helpers used by the engine ----------------------------------------------------


def initial_variables(interaction: Interaction) -> dict:
    """The item.* variables every scenario starts with."""
    customer, account = interaction.customer, interaction.account
    return {
        "item.message": "",
        "item.from": customer.external_id,
        "item.firstName": customer.first_name,
        "item.lastName": customer.last_name,
        "item.username": customer.username,
        "item.language": customer.language,
        "item.messenger": account.messenger,
        "item.externalChatData.messenger": account.messenger,
        "item.externalChatData.username": customer.username,
        "item.externalChatData.displayName": customer.display_name,
        "item.externalChatData.accountName": account.name,
        "item.globalInteractionId": str(interaction.global_id),
        "global_interaction_id": str(interaction.global_id),
    }


def send_to_customer(*, interaction: Interaction, text: str) -> list[Message]:
    """Queue a scenario text on the arrival channel; SendFailed when it cannot go out."""
    customer = interaction.customer
    if customer.unreachable_at:
        raise SendFailed(f"The customer cannot be reached ({customer.unreachable_reason or 'blocked'}).")
    try:
        with transaction.atomic():
            return queue_text(interaction=interaction, text=text, sender=Message.Sender.BOT)
    except OutboundRefused as exc:
        raise SendFailed(str(exc)) from exc


def send_system_text(*, interaction: Interaction, text: str, what: str) -> None:
    """Queue a system chat message (inactivity, agent joined, ...) to the customer, if there is
    a text and the customer can be reached; a refusal is logged, never raised."""
    if not text or interaction.customer.unreachable_at:
        return
    try:
        with transaction.atomic():
            queue_text(interaction=interaction, text=text, sender=Message.Sender.SYSTEM)
    except OutboundRefused as exc:
        logger.warning("%s message to interaction %s not sent: %s", what, interaction.pk, exc)


def send_image_to_customer(*, interaction: Interaction, url: str, caption: str = "") -> list[Message]:
    """Queue a picture by its https URL (the platform fetches it), with the text as caption."""
    customer = interaction.customer
    if customer.unreachable_at:
        raise SendFailed(f"The customer cannot be reached ({customer.unreachable_reason or 'blocked'}).")
    try:
        with transaction.atomic():
            return queue_image_url(interaction=interaction, url=url, caption=caption, sender=Message.Sender.BOT)
    except OutboundRefused as exc:
        raise SendFailed(str(exc)) from exc


def start_timer(*, run: ScenarioRun, kind: str, block: str, seconds: float) -> ScenarioTimer:
    """Persist a deadline; the beat sweeper fires it, and a countdown task fires it sooner."""
    timer = ScenarioTimer.objects.create(
        run=run, kind=kind, block=block, due_at=timezone.now() + timedelta(seconds=seconds)
    )
    # A countdown fires it on time; beat's sweeper fires it if that is lost (or too long).
    scheduling.on_commit(FIRE_TIMER_TASK, timer.pk, delay=max(seconds, 0) + 0.05)
    return timer


def wake(interaction_id: int, timer_id: int) -> None:
    """After commit, hand a due timer to its run."""
    scheduling.on_commit(ADVANCE_TASK, interaction_id, "timer", {"timer_id": timer_id})


def cancel_timers(run: ScenarioRun) -> None:
    ScenarioTimer.objects.filter(run=run, handled_at__isnull=True, cancelled_at__isnull=True).update(
        cancelled_at=timezone.now()
    )


def due_timer_ids(*, now=None, limit: int = 200) -> list[tuple[int, int]]:
    """Claim due timers (not yet handed over, or handed over long ago and still unhandled).

    Returns (interaction id, timer id) pairs; the caller enqueues them after commit.
    """
    now = now or timezone.now()
    with transaction.atomic():
        timers = list(
            ScenarioTimer.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(handled_at__isnull=True, cancelled_at__isnull=True, due_at__lte=now)
            .exclude(fired_at__gt=now - TIMER_REDELIVER_AFTER)
            .select_related("run")
            .order_by("due_at")[:limit]
        )
        ScenarioTimer.objects.filter(pk__in=[t.pk for t in timers]).update(fired_at=now)
    return [(t.run.interaction_id, t.pk) for t in timers]


def claim_timer(timer_id: int) -> int | None:
    """The interaction id to wake for this due timer, or None when it is not due or done."""
    now = timezone.now()
    with transaction.atomic():
        timer = (
            ScenarioTimer.objects.select_for_update(of=("self",))
            .select_related("run")
            .filter(pk=timer_id, handled_at__isnull=True, cancelled_at__isnull=True, due_at__lte=now)
            .first()
        )
        if timer is None or (timer.fired_at and timer.fired_at > now - TIMER_REDELIVER_AFTER):
            return None
        timer.fired_at = now
        timer.save(update_fields=["fired_at"])
        return timer.run.interaction_id


def leave_queue(interaction: Interaction) -> None:
    desk.leave_queue(interaction)


def release_agents(interaction: Interaction, *, by: str) -> None:
    """The scenario is over: take the chat out of the queue and free every agent holding it."""
    desk.end_chat(interaction=interaction, by=by, cause="UserHangup" if by == "customer" else "SystemHangup")
