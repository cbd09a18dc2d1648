"""Find Agent: reserve a qualified agent or wait in the queue, loosening criteria over time.

Required skills are the entry's service skill plus the block's extra skills. Escalation
intervals run one after another; each has a length and looser criteria (a lower minimum
level, or the extra skills dropped). After the last interval the Timeout exit is taken
(a last interval of 0 seconds waits until an agent is found). When nobody logged in meets
an interval's criteria, the next interval starts at once; No Agents means nobody meets even
the loosest.
"""

import math

from django.contrib.auth import get_user_model

from agentdesk import routing, selectors
from agentdesk import services as desk
from scenarios.blocks.base import BlockError, BlockType, number_setting, take, wait
from scenarios.models import Skill

DEFAULT_EWT_SECONDS = 60


class FindAgent(BlockType):
    type = "find_agent"
    label = "Find Agent"
    help = (
        "Finds a Ready agent with the skills and sets $(destination) to the agent's username and "
        "$(destination.name) to the agent's first name (the username when it has none)."
    )
    fixed_exits = ("No Agents", "Queue Limit", "Timeout")
    settings_help = {
        "extra_skills": "Names of skills needed besides the service skill.",
        "priority": "Queue priority (higher goes first).",
        "intervals": 'Escalation: list of {"seconds": n, "min_level": 1-100, "drop_extra_skills": bool}; '
        "after the last one the Timeout exit (0 seconds: wait on).",
        "queue_limit": "Take Queue Limit when this many chats already wait ahead.",
        "initial_message": "Sent when the chat is queued; $(queue.position), $(queue.ewt) allowed.",
        "periodic_message": "Repeated while queued.",
        "periodic_every": "Seconds between periodic messages.",
    }
    example = {
        "intervals": [{"seconds": 60, "min_level": 50}, {"seconds": 0, "min_level": 1}],
        "initial_message": "You are number $(queue.position) in the queue.",
        "periodic_message": "Still looking for an agent; about $(queue.ewt) to wait.",
        "periodic_every": 30,
    }

    def check(self, settings):
        errors = number_setting(settings, "priority", minimum=0, maximum=100)
        errors += number_setting(settings, "queue_limit", minimum=0)
        errors += number_setting(settings, "periodic_every", minimum=5, maximum=86400)
        extra = settings.get("extra_skills", [])
        if not isinstance(extra, list) or not all(isinstance(s, str) for s in extra):
            errors.append('"extra_skills" must be a list of skill names.')
        else:
            missing = set(extra) - set(Skill.objects.filter(name__in=extra).values_list("name", flat=True))
            errors += [f'No skill named "{name}".' for name in sorted(missing)]
        intervals = settings.get("intervals", [])
        if not isinstance(intervals, list):
            errors.append('"intervals" must be a list.')
        for number, step in enumerate(intervals if isinstance(intervals, list) else [], 1):
            if not isinstance(step, dict):
                errors.append(f"Interval {number} must be an object.")
                continue
            errors += [f"Interval {number}: {e}" for e in number_setting(step, "seconds", minimum=0, maximum=86400)]
            errors += [f"Interval {number}: {e}" for e in number_setting(step, "min_level", minimum=1, maximum=100)]
        if settings.get("periodic_message") and not settings.get("periodic_every"):
            errors.append('"periodic_every" is needed with a periodic message.')
        return errors

    # --- run -----------------------------------------------------------------------

    def enter(self, ctx):
        ctx.state["interval"] = 0
        result = self._route(ctx)
        if result.reserved:
            return self._found(ctx, result.username)
        if result.no_agents:
            return take("No Agents")
        limit = ctx.settings.get("queue_limit")
        if limit not in (None, "") and (result.position or 1) > int(limit):
            _leave_queue(ctx)
            return take("Queue Limit")
        self._set_queue_variables(ctx, result.position)
        if ctx.settings.get("initial_message"):
            ctx.send(ctx.text(ctx.settings["initial_message"]))
        if ctx.settings.get("periodic_message"):
            ctx.start_timer("queue_message", ctx.settings["periodic_every"])
        self._arm_interval(ctx)
        return wait("agent_found", "no_agents", "timer")

    def on_event(self, ctx, event, data):
        if event == "agent_found":
            return self._found(ctx, data.get("username", ""))
        if event == "no_agents":
            _leave_queue(ctx)
            return take("No Agents")
        if event != "timer":
            return None
        timer = data["timer"]
        if timer.kind == "queue_message":
            self._set_queue_variables(ctx, _current_position(ctx))
            ctx.send(ctx.text(ctx.settings["periodic_message"]))
            ctx.start_timer("queue_message", ctx.settings["periodic_every"])
            return wait("agent_found", "no_agents", "timer")
        # An escalation interval ended: loosen the criteria, or time out after the last.
        ctx.state["interval"] += 1
        if ctx.state["interval"] >= len(ctx.settings.get("intervals", [])):
            _leave_queue(ctx)
            return take("Timeout")
        result = self._route(ctx)
        if result.reserved:
            return self._found(ctx, result.username)
        if result.no_agents:
            return take("No Agents")
        self._arm_interval(ctx)
        return wait("agent_found", "no_agents", "timer")

    def _criteria(self, ctx) -> tuple[list[int], int]:
        intervals = ctx.settings.get("intervals") or [{}]
        step = intervals[min(ctx.state.get("interval", 0), len(intervals) - 1)]
        names = [] if step.get("drop_extra_skills") else list(ctx.settings.get("extra_skills", []))
        skill_ids = list(Skill.objects.filter(name__in=names).values_list("pk", flat=True))
        if len(skill_ids) != len(set(names)):
            raise BlockError(f"Find Agent: a required skill no longer exists ({', '.join(names)}).")
        if ctx.service is not None and ctx.service.skill_id:
            skill_ids.append(ctx.service.skill_id)
        return skill_ids, int(step.get("min_level") or 1)

    def _route(self, ctx):
        """Ask routing; when nobody logged in meets these criteria, loosen them at once."""
        while True:
            skill_ids, min_level = self._criteria(ctx)
            result = routing.find_agent(
                interaction=ctx.interaction,
                skill_ids=skill_ids,
                priority=int(ctx.settings.get("priority") or 0),
                min_level=min_level,
                service=ctx.service,
            )
            if not result.no_agents or ctx.state["interval"] + 1 >= len(ctx.settings.get("intervals") or [{}]):
                return result
            ctx.state["interval"] += 1

    def _arm_interval(self, ctx):
        intervals = ctx.settings.get("intervals") or []
        index = ctx.state.get("interval", 0)
        if index < len(intervals) and intervals[index].get("seconds"):
            ctx.start_timer("escalation", intervals[index]["seconds"])

    def _found(self, ctx, username: str):
        if not username:
            raise BlockError("Find Agent: the routing result has no agent username.")
        ctx.variables["destination"] = username
        ctx.variables["destination.name"] = _agent_name(username)
        return take()

    def _set_queue_variables(self, ctx, position: int | None):
        position = position or 1
        ctx.variables["queue.position"] = str(position)
        ctx.variables["queue.ewt"] = _format_wait(position * _recent_wait_seconds())


def _agent_name(username: str) -> str:
    """What the customer may call the agent: its first name, else its username."""
    first = get_user_model().objects.filter(username=username).values_list("first_name", flat=True).first()
    return first or username


def _leave_queue(ctx) -> None:
    desk.leave_queue(ctx.interaction)


def _current_position(ctx) -> int | None:
    return selectors.queue_position_of(ctx.interaction)


def _recent_wait_seconds() -> float:
    """Mean time from chat start to agent reservation over the last 50 routed chats."""
    return selectors.recent_wait_seconds() or DEFAULT_EWT_SECONDS


def _format_wait(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
