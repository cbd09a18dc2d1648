"""The ACD: choose an agent for a chat now, or queue it; hand queued chats to agents who free up.

Locking (PostgreSQL row locks, READ COMMITTED):
- `find_agent` locks every Agent row qualified for the chat's skills, whatever its state,
  in primary-key order, before it reads capacity. An agent going Ready or freeing capacity
  locks its own row first, so the two are serialized: either the arrival sees the agent's new
  state, or the agent sees the arrival's queue row. No wake-up is lost.
- `dispatch_queue` runs with the agent row locked and takes queue rows one by one with
  SKIP LOCKED, so two agents freeing up at once take different chats.
- Partial unique indexes on ChatAssignment refuse a second pending offer for one chat.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from agentdesk.models import Agent, AgentSkill, ChatAssignment, QueuedChat
from agentdesk.notify import notify_agents
from agentdesk.states import change_state
from contactcenter import scheduling
from conversations import events
from scenarios.models.org import ChatSettings

logger = logging.getLogger(__name__)

RAMP_UP_TASK = "agentdesk.tasks.ramp_up_deadline"

Status = ChatAssignment.Status
Origin = ChatAssignment.Origin


@dataclass(frozen=True)
class RoutingResult:
    """What Find Agent gets back: an agent reserved now, a place in the queue, or nobody there."""

    RESERVED = "reserved"
    QUEUED = "queued"
    NO_AGENTS = "no_agents"

    status: str
    agent_user_id: int | None = None
    username: str = ""
    assignment_id: int | None = None
    position: int | None = None  # 1-based place in the queue

    @property
    def reserved(self) -> bool:
        return self.status == self.RESERVED

    @property
    def queued(self) -> bool:
        return self.status == self.QUEUED

    @property
    def no_agents(self) -> bool:
        return self.status == self.NO_AGENTS


# --- Selectors ------------------------------------------------------------------------


def skill_levels(agent_ids: Iterable[int] | None = None) -> dict[int, dict[int, int]]:
    """agent id -> {skill id: level}, from hand-given skills and the team's service skills."""
    levels: dict[int, dict[int, int]] = defaultdict(dict)
    given = AgentSkill.objects.all()
    teams = Agent.objects.filter(team__isnull=False, team__service_assignments__service__skill__isnull=False)
    if agent_ids is not None:
        agent_ids = list(agent_ids)
        given = given.filter(agent_id__in=agent_ids)
        teams = teams.filter(pk__in=agent_ids)
    rows = list(given.values_list("agent_id", "skill_id", "level"))
    rows += list(
        teams.values_list("pk", "team__service_assignments__service__skill_id", "team__service_assignments__level")
    )
    for agent_id, skill_id, level in rows:
        if level > levels[agent_id].get(skill_id, 0):
            levels[agent_id][skill_id] = level
    return levels


def qualifies(levels: dict[int, int], skill_ids: Iterable[int], min_level: int) -> bool:
    return all(levels.get(skill_id, 0) >= max(1, min_level) for skill_id in skill_ids)


def holding_counts(agent_ids: Iterable[int]) -> dict[int, int]:
    """How many chats each agent holds (reserved, offered or active)."""
    rows = (
        ChatAssignment.objects.filter(agent_id__in=list(agent_ids), status__in=ChatAssignment.HOLDING)
        .values("agent_id")
        .annotate(n=Count("id"))
    )
    return {row["agent_id"]: row["n"] for row in rows}


def accepts_chats(agent: Agent, holding: int) -> bool:
    """Ready, or Busy with spare capacity, and not about to go Not Ready."""
    return (
        agent.state in (Agent.State.READY, Agent.State.BUSY)
        and not agent.pending_not_ready
        and holding < agent.capacity
    )


def ramping_up(agent: Agent, now=None) -> bool:
    """Inside the ramp-up interval after the agent's last offer: no chat for it yet."""
    return agent.ramp_up_until is not None and agent.ramp_up_until > (now or timezone.now())


def queue_position(entry: QueuedChat) -> int:
    ahead = QueuedChat.objects.filter(priority__gt=entry.priority).count()
    ahead += QueuedChat.objects.filter(priority=entry.priority, enqueued_at__lt=entry.enqueued_at).count()
    return ahead + 1


# --- Find Agent -----------------------------------------------------------------------


def find_agent(
    *,
    interaction,
    skill_ids: Iterable[int],
    priority: int = 0,
    min_level: int = 1,
    service=None,
    origin: str = Origin.SCENARIO,
    exclude_user_ids: Iterable[int] = (),
    transferred_from=None,
    transfer_note: str = "",
) -> RoutingResult:
    """Reserve the best qualified agent with spare capacity for the chat, or queue it.

    Best = highest total level on the required skills, then longest idle. Nobody qualified
    logged in: NO_AGENTS (and the chat leaves the queue). Calling again for a queued chat
    updates its criteria (escalation) and keeps its place.
    """
    skill_ids = sorted({int(s) for s in skill_ids})
    exclude = set(exclude_user_ids)
    with transaction.atomic():
        pending = (
            ChatAssignment.objects.filter(interaction=interaction, status__in=ChatAssignment.PENDING)
            .select_related("agent__user")
            .first()
        )
        if pending is not None:  # a replayed Find Agent: the reservation stands
            return _reserved_result(pending)

        levels = skill_levels()
        qualified_ids = [
            agent_id for agent_id, agent_levels in levels.items() if qualifies(agent_levels, skill_ids, min_level)
        ]
        if not skill_ids:  # no requirement: every agent qualifies
            qualified_ids = list(Agent.objects.values_list("pk", flat=True))
        agents = list(
            Agent.objects.filter(pk__in=qualified_ids)
            .select_related("user")
            .order_by("pk")
            .select_for_update(of=("self",))
        )
        logged_in = [a for a in agents if a.state != Agent.State.LOGGED_OUT and a.user_id not in exclude]
        if not logged_in:
            QueuedChat.objects.filter(interaction=interaction).delete()
            return RoutingResult(status=RoutingResult.NO_AGENTS)

        counts = holding_counts(a.pk for a in logged_in)
        eligible = [a for a in logged_in if accepts_chats(a, counts.get(a.pk, 0)) and not ramping_up(a)]
        if eligible:
            best = max(
                eligible,
                key=lambda a: (sum(levels[a.pk].get(s, 0) for s in skill_ids), -a.idle_since.timestamp(), -a.pk),
            )
            assignment = reserve(
                agent=best,
                interaction=interaction,
                service=service,
                origin=origin,
                transferred_from=transferred_from,
                transfer_note=transfer_note,
            )
            if assignment is not None:
                QueuedChat.objects.filter(interaction=interaction).delete()
                return _reserved_result(assignment)

        entry, created = QueuedChat.objects.get_or_create(
            interaction=interaction,
            defaults={
                "skill_ids": skill_ids,
                "min_level": min_level,
                "priority": priority,
                "service": service,
                "origin": origin,
                "transferred_from": transferred_from,
                "transfer_note": transfer_note,
            },
        )
        if not created:
            entry.skill_ids, entry.min_level, entry.priority = skill_ids, min_level, priority
            entry.save(update_fields=["skill_ids", "min_level", "priority"])
        return RoutingResult(status=RoutingResult.QUEUED, position=queue_position(entry))


def _reserved_result(assignment: ChatAssignment) -> RoutingResult:
    user = assignment.agent.user
    return RoutingResult(
        status=RoutingResult.RESERVED,
        agent_user_id=user.pk,
        username=user.get_username(),
        assignment_id=assignment.pk,
    )


def reserve(
    *, agent: Agent, interaction, service=None, origin=Origin.SCENARIO, transferred_from=None, transfer_note=""
) -> ChatAssignment | None:
    """Hold one of the (locked) agent's chat slots for the interaction. None if already pending."""
    try:
        with transaction.atomic():
            assignment = ChatAssignment.objects.create(
                interaction=interaction,
                agent=agent,
                service=service,
                origin=origin,
                transferred_from=transferred_from,
                transfer_note=transfer_note,
            )
    except IntegrityError:  # another agent holds a pending offer for this chat
        logger.info("interaction %s already has a pending offer; not reserving again", interaction.pk)
        return None
    agent.idle_since = timezone.now()
    agent.save(update_fields=["idle_since"])
    start_ramp_up(agent)
    if agent.state == Agent.State.READY:
        change_state(agent, Agent.State.BUSY, cause="chat reserved")
    notify_agents(agent.user_id)
    return assignment


def start_ramp_up(agent: Agent) -> None:
    """Space the agent's next offer by the ramp-up interval; its deadline hands out the queue."""
    interval = ChatSettings.current().ramp_up_interval
    if not interval:
        return
    agent.ramp_up_until = timezone.now() + dt.timedelta(seconds=interval)
    agent.save(update_fields=["ramp_up_until"])
    scheduling.on_commit(RAMP_UP_TASK, agent.pk, delay=interval + 0.05)


# --- Event-driven queue ---------------------------------------------------------------


def dispatch_queue(agent: Agent) -> list[ChatAssignment]:
    """Give the (locked) agent the head of every queue it matches, up to its spare capacity.

    Call inside the transaction that locked the agent, after it went Ready or freed a slot.
    Returns the reservations made; the scenario of each chat hears "agent_found" (a chat
    event), and the caller rings the ones transferred to a queue.
    """
    if agent.state not in (Agent.State.READY, Agent.State.BUSY) or agent.pending_not_ready or ramping_up(agent):
        return []
    free = agent.capacity - holding_counts([agent.pk]).get(agent.pk, 0)
    if free <= 0:
        return []
    levels = skill_levels([agent.pk]).get(agent.pk, {})
    candidates = [
        entry_id
        for entry_id, skills, min_level in QueuedChat.objects.order_by("-priority", "enqueued_at", "id").values_list(
            "pk", "skill_ids", "min_level"
        )
        if qualifies(levels, skills, min_level)
    ]
    taken: list[ChatAssignment] = []
    for entry_id in candidates:
        if free <= 0 or ramping_up(agent):
            break
        entry = (
            QueuedChat.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("interaction", "service")
            .filter(pk=entry_id)
            .first()
        )
        if entry is None:  # another agent is taking it, or it left the queue
            continue
        assignment = reserve(
            agent=agent,
            interaction=entry.interaction,
            service=entry.service,
            origin=entry.origin,
            transferred_from=entry.transferred_from,
            transfer_note=entry.transfer_note,
        )
        entry.delete()
        if assignment is None:
            continue
        taken.append(assignment)
        free -= 1
        if assignment.origin == Origin.SCENARIO:  # the scenario's Find Agent waits for this
            user = assignment.agent.user
            events.record(
                interaction_id=assignment.interaction_id,
                kind=events.Kind.AGENT_FOUND,
                data={"agent_user_id": user.pk, "username": user.get_username()},
            )
    return taken


def drop_unservable_queue() -> list[int]:
    """After a logout: chats waiting for skills no logged-in agent has leave the queue.

    The scenario gets "no_agents" (Find Agent takes its No Agents exit), as a new chat would.
    A chat transferred to a queue keeps waiting for the next agent of that service.
    """
    levels = skill_levels()
    logged_in = set(Agent.objects.exclude(state=Agent.State.LOGGED_OUT).values_list("pk", flat=True))
    dropped = []
    for entry_id, skills, min_level in QueuedChat.objects.filter(origin=Origin.SCENARIO).values_list(
        "pk", "skill_ids", "min_level"
    ):
        if any(qualifies(levels.get(agent_id, {}), skills, min_level) for agent_id in logged_in):
            continue
        entry = QueuedChat.objects.select_for_update(skip_locked=True).filter(pk=entry_id).first()
        if entry is None:
            continue
        interaction_id = entry.interaction_id
        entry.delete()
        dropped.append(interaction_id)
        events.record(interaction_id=interaction_id, kind=events.Kind.NO_AGENTS)
    return dropped
