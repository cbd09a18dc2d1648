"""Coalesced wake-ups: at most one call of `wake_now` per process per window, none lost.

A busy webhook process takes in hundreds of deliveries a second and each must wake the inbox
processor. The wake itself (a Redis SET NX) was a quarter of the ack's time in the profile of
`make bench`, and all but the first call of a burst find the flag set already. So a process
wakes at once when it has not woken for `window` seconds, and otherwise leaves one trailing
wake-up to its waker thread at the end of the window: a row is picked up at most `window`
later than with a wake per delivery, and the last delivery of a burst still wakes the
processor (a process that dies first leaves it to the inbox sweeper, as any lost wake-up).

One long-lived thread per process, not a timer per window: a new thread would open its own
Redis connection each time (Django's cache clients are per thread), which the profile showed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class CoalescedWake:
    def __init__(self, wake_now: Callable[[], None], *, window: float):
        self.wake_now = wake_now
        self.window = window
        self.changed = threading.Condition()
        self.pid: int | None = None  # the process whose waker thread runs
        self.last = float("-inf")  # monotonic time of the last wake
        self.pending = False  # a trailing wake-up is owed

    def __call__(self) -> None:
        now = time.monotonic()
        with self.changed:
            self._start_thread()
            due = now - self.last >= self.window
            if due:
                self.last = now
            elif not self.pending:  # one trailing wake covers every call until it runs
                self.pending = True
                self.changed.notify()
        if due:
            self.wake_now()

    def _start_thread(self) -> None:
        """Once per process (a forked child, gunicorn or Celery prefork, has no thread)."""
        if self.pid == os.getpid():
            return
        self.pid, self.last, self.pending = os.getpid(), float("-inf"), False
        threading.Thread(target=self._trail, name="inbox-waker", daemon=True).start()

    def _trail(self) -> None:
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
                logger.warning("trailing wake-up failed; the sweeper will run the processor", exc_info=True)
