"""Desk deadlines fired by a real Celery worker and beat: an offer's no-answer deadline (its
countdown task, or the sweeper, whichever comes first), and a deadline whose task was lost,
which only the periodic sweeper can fire."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from agentdesk import routing, services
from agentdesk.models import Agent, ChatAssignment
from contactcenter.celery import app as celery_app
from tests.conftest import server_environment

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.redis]


def wait_until(condition, *, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def celery_worker_and_beat(require_postgres, redis_url, transactional_db, tmp_path):
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = server_environment(REDIS_URL=redis_url, CELERY_TASK_ALWAYS_EAGER="false", LOG_FORMAT="text")
    procs = []
    for name, args in [
        ("worker", ["worker", "-P", "solo", "-n", f"desk-{os.getpid()}@%h", "--without-gossip", "--without-mingle"]),
        ("beat", ["beat", "-s", str(tmp_path / "beat-schedule")]),
    ]:
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "contactcenter", *args, "--loglevel=INFO"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = redis_url
    try:
        wait_until(lambda: bool(celery_app.control.ping(timeout=0.5)), what="the worker")
        yield tmp_path
    finally:
        celery_app.conf.task_always_eager = True
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def status_of(assignment):
    assignment.refresh_from_db()
    return assignment.status


def test_an_offer_times_out_by_its_countdown_and_a_lost_deadline_by_the_sweeper(celery_worker_and_beat, desk_tx):
    service = desk_tx.service()
    ann = desk_tx.agent("ann", skills={service.skill: 50})
    bob = desk_tx.agent("bob", skills={service.skill: 40})

    first = desk_tx.chat()
    routing.find_agent(interaction=first, skill_ids=[service.skill_id])
    offered = services.offer_chat(interaction=first, agent_user=ann.user, no_answer_timeout=1)
    wait_until(lambda: status_of(offered) == ChatAssignment.Status.MISSED, what="the offer deadline")
    ann.refresh_from_db()
    assert (ann.state, ann.not_ready_reason.name) == (Agent.State.NOT_READY, "Missed chat")

    # A deadline whose task never ran (written as if the process died before queueing it).
    second = desk_tx.chat()
    routing.find_agent(interaction=second, skill_ids=[service.skill_id])
    lost = ChatAssignment.objects.get(interaction=second, agent=bob)
    ChatAssignment.objects.filter(pk=lost.pk).update(
        status=ChatAssignment.Status.OFFERED,
        offered_at=timezone.now(),
        offer_deadline=timezone.now() - dt.timedelta(seconds=1),
    )
    wait_until(lambda: status_of(lost) == ChatAssignment.Status.MISSED, what="the beat sweeper")
    bob.refresh_from_db()
    assert bob.state == Agent.State.NOT_READY
