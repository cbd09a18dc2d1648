"""Coalesced wake-ups: at most one call of `wake_now` per process per window, none lost.

A busy webhook process takes in hundreds of deliveries a second and each must wake the inbox
processor. The wake itself (a Redis SET NX) was a quarter of the ack's time in the profile of
`make bench`, and all but the first call of a burst find the flag set already. So a process
wakes at once when it has not woken for `window` seconds, and otherwise leaves one trailing
wake-up to a timer thread at the end of the window: a row is picked up at most `window`
later than with a wake per delivery, and the last delivery of a burst still wakes the
processor (a process that dies first leaves it to the inbox sweeper, as any lost wake-up).
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
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.last = float("-inf")  # monotonic time of the last wake
        self.timer: threading.Timer | None = None

    def __call__(self) -> None:
        now = time.monotonic()
        with self.lock:
            self._after_fork()
            due = now - self.last >= self.window
            if due:
                self.last = now
            elif self.timer is None:  # one trailing wake covers every call until it runs
                self.timer = threading.Timer(self.last + self.window - now, self._trailing)
                self.timer.daemon = True
                self.timer.start()
        if due:
            self.wake_now()

    def _trailing(self) -> None:
        with self.lock:
            self.timer = None
            self.last = time.monotonic()
        try:
            self.wake_now()
        except Exception:
            logger.warning("trailing wake-up failed; the sweeper will run the processor", exc_info=True)

    def _after_fork(self) -> None:
        """A forked child (gunicorn, Celery prefork) has no timer thread: start afresh."""
        if self.pid != os.getpid():
            self.pid, self.last, self.timer = os.getpid(), float("-inf"), None
