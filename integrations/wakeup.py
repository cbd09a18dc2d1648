"""Coalesced wake-ups: at most one call of `wake_now` per process per window, none lost.

A busy webhook process takes in hundreds of deliveries a second and each must wake the inbox
processor. The wake itself (a Redis SET NX, and a Celery publish when the flag was clear) was
a quarter of the ack's time in the profile of `make bench` when every delivery made it, and
still 12 % when the first of each window did. So a delivery only owes a wake-up (a flag under
a lock) and the process's waker thread makes it: at once when it has not woken for `window`
seconds, else at the end of the window. A row is picked up at most `window` later than with a
wake per delivery, and the last delivery of a burst still wakes the processor (a process that
dies first leaves it to the inbox sweeper, as any lost wake-up).

One long-lived thread per process, not a timer per window: a new thread would open its own
Redis connection each time (Django's cache clients are per thread), which the profile showed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from django.core.cache import cache

from contactcenter import scheduling

logger = logging.getLogger(__name__)


def enqueue_once(*, flag: str, seconds: int, task: str, what: str) -> None:
    """Enqueue `task` unless a run was asked for already (its flag is set). The run clears the
    flag before each look for work, so a row committed before the flag was set is seen by that
    look, and one committed after it sets the flag again: no wake-up is lost in between. A
    failure is logged: the sweeper of `what` runs it later."""
    try:
        if cache.add(flag, 1, timeout=seconds):
            scheduling.run(task)
    except Exception:
        logger.warning("could not wake %s; its sweeper will run it", what, exc_info=True)


class CoalescedWake:
    def __init__(self, wake_now: Callable[[], None], *, window: float, name: str):
        self.wake_now = wake_now
        self.name = name
        self.window = window
        self.changed = threading.Condition()
        self.pid: int | None = None  # the process whose waker thread runs
        self.last = float("-inf")  # monotonic time of the last wake
        self.pending = False  # a wake-up is owed

    def __call__(self) -> None:
        """Owe a wake-up: one owed wake-up covers every call until the waker thread makes it."""
        with self.changed:
            self._start_thread()
            if not self.pending:
                self.pending = True
                self.changed.notify()

    def _start_thread(self) -> None:
        """Once per process (a forked child, gunicorn or Celery prefork, has no thread)."""
        if self.pid == os.getpid():
            return
        self.pid, self.last, self.pending = os.getpid(), float("-inf"), False
        threading.Thread(target=self._trail, name=self.name, daemon=True).start()

    def _trail(self) -> None:
        """The waker thread: make each owed wake-up, no sooner than a window after the last."""
        while True:
            with self.changed:
                while not self.pending:
                    self.changed.wait()
                delay = self.last + self.window - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            with self.changed:
                self.pending = False
                self.last = time.monotonic()
            try:
                self.wake_now()
            except Exception:
                logger.warning("%s: wake-up failed; the sweeper will run it", self.name, exc_info=True)
