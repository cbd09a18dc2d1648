"""In-process stand-in for Celery countdowns under the eager embedded default.

`make run` has no broker, no worker and no beat, so a task that should run "in N seconds"
(an outbound retry, a scenario timer) runs from a daemon timer thread instead. The rows
keep their deadlines, so nothing depends on these threads surviving a restart beyond the
delay they add. Pending timers are tracked so tests can cancel what one test left behind.
"""

import logging
import threading

from django.db import connections

logger = logging.getLogger(__name__)

_pending: set[threading.Timer] = set()
_lock = threading.Lock()


def run_later(delay: float, task, *args) -> None:
    """Queue `task.delay(*args)` after `delay` seconds from a daemon thread."""
    timer = threading.Timer(max(delay, 0), _run, args=(task, args))
    timer.daemon = True
    with _lock:
        _pending.add(timer)
    timer.start()


def _run(task, args: tuple) -> None:
    try:
        task.delay(*args)
    except Exception:
        logger.exception("embedded run of %s%s failed", task.name, args)
    finally:
        connections.close_all()  # this thread's own connections
        with _lock:
            _pending.discard(threading.current_thread())


def cancel_pending() -> int:
    """Cancel every timer not yet fired; returns how many."""
    with _lock:
        timers = list(_pending)
        _pending.clear()
    for timer in timers:
        timer.cancel()
    return len(timers)
