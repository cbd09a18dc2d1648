"""Celery tasks of the desk: persisted deadlines (offer no-answer, auto-answer, ACW limit,
presence grace) fired by a countdown task, and by the periodic sweeper (settings'
CELERY_BEAT_SCHEDULE, every 2 s) if that task is lost.

Every task reloads the row and re-checks its deadline under a lock, so an early, late or
repeated run is harmless.
"""

import logging

from celery import shared_task
from django.utils import timezone

from agentdesk import services
from agentdesk.models import Agent, ChatAssignment
from agentdesk.states import stale_before

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def offer_deadline(assignment_id: int) -> None:
    services.offer_timed_out(assignment_id=assignment_id)


@shared_task(ignore_result=True)
def auto_answer(assignment_id: int) -> None:
    services.auto_answer(assignment_id=assignment_id)


@shared_task(ignore_result=True)
def acw_deadline(assignment_id: int) -> None:
    services.acw_expired(assignment_id=assignment_id)


@shared_task(ignore_result=True)
def presence_deadline(agent_id: int) -> None:
    services.presence_expired(agent_id=agent_id)


@shared_task(ignore_result=True)
def ramp_up_deadline(agent_id: int) -> None:
    services.ramp_up_ended(agent_id=agent_id)


@shared_task(ignore_result=True)
def sweep_deadlines() -> int:
    """Fire every due desk deadline; returns how many fired."""
    now = timezone.now()
    fired = 0
    due_offers = ChatAssignment.objects.filter(status=ChatAssignment.Status.OFFERED, offer_deadline__lte=now)
    for pk in due_offers.values_list("pk", flat=True)[:200]:
        fired += services.offer_timed_out(assignment_id=pk, now=now)
    due_answers = ChatAssignment.objects.filter(status=ChatAssignment.Status.OFFERED, auto_answer_at__lte=now)
    for pk in due_answers.values_list("pk", flat=True)[:200]:
        fired += services.auto_answer(assignment_id=pk, now=now)
    due_acw = ChatAssignment.objects.filter(status=ChatAssignment.Status.WRAP_UP, acw_deadline__lte=now)
    for pk in due_acw.values_list("pk", flat=True)[:200]:
        fired += services.acw_expired(assignment_id=pk, now=now)
    gone = Agent.objects.exclude(state=Agent.State.LOGGED_OUT).filter(presence_deadline__lte=now)
    stale = Agent.objects.exclude(state=Agent.State.LOGGED_OUT).filter(
        connections__gt=0, last_seen_at__lt=stale_before()
    )
    for pk in set(gone.values_list("pk", flat=True)[:200]) | set(stale.values_list("pk", flat=True)[:200]):
        fired += services.presence_expired(agent_id=pk, now=now)
    for pk in Agent.objects.filter(ramp_up_until__lte=now).values_list("pk", flat=True)[:200]:
        fired += services.ramp_up_ended(agent_id=pk, now=now)
    return fired
