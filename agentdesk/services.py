"""Named actions on agents and their chats. Views, consumers, tasks and the engine call these.

Each runs in one transaction and locks the Agent row(s) it changes first, in primary-key
order, then the assignment rows: the same order as routing, so they cannot deadlock with it.
Engine events go out with transaction.on_commit.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from agentdesk import states
from agentdesk.models import Agent, ChatAssignment, NotReadyReason, QueuedChat, ServiceDeskSettings
from agentdesk.notify import notify_agents, notify_notice
from conversations.models import Interaction

logger = logging.getLogger(__name__)

State = Agent.State
Status = ChatAssignment.Status
Origin = ChatAssignment.Origin

TRANSFER_OFFER_TIMEOUT = 30


class DeskError(Exception):
    """An action the agent may not take now; `code` is sent to the desktop."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class NotYourChat(DeskError):
    code = "not_your_chat"


def _fire(interaction_id: int, event: str, data: dict) -> None:
    from scenarios.tasks import advance_scenario

    transaction.on_commit(lambda: advance_scenario.delay(interaction_id, event, data), robust=True)


def _schedule(task_name: str, object_id: int, at: dt.datetime | None) -> None:
    """After commit, queue the deadline task; the sweeper fires it too if this one is lost."""
    if at is None:
        return
    from agentdesk import tasks

    task = getattr(tasks, task_name)
    countdown = max(0.0, (at - timezone.now()).total_seconds())
    transaction.on_commit(lambda: task.apply_async((object_id,), countdown=countdown), robust=True)


def _own_assignment(agent: Agent, interaction_id: int, statuses) -> ChatAssignment:
    assignment = (
        ChatAssignment.objects.select_for_update(of=("self",))
        .select_related("interaction", "service")
        .filter(agent=agent, interaction_id=interaction_id, status__in=list(statuses))
        .order_by("-id")
        .first()
    )
    if assignment is None:
        raise NotYourChat("This chat is not yours, or it has moved on.")
    return assignment


# --- States ---------------------------------------------------------------------------


def custom_reasons():
    return NotReadyReason.objects.filter(system_code__isnull=True, active=True)


@transaction.atomic
def set_state(*, agent_user, state: str, reason_id: int | None = None, by=None) -> Agent:
    """The state selector: Ready, Not Ready (with a reason) or Logged out.

    Not Ready while chats are open takes effect when they end; until then no new chat comes.
    """
    agent = states.lock_agent(user_id=agent_user.pk)
    if state == State.LOGGED_OUT:
        _log_out(agent, by=by, cause="agent" if by is None else "supervisor")
    elif state == State.READY:
        _finish_wrap_ups(agent)
        if agent.state in (State.LOGGED_OUT, State.NOT_READY):
            states.change_state(agent, State.READY, cause="agent", by=by)
        agent.pending_not_ready = False
        agent.pending_not_ready_reason = None
        agent.save(update_fields=["pending_not_ready", "pending_not_ready_reason"])
        states.settle(agent, cause="agent")
    elif state == State.NOT_READY:
        reason = None
        if reason_id:
            reason = NotReadyReason.objects.filter(pk=reason_id).first()
            if reason is None:
                raise DeskError("Unknown Not Ready reason.")
        elif by is None and custom_reasons().exists():
            raise DeskError("Choose a Not Ready reason.", code="reason_required")
        if states.counts(agent)[0]:
            states.ask_not_ready_later(agent, reason)
        else:
            _finish_wrap_ups(agent)
            states.change_state(agent, State.NOT_READY, reason=reason, cause="agent", by=by)
    else:
        raise DeskError(f"An agent cannot choose the state {state!r}.")
    return agent


@transaction.atomic
def log_in(*, agent_user) -> Agent:
    """Desktop login: Not Ready, or Ready when the profile says so."""
    agent = states.lock_agent(user_id=agent_user.pk)
    if agent.state == State.LOGGED_OUT:
        target = State.READY if agent.ready_on_login else State.NOT_READY
        states.change_state(agent, target, cause="login")
        states.settle(agent, cause="login")
    return agent


@transaction.atomic
def log_out(*, agent_user, by=None, cause: str = "agent") -> None:
    agent = states.lock_agent(user_id=agent_user.pk)
    _log_out(agent, by=by, cause=cause)


@transaction.atomic
def force_state(*, supervisor, agent_id: int, state: str) -> None:
    """A supervisor forces an agent Not Ready (after its chats) or logs it out."""
    agent = Agent.objects.select_related("user").get(pk=agent_id)
    if state == State.NOT_READY:
        set_state(agent_user=agent.user, state=state, reason_id=NotReadyReason.system("supervisor").pk, by=supervisor)
    elif state == State.LOGGED_OUT:
        log_out(agent_user=agent.user, by=supervisor, cause="supervisor")
    else:
        raise DeskError("A supervisor may force Not Ready or Logged out.")


def _log_out(agent: Agent, *, by=None, cause: str) -> None:
    """Withdraw pending offers (routing finds another agent), end live chats, log out."""
    if agent.state == State.LOGGED_OUT:
        return
    for assignment in agent.assignments.select_for_update(of=("self",)).filter(status__in=ChatAssignment.PENDING):
        _withdraw_offer(assignment, status=Status.CANCELLED)
    for assignment in (
        agent.assignments.select_for_update(of=("self",)).select_related("service").filter(status=Status.ACTIVE)
    ):
        _end_active(assignment, cause="UserLogout")
        _fire(assignment.interaction_id, "chat_ended", {"by": "agent", "cause": "UserLogout"})
    _finish_wrap_ups(agent)
    states.change_state(agent, State.LOGGED_OUT, cause=cause, by=by)
    agent.presence_deadline = None
    agent.save(update_fields=["presence_deadline"])


def _finish_wrap_ups(agent: Agent) -> None:
    agent.assignments.filter(status=Status.WRAP_UP).update(status=Status.DONE, wrapped_at=timezone.now())


# --- Offers ---------------------------------------------------------------------------


@transaction.atomic
def offer_chat(*, interaction, agent_user, no_answer_timeout: int = 10, auto_answer_after: int | None = None):
    """Offer the chat to the agent routing reserved (or, with spare capacity, any agent).

    The desktop rings; Accept, Reject, or no answer within `no_answer_timeout` seconds
    (the agent goes Not Ready, "Missed chat"). When the agent cannot take it any more
    (logged out meanwhile), the engine gets "offer_timed_out" at once.
    """
    from agentdesk.routing import accepts_chats, holding_counts, reserve

    agent = states.lock_agent(user_id=agent_user.pk)
    assignment = (
        agent.assignments.select_for_update(of=("self",))
        .filter(interaction=interaction, status__in=ChatAssignment.PENDING)
        .first()
    )
    if assignment is None and accepts_chats(agent, holding_counts([agent.pk]).get(agent.pk, 0)):
        assignment = reserve(agent=agent, interaction=interaction)
    if assignment is None or agent.state == State.LOGGED_OUT:
        logger.info("offer of interaction %s to %s not possible", interaction.pk, agent)
        _fire(interaction.pk, "offer_timed_out", {"agent_user_id": agent.user_id})
        return assignment
    now = timezone.now()
    assignment.status = Status.OFFERED
    assignment.offered_at = now
    assignment.offer_deadline = now + dt.timedelta(seconds=no_answer_timeout)
    if auto_answer_after is not None:
        assignment.auto_answer_at = now + dt.timedelta(seconds=auto_answer_after)
    assignment.save(update_fields=["status", "offered_at", "offer_deadline", "auto_answer_at"])
    notify_agents(agent.user_id)
    _schedule("offer_deadline", assignment.pk, assignment.offer_deadline)
    _schedule("auto_answer", assignment.pk, assignment.auto_answer_at)
    return assignment


@transaction.atomic
def accept_offer(*, agent_user, interaction_id: int) -> ChatAssignment:
    """The agent accepts: the chat is connected to it (and leaves a transferring agent)."""
    previous = (
        ChatAssignment.objects.filter(interaction_id=interaction_id, status=Status.ACTIVE)
        .exclude(agent__user_id=agent_user.pk)
        .values_list("agent_id", flat=True)
        .first()
    )
    me = Agent.objects.filter(user_id=agent_user.pk).values_list("pk", flat=True).first()
    if me is None:
        raise NotYourChat("Only agents take chats.")
    agents = {
        a.pk: a
        for a in Agent.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk__in=sorted({me, *([previous] if previous else [])}))
        .order_by("pk")
    }
    agent = next(a for a in agents.values() if a.user_id == agent_user.pk)
    assignment = _own_assignment(agent, interaction_id, [Status.OFFERED])
    if assignment.origin == Origin.TRANSFER:
        for other in ChatAssignment.objects.select_for_update(of=("self",)).filter(
            interaction_id=interaction_id, status=Status.ACTIVE
        ):
            _end_active(other, cause="Transferred", wrap_up=False, status=Status.TRANSFERRED)
            states.settle(
                agents.get(other.agent_id) or states.lock_agent(user_id=other.agent.user_id), cause="transfer"
            )
    now = timezone.now()
    assignment.status = Status.ACTIVE
    assignment.accepted_at = now
    assignment.offer_deadline = None
    assignment.save(update_fields=["status", "accepted_at", "offer_deadline"])
    Interaction.objects.filter(pk=interaction_id).update(agent=agent.user)
    states.settle(agent, cause="offer accepted")
    notify_agents(agent.user_id)
    if assignment.origin == Origin.SCENARIO:
        _fire(interaction_id, "offer_accepted", {"agent_user_id": agent.user_id})
    return assignment


@transaction.atomic
def reject_offer(*, agent_user, interaction_id: int) -> None:
    """Reject: Not Ready now with no other chat open, else once the others end."""
    agent = states.lock_agent(user_id=agent_user.pk)
    assignment = _own_assignment(agent, interaction_id, ChatAssignment.PENDING)
    _withdraw_offer(assignment, status=Status.REJECTED)
    _not_ready_after_offer(agent, NotReadyReason.system("rejected_chat"), cause="offer rejected")


@transaction.atomic
def offer_timed_out(*, assignment_id: int, now: dt.datetime | None = None) -> bool:
    """No answer in time: the offer is missed and the agent goes Not Ready ("Missed chat")."""
    now = now or timezone.now()
    row = ChatAssignment.objects.filter(pk=assignment_id).values_list("agent__user_id", flat=True).first()
    if row is None:
        return False
    agent = states.lock_agent(user_id=row)
    assignment = (
        ChatAssignment.objects.select_for_update(of=("self",)).filter(pk=assignment_id, status=Status.OFFERED).first()
    )
    if assignment is None or assignment.offer_deadline is None or assignment.offer_deadline > now:
        return False
    _withdraw_offer(assignment, status=Status.MISSED)
    _not_ready_after_offer(agent, NotReadyReason.system("missed_chat"), cause="offer missed")
    return True


@transaction.atomic
def auto_answer(*, assignment_id: int, now: dt.datetime | None = None) -> bool:
    """Connect Chat's auto-answer: accept for the agent when the time comes."""
    now = now or timezone.now()
    assignment = ChatAssignment.objects.select_related("agent__user").filter(pk=assignment_id).first()
    if assignment is None or assignment.status != Status.OFFERED or not assignment.auto_answer_at:
        return False
    if assignment.auto_answer_at > now:
        return False
    accept_offer(agent_user=assignment.agent.user, interaction_id=assignment.interaction_id)
    return True


def _not_ready_after_offer(agent: Agent, reason: NotReadyReason, *, cause: str) -> None:
    if states.counts(agent)[0]:
        states.ask_not_ready_later(agent, reason)
        states.settle(agent, cause=cause)
    else:
        states.change_state(agent, State.NOT_READY, reason=reason, cause=cause)


def _withdraw_offer(assignment: ChatAssignment, *, status: str) -> None:
    """The offer ends unanswered; whoever waits for the chat is told (engine or transferrer)."""
    assignment.status = status
    assignment.ended_at = timezone.now()
    assignment.offer_deadline = None
    assignment.save(update_fields=["status", "ended_at", "offer_deadline"])
    agent = assignment.agent
    notify_agents(agent.user_id)
    if assignment.origin == Origin.SCENARIO:
        event = {Status.REJECTED: "offer_rejected"}.get(status, "offer_timed_out")
        _fire(assignment.interaction_id, event, {"agent_user_id": agent.user_id})
        return
    # A transfer: to an agent, the transferring agent keeps the chat; to a queue, it queues again.
    holder = (
        ChatAssignment.objects.filter(interaction_id=assignment.interaction_id, status=Status.ACTIVE)
        .select_related("agent")
        .first()
    )
    if holder is not None:
        notify_notice(holder.agent.user_id, f"{agent.display_name} did not take the transfer.")
        notify_agents(holder.agent.user_id)
        return
    _requeue_transfer(assignment, exclude_user_id=agent.user_id)


def _requeue_transfer(assignment: ChatAssignment, *, exclude_user_id: int | None) -> None:
    from agentdesk.routing import find_agent

    service = assignment.service
    if service is None or service.skill_id is None:
        return
    result = find_agent(
        interaction=assignment.interaction,
        skill_ids=[service.skill_id],
        service=service,
        origin=Origin.TRANSFER,
        exclude_user_ids=[exclude_user_id] if exclude_user_id else [],
        transferred_from=assignment.transferred_from,
        transfer_note=assignment.transfer_note,
    )
    if result.reserved:
        target = Agent.objects.select_related("user").get(user_id=result.agent_user_id)
        offer_chat(interaction=assignment.interaction, agent_user=target.user, no_answer_timeout=TRANSFER_OFFER_TIMEOUT)


@transaction.atomic
def leave_queue(interaction) -> bool:
    """The chat stops waiting for an agent (Find Agent timed out, the customer left)."""
    removed, _ = QueuedChat.objects.filter(interaction=interaction).delete()
    for assignment in ChatAssignment.objects.filter(interaction=interaction, status__in=ChatAssignment.PENDING):
        agent = states.lock_agent(user_id=assignment.agent.user_id)
        assignment = ChatAssignment.objects.select_for_update(of=("self",)).get(pk=assignment.pk)
        if assignment.status in ChatAssignment.PENDING:
            assignment.status = Status.CANCELLED
            assignment.ended_at = timezone.now()
            assignment.save(update_fields=["status", "ended_at"])
            states.settle(agent, cause="offer withdrawn")
            removed += 1
    return bool(removed)


# --- End of chat and wrap-up ----------------------------------------------------------


def desk_settings(service) -> ServiceDeskSettings:
    """The service's desk settings, or the defaults (ACW on, 120 s) when none are saved."""
    if service is None:
        return ServiceDeskSettings(after_call_work=False, acw_time_limit=0)
    found = ServiceDeskSettings.objects.filter(service=service).first()
    return found or ServiceDeskSettings(service=service)


def _end_active(assignment: ChatAssignment, *, cause: str, wrap_up: bool = True, status: str | None = None) -> None:
    """The agent's part of the chat ends; with After Call Work it goes to wrap-up."""
    now = timezone.now()
    settings_ = desk_settings(assignment.service)
    assignment.ended_at = now
    assignment.end_cause = cause[:32]
    if status:
        assignment.status = status
    elif wrap_up and settings_.after_call_work:
        assignment.status = Status.WRAP_UP
        if settings_.acw_time_limit:
            assignment.acw_deadline = now + dt.timedelta(seconds=settings_.acw_time_limit)
            _schedule("acw_deadline", assignment.pk, assignment.acw_deadline)
    else:
        assignment.status = Status.DONE
        assignment.wrapped_at = now
    assignment.save(update_fields=["ended_at", "end_cause", "status", "acw_deadline", "wrapped_at"])
    Interaction.objects.filter(pk=assignment.interaction_id, agent_id=assignment.agent.user_id).update(agent=None)
    notify_agents(assignment.agent.user_id)


@transaction.atomic
def end_chat(*, interaction, by: str = "agent", cause: str = "UserHangup", agent_user=None) -> None:
    """End the chat for its agent(s). By the agent: the engine gets "chat_ended".

    The engine calls this with by="customer"/"system" when the customer left or the scenario
    ended the chat: every agent holding it is released, and no event goes back.
    """
    if by == "agent":
        if agent_user is None:
            raise DeskError("end_chat by an agent needs agent_user.")
        agent = states.lock_agent(user_id=agent_user.pk)
        assignment = _own_assignment(agent, interaction.pk, [Status.ACTIVE])
        # A transfer still ringing elsewhere is withdrawn with the chat.
        for pending in ChatAssignment.objects.filter(interaction=interaction, status__in=ChatAssignment.PENDING):
            _cancel_pending(pending)
        _end_active(assignment, cause=cause)
        states.settle(agent, cause="chat ended")
        _fire(interaction.pk, "chat_ended", {"by": "agent", "cause": cause})
        return
    QueuedChat.objects.filter(interaction=interaction).delete()
    holders = ChatAssignment.objects.filter(interaction=interaction, status__in=ChatAssignment.HOLDING)
    for agent_id in sorted(set(holders.values_list("agent__user_id", flat=True))):
        agent = states.lock_agent(user_id=agent_id)
        for assignment in (
            agent.assignments.select_for_update(of=("self",))
            .select_related("service")
            .filter(interaction=interaction, status__in=ChatAssignment.HOLDING)
        ):
            if assignment.status == Status.ACTIVE:
                _end_active(assignment, cause=cause)
            else:
                assignment.status = Status.CANCELLED
                assignment.ended_at = timezone.now()
                assignment.save(update_fields=["status", "ended_at"])
        states.settle(agent, cause=f"chat ended by {by}")


def _cancel_pending(assignment: ChatAssignment) -> None:
    agent = states.lock_agent(user_id=assignment.agent.user_id)
    assignment.status = Status.CANCELLED
    assignment.ended_at = timezone.now()
    assignment.save(update_fields=["status", "ended_at"])
    states.settle(agent, cause="offer withdrawn")


@transaction.atomic
def wrap_up(
    *, agent_user, interaction_id: int, disposition_id: int | None = None, notes: str = "", finish: bool = False
) -> ChatAssignment:
    """Save the disposition and notes (during the chat or in ACW); `finish` completes ACW."""
    agent = states.lock_agent(user_id=agent_user.pk)
    assignment = _own_assignment(agent, interaction_id, [Status.ACTIVE, Status.WRAP_UP, Status.DONE])
    service = assignment.service
    disposition = None
    if disposition_id:
        if service is None:
            raise DeskError("This chat has no service, so no dispositions.")
        disposition = service.dispositions.filter(pk=disposition_id).first()
        if disposition is None:
            raise DeskError("That disposition does not belong to this chat's service.")
    if finish and service is not None and service.use_dispositions and disposition is None:
        raise DeskError("Choose a disposition to finish the wrap-up.", code="disposition_required")
    assignment.disposition = disposition or assignment.disposition
    assignment.notes = notes
    fields = ["disposition", "notes"]
    if finish and assignment.status == Status.WRAP_UP:
        assignment.status = Status.DONE
        assignment.wrapped_at = timezone.now()
        assignment.acw_deadline = None
        fields += ["status", "wrapped_at", "acw_deadline"]
    assignment.save(update_fields=fields)
    states.settle(agent, cause="wrap-up done")
    notify_agents(agent.user_id)
    return assignment


@transaction.atomic
def acw_expired(*, assignment_id: int, now: dt.datetime | None = None) -> bool:
    """The service's After Call Work time limit ran out: wrap-up completes as it is."""
    now = now or timezone.now()
    user_id = ChatAssignment.objects.filter(pk=assignment_id).values_list("agent__user_id", flat=True).first()
    if user_id is None:
        return False
    agent = states.lock_agent(user_id=user_id)
    assignment = (
        ChatAssignment.objects.select_for_update(of=("self",)).filter(pk=assignment_id, status=Status.WRAP_UP).first()
    )
    if assignment is None or assignment.acw_deadline is None or assignment.acw_deadline > now:
        return False
    assignment.status = Status.DONE
    assignment.wrapped_at = now
    assignment.save(update_fields=["status", "wrapped_at"])
    states.settle(agent, cause="ACW time limit")
    return True


@transaction.atomic
def presence_expired(*, agent_id: int, now: dt.datetime | None = None) -> bool:
    """No desktop socket for the whole grace period: log the agent out."""
    now = now or timezone.now()
    agent = Agent.objects.select_for_update(of=("self",)).select_related("user").filter(pk=agent_id).first()
    if agent is None or agent.state == State.LOGGED_OUT:
        return False
    gone = agent.connections == 0 and agent.presence_deadline is not None and agent.presence_deadline <= now
    stale = agent.connections > 0 and agent.last_seen_at is not None and agent.last_seen_at < states.stale_before()
    if not (gone or stale):
        return False
    agent.connections = 0
    agent.save(update_fields=["connections"])
    _log_out(agent, cause="connection lost")
    return True


from agentdesk.chats import mark_read, send_reply, transfer  # noqa: E402,F401  (named actions, one import path)
