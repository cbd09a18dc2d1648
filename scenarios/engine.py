"""The scenario interpreter: advance an interaction's ScenarioRun by one event.

Each event is handled in one database transaction with the run row locked (SELECT ... FOR
UPDATE), so two workers holding events of the same chat take turns, and an event the run is
not waiting for (a duplicate, a stale timer, a second "agent_found") changes nothing.
Customer messages are taken in id order and deduplicated by id (a run remembers the last one
it saw); timers by the run's list of live timer ids. Everything a block sends is written as queued Message rows
in this transaction and handed to Celery on commit, so a rolled-back step sends nothing and
a committed one is never run again.
"""

import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from conversations import events
from conversations.models import ChatEvent, Interaction, Message
from conversations.services import close_interaction, open_interaction
from scenarios import inactivity, services
from scenarios.blocks import REGISTRY, BlockError, Outcome
from scenarios.blocks.base import SendFailed
from scenarios.expressions import substitute
from scenarios.models import Block, HandledChatEvent, ScenarioEntry, ScenarioRun, ScenarioTimer

logger = logging.getLogger(__name__)

# Blocks one event may run before the run is stopped as a runaway loop (a Goto loop with no
# waiting block in it).
MAX_STEPS_PER_EVENT = 100
# Chat events from the layers below (conversations.events), and the engine's own timers.
Kind = ChatEvent.Kind
CHAT_EVENTS = frozenset(
    {
        Kind.CUSTOMER_MESSAGE,
        Kind.AGENT_FOUND,
        Kind.NO_AGENTS,
        Kind.OFFER_ACCEPTED,
        Kind.OFFER_REJECTED,
        Kind.OFFER_TIMED_OUT,
        Kind.CHAT_ENDED,
        Kind.OUTBOUND_CHAT_STARTED,
    }
)
TIMER = "timer"
EVENTS = CHAT_EVENTS | {TIMER}


class RunContext:
    """What a block step may see and do: variables, its own state, sends and timers."""

    def __init__(self, run: ScenarioRun, interaction: Interaction, block: Block):
        self.run = run
        self.interaction = interaction
        self.block = block
        self.entry: ScenarioEntry | None = run.entry
        self.service = run.entry.service if run.entry else None

    @property
    def settings(self) -> dict:
        return self.block.settings

    @property
    def variables(self) -> dict:
        return self.run.variables

    @property
    def state(self) -> dict:
        return self.run.block_state

    def text(self, template: str) -> str:
        return substitute(template, self.run.variables)

    def send(self, text: str) -> list[Message]:
        return services.send_to_customer(interaction=self.interaction, text=text)

    def send_image(self, url: str, caption: str = "") -> list[Message]:
        return services.send_image_to_customer(interaction=self.interaction, url=url, caption=caption)

    def start_timer(self, kind: str, seconds: float) -> ScenarioTimer:
        timer = services.start_timer(run=self.run, kind=kind, block=self.block.key, seconds=float(seconds))
        self.state.setdefault("timers", []).append(timer.pk)
        return timer

    def hours(self):
        """The hours of operation in force: the entry's, else its service's."""
        if self.entry is None:
            return None
        if self.entry.hours_of_operation_id:
            return self.entry.hours_of_operation
        return self.service.hours_of_operation if self.service else None

    def exit_connected(self, name: str) -> bool:
        return bool(self.block.exits.get(name))


# --- Entry point ----------------------------------------------------------------------


def on_chat_event(event: ChatEvent) -> None:
    """The chat-events listener: handle each recorded event once, whoever dispatches it."""
    handle_event(interaction_id=event.interaction_id, event=event.kind, data=event.data, chat_event_id=event.pk)


def handle_event(
    *, interaction_id: int, event: str, data: dict, chat_event_id: int | None = None
) -> ScenarioRun | None:
    """Advance the interaction's run by `event`, starting the run on the first customer message.

    With `chat_event_id`, the event is marked handled in the same transaction as its effects,
    so a second dispatch of it (the sweeper after a lost acknowledgement) changes nothing.
    An unknown event kind raises ValueError.
    """
    if event not in EVENTS:
        raise ValueError(f"Unknown scenario event {event!r} for interaction {interaction_id}.")
    with transaction.atomic():
        run = ScenarioRun.objects.select_for_update().filter(interaction_id=interaction_id).first()
        if chat_event_id is not None and not _first_handling(chat_event_id):
            logger.info("chat event %s was handled already", chat_event_id)
            return run
        if event == Kind.OUTBOUND_CHAT_STARTED:  # an agent wrote first: no scenario, the no-response timeout
            interaction = Interaction.objects.filter(pk=interaction_id).first()
            if interaction is not None:
                inactivity.arm(interaction, outbound=True)
            return run
        if run is None:
            if event != "customer_message":
                logger.info("event %s for interaction %s without a scenario run ignored", event, interaction_id)
                return None
            run = _start_run(interaction_id, data)
            return run
        _dispatch(run, event, data)
        return run


def _first_handling(chat_event_id: int) -> bool:
    """Mark the chat event handled; False when it was already (a repeated dispatch).

    One `INSERT ... ON CONFLICT DO NOTHING` (PostgreSQL and SQLite): a duplicate inserts no
    row, and needs no savepoint around it (two round trips per event saved).
    """
    table = connection.ops.quote_name(HandledChatEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, handled_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",  # noqa: S608 (model's table)
            [chat_event_id, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        return cursor.rowcount == 1


def _start_run(interaction_id: int, data: dict) -> ScenarioRun | None:
    interaction = Interaction.objects.select_related("customer", "account").filter(pk=interaction_id).first()
    if interaction is None or interaction.status != Interaction.Status.OPEN:
        return None
    if interaction.agent_id is not None:
        # Connected to an agent before the customer wrote: an agent-started chat, which
        # runs no scenario; the answer is the agent's to read.
        return None
    entry = services.entry_for_account(interaction.account_id)
    if entry is None:
        _unrouted(interaction)
        return None
    first = entry.scenario.blocks.order_by("order", "id").first()
    try:
        with transaction.atomic():
            run = ScenarioRun.objects.create(
                interaction=interaction,
                entry=entry,
                scenario=entry.scenario,
                current_block=first.key if first else "",
                state=ScenarioRun.State.RUNNING,
                variables=services.initial_variables(interaction),
            )
    except IntegrityError:
        # Another worker started it a moment ago: hand it this event as a normal one.
        run = ScenarioRun.objects.select_for_update().get(interaction_id=interaction_id)
        _dispatch(run, "customer_message", data)
        return run
    inactivity.arm(interaction, entry=entry)
    messages = _unseen_messages(run, data)
    if messages:  # the oldest unseen message starts the run; later ones are events to it
        _note_message(run, messages.pop(0))
    if first is None:
        _finish(run, interaction, "scenario_empty")
        return run
    _run_from(run, interaction, first, enter=True)
    for message in messages:
        _deliver_message(run, interaction, message)
    return run


def _unrouted(interaction: Interaction) -> None:
    """No enabled scenario entry holds the account: nobody would ever answer. By default
    (UNROUTED_CHAT_ACTION=close) tell the customer and close the chat, so it is not left open in
    silence; the admin flags the account ("On no scenario entry")."""
    keep = settings.UNROUTED_CHAT_ACTION == "keep"
    logger.warning(
        "no enabled scenario entry holds account %s; interaction %s is %s",
        interaction.account_id,
        interaction.pk,
        "left open, unrouted" if keep else "closed unanswered",
    )
    if keep:
        return
    if settings.UNROUTED_CHAT_MESSAGE:
        try:
            with transaction.atomic():
                services.send_to_customer(interaction=interaction, text=settings.UNROUTED_CHAT_MESSAGE)
        except SendFailed as exc:
            logger.info("could not tell the customer of interaction %s: %s", interaction.pk, exc)
    close_interaction(interaction, reason="no_scenario_entry")


def _dispatch(run: ScenarioRun, event: str, data: dict) -> None:
    if _ended(run):
        if event == "customer_message":
            _open_next_chat(run, data)
        else:
            logger.info("event %s for ended run %s ignored", event, run.pk)
        return
    interaction = Interaction.objects.select_related("customer", "account").get(pk=run.interaction_id)
    if event == "customer_message":
        # Messages are taken in id order: an event for a later message first takes any
        # earlier one not seen yet, and the event for that earlier one is then a no-op.
        for message in _unseen_messages(run, data):
            _deliver_message(run, interaction, message)
        return
    payload = dict(data)
    if event == "timer":
        timer = _live_timer(run, data)
        if timer is None:
            return
        payload["timer"] = timer
    if event == "chat_ended" and data.get("cause") == inactivity.INACTIVITY_CAUSE:
        # The customer stopped answering: the chat is over whatever block waits.
        run.variables["targetDisconnectedCause"] = inactivity.INACTIVITY_CAUSE
        _finish(run, interaction, inactivity.CLOSED_REASON)
        return
    if event not in run.waiting_for:
        if event == "chat_ended":  # the customer or the system ended the chat mid-flow
            _finish(run, interaction, "customer_left" if data.get("by") == "customer" else "chat_ended")
        else:
            logger.info("run %s at %s is not waiting for %s; ignored", run.pk, run.current_block, event)
        return
    _resume(run, interaction, event, payload)


def _open_next_chat(run: ScenarioRun, data: dict) -> None:
    """The customer wrote while the chat was ending (after the agent ended it, before the
    scenario's goodbye closed it): the message opens the customer's next chat, as it would
    have a moment later, instead of staying unanswered in the closed one (make soak saw one)."""
    interaction = Interaction.objects.select_related("customer").get(pk=run.interaction_id)
    if interaction.status == Interaction.Status.OPEN:
        logger.info("customer message for ended run %s of a chat still open ignored", run.pk)
        return
    message = Message.objects.filter(
        pk=data.get("message_id"), interaction_id=interaction.pk, direction=Message.Direction.INBOUND
    ).first()
    if message is None:
        return
    following, _ = open_interaction(customer=interaction.customer)
    Message.objects.filter(pk=message.pk).update(interaction=following)
    events.record(interaction_id=following.pk, kind=events.Kind.CUSTOMER_MESSAGE, data={"message_id": message.pk})
    logger.info("message %s came after chat %s ended: moved to chat %s", message.pk, interaction.pk, following.pk)


def _resume(run: ScenarioRun, interaction: Interaction, event: str, payload: dict) -> None:
    block = run.scenario.blocks.filter(key=run.current_block).first()
    if block is None:
        _fail(run, interaction, f'The current block "{run.current_block}" no longer exists.')
        return
    _run_from(run, interaction, block, enter=False, event=event, data=payload)


def _ended(run: ScenarioRun) -> bool:
    return run.state in (ScenarioRun.State.FINISHED, ScenarioRun.State.FAILED)


def _unseen_messages(run: ScenarioRun, data: dict) -> list[Message]:
    """Customer messages of the chat after the last one the run saw, up to this event's."""
    return list(
        Message.objects.filter(
            interaction_id=run.interaction_id,
            direction=Message.Direction.INBOUND,
            sender=Message.Sender.CUSTOMER,
            pk__gt=run.last_message_id,
            pk__lte=int(data.get("message_id") or 0),
        ).order_by("pk")
    )


def _note_message(run: ScenarioRun, message: Message) -> None:
    run.last_message_id = message.pk
    run.variables["item.message"] = message.text


def _deliver_message(run: ScenarioRun, interaction: Interaction, message: Message) -> None:
    if _ended(run):
        return
    _note_message(run, message)
    if "customer_message" in run.waiting_for:
        _resume(run, interaction, "customer_message", {"message_id": message.pk})
    else:
        run.save(update_fields=["variables", "last_message_id", "updated_at"])


def _live_timer(run: ScenarioRun, data: dict) -> ScenarioTimer | None:
    timer = ScenarioTimer.objects.filter(pk=data.get("timer_id"), run=run).first()
    if timer is None or timer.pk not in run.block_state.get("timers", []) or timer.cancelled_at or timer.handled_at:
        return None
    timer.handled_at = timezone.now()
    timer.fired_at = timer.fired_at or timer.handled_at
    timer.save(update_fields=["handled_at", "fired_at"])
    run.block_state["timers"].remove(timer.pk)
    return timer


# --- Stepping -------------------------------------------------------------------------


def _run_from(run, interaction, block, *, enter: bool, event: str = "", data: dict | None = None) -> None:
    """Run `block` (enter it, or hand it the event) and follow exits until a block waits or the run ends."""
    steps = 0
    while True:
        ctx = RunContext(run, interaction, block)
        block_type = REGISTRY.get(block.type)
        try:
            if block_type is None:
                raise BlockError(f'Unknown block type "{block.type}".')
            with transaction.atomic():  # a failing block leaves no half-written rows
                if enter:
                    run.steps += 1
                    steps += 1
                    outcome = block_type.enter(ctx)
                else:
                    outcome = block_type.on_event(ctx, event, data or {})
        except Exception as exc:  # noqa: BLE001 - any block failure is recorded and shown
            logger.exception("scenario block %s (%s) of run %s failed", block.key, block.type, run.pk)
            _fail(run, interaction, f'Block "{block.title}" ({block.type}) failed: {exc}')
            return
        if outcome is None:  # the block does not care about this event: keep waiting
            run.save()
            return
        if outcome.kind == "wait":
            run.state = ScenarioRun.State.WAITING
            run.waiting_for = list(outcome.waiting_for)
            run.save()
            return
        services.cancel_timers(run)
        run.block_state = {}
        run.waiting_for = []
        if outcome.kind == "finish":
            _finish(run, interaction, outcome.reason)
            return
        block = _next_block(run, block, outcome)
        if block is None:  # an exit with nothing attached ends the scenario like Exit
            _finish(run, interaction, "scenario_end")
            return
        if steps >= MAX_STEPS_PER_EVENT:
            _fail(
                run,
                interaction,
                f"Stopped after {MAX_STEPS_PER_EVENT} blocks without waiting (a loop with no waiting block?).",
            )
            return
        run.current_block = block.key
        run.state = ScenarioRun.State.RUNNING
        enter = True


def _next_block(run: ScenarioRun, block: Block, outcome: Outcome) -> Block | None:
    target = block.exits.get(outcome.exit)
    if not target:
        return None
    return run.scenario.blocks.filter(key=target).first()


def _finish(run, interaction, reason: str) -> None:
    """The scenario is over (Exit, end of flow, the chat ended): release agents, close the chat."""
    services.cancel_timers(run)
    run.state = ScenarioRun.State.FINISHED
    run.waiting_for = []
    run.block_state = {}
    run.finished_at = timezone.now()
    run.save()
    services.release_agents(interaction, by="customer" if reason == "customer_left" else "system")
    close_interaction(interaction, reason=reason)


def _fail(run, interaction, error: str) -> None:
    """Record the error, tell the customer (the entry's error message) and close the chat."""
    services.cancel_timers(run)
    run.state = ScenarioRun.State.FAILED
    run.error = error[:2000]
    run.waiting_for = []
    run.finished_at = timezone.now()
    run.save()
    try:
        with transaction.atomic():
            services.release_agents(interaction, by="system")
    except Exception:  # noqa: BLE001 - the failure is recorded; the chat still closes
        logger.exception("could not release the agents of failed run %s", run.pk)
    if run.entry and run.entry.error_message:
        try:
            with transaction.atomic():
                services.send_to_customer(interaction=interaction, text=run.entry.error_message)
        except Exception:  # noqa: BLE001 - the run is already recorded as failed
            logger.exception("could not send the error message of run %s", run.pk)
    close_interaction(interaction, reason="scenario_failed")
