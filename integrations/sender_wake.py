"""Waking the outbound sender (`integrations.sender`): once per burst, never lost.

After the commit that queued a message (coalesced per process, like the inbox processor's
wake-up), at a rate-limit slot or a retry's backoff (a countdown), and by the sweeper for
what a lost wake-up or a dead worker left. Under the eager default the run happens at once,
in the caller's thread. Its own module so that `delivery` (which settles messages and sweeps)
and `sender` (which runs) both wake without importing each other.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

from contactcenter import scheduling
from integrations.wakeup import CoalescedWake, enqueue_once

logger = logging.getLogger(__name__)

SEND_TASK = "integrations.tasks.send_outbound"
# Set while a sender is asked for; whoever sets it enqueues one. Expires in case that is lost.
WAKE_FLAG = "integrations:outbound:wake"
WAKE_FLAG_SECONDS = 5
SPREAD_FLAG = "integrations:outbound:spread"
WAKE_AT_FLAG = "integrations:outbound:wake-at"

_in_run = threading.local()


@contextmanager
def running():
    """Mark this thread as in a run: under the eager default a wake-up made meanwhile (a
    message settled or queued by a listener) is left to the run's next round."""
    _in_run.active = True
    try:
        yield
    finally:
        _in_run.active = False


def clear() -> None:
    """Before each claim: a wake-up after it asks for a new run (see `_wake_now`)."""
    cache.delete(WAKE_FLAG)


def wake() -> None:
    """Ask for a sender run, once per burst; a lost wake-up is repaired by the sweeper."""
    if scheduling.eager():
        if not getattr(_in_run, "active", False):
            _wake_now()
    else:
        _coalesced_wake()


def go_on() -> None:
    """A run that ended with messages still due: the next run takes over (under the eager
    default on another thread, so that runs do not nest on the caller's stack)."""
    if scheduling.eager():
        try:
            scheduling.run(SEND_TASK, off_thread=True)
        except Exception:
            logger.warning("could not start the next outbound sender run", exc_info=True)
    else:
        _coalesced_wake()


def wake_later(*, delay: float) -> None:
    """A run in `delay` seconds (a rate-limit slot, a retry's backoff). Longer than the
    scheduler's countdowns: the sweeper finds the message when it is due."""
    if delay <= 0.01:
        wake()
        return
    try:
        scheduling.run(SEND_TASK, delay=delay)
    except Exception:
        logger.warning("could not schedule the outbound sender; its sweeper will run it", exc_info=True)


def wake_at(when: dt.datetime, *, now: dt.datetime) -> None:
    """A run at `when`, asked once per 50 ms however many runs ask for it."""
    delay = (when - now).total_seconds()
    try:
        if not cache.add(f"{WAKE_AT_FLAG}:{int(when.timestamp() * 20)}", 1, timeout=int(delay) + 5):
            return
    except Exception:
        logger.warning("could not check the outbound sender's next wake-up", exc_info=True)
    wake_later(delay=delay)


def run_now() -> None:
    """A run whatever the flag says (the sweeper: the flag may be a lost run's)."""
    try:
        scheduling.run(SEND_TASK)
    except Exception:
        logger.warning("could not start the outbound sender", exc_info=True)


def spread() -> None:
    """A full batch, a backlog: ask for one more run (at most one more a second), so that one
    run's slowest platform call does not hold everybody's next message."""
    try:
        if cache.add(SPREAD_FLAG, 1, timeout=1):
            scheduling.run(SEND_TASK, off_thread=True)
    except Exception:
        logger.warning("could not ask for another outbound sender", exc_info=True)


def _wake_now() -> None:
    """A run clears the flag before each claim (see `clear`)."""
    enqueue_once(flag=WAKE_FLAG, seconds=WAKE_FLAG_SECONDS, task=SEND_TASK, what="the outbound sender")


_coalesced_wake = CoalescedWake(_wake_now, window=settings.OUTBOUND_WAKE_WINDOW, name="outbound-waker")
