"""The embedded default's stand-ins for a Celery worker and Celery beat.

`make run` has no broker, no worker and no beat. Two things stand in, in the server process:
- `run_later`: a task that should run "in N seconds" (an outbound retry, a scenario timer, a
  desk deadline) runs from a daemon timer thread;
- `start_beat`: the beat schedule of settings (CELERY_BEAT_SCHEDULE) runs on one thread, every
  sweeper once at start-up (whatever the last run left behind is picked up) and then at its
  interval, so the embedded default recovers exactly as production does.
The rows keep their deadlines, so nothing depends on these threads surviving a restart.
Pending timers are tracked so tests can cancel what one test left behind.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connections

from contactcenter.celery import registered_task

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


# --- The in-process beat ----------------------------------------------------------------


class InProcessBeat:
    """Runs each entry of a Celery beat schedule at its interval, on one daemon thread."""

    TICK = 0.25  # seconds between looks at the schedule

    def __init__(self, schedule: dict[str, dict]):
        self.entries = [(name, entry["task"], float(entry["schedule"])) for name, entry in schedule.items()]
        self.next_run = {name: 0.0 for name, _, _ in self.entries}  # 0: run at once on start
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="embedded-beat", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped.set()
        self.thread.join(timeout)

    def run_due(self) -> int:
        """Run every entry whose time has come; returns how many ran."""
        ran = 0
        now = time.monotonic()
        for name, task_name, interval in self.entries:
            if self.next_run[name] > now:
                continue
            self.next_run[name] = now + interval
            try:
                registered_task(task_name).apply()
            except Exception:
                logger.exception("embedded beat: %s failed", name)
            ran += 1
        return ran

    def _loop(self) -> None:
        try:
            while not self.stopped.is_set():
                self.run_due()
                connections.close_all()
                self.stopped.wait(self.TICK)
        finally:
            connections.close_all()


_beat: InProcessBeat | None = None


def start_beat(*, force: bool = False) -> InProcessBeat | None:
    """Start the in-process beat once per process, when settings ask for it (or `force`)."""
    global _beat
    if not (force or settings.EMBEDDED_BEAT):
        return None
    with _lock:
        if _beat is None:
            _beat = InProcessBeat(settings.CELERY_BEAT_SCHEDULE)
            _beat.start()
            logger.info("embedded beat started: %s", ", ".join(settings.CELERY_BEAT_SCHEDULE))
    return _beat


def stop_beat() -> None:
    global _beat
    with _lock:
        beat, _beat = _beat, None
    if beat is not None:
        beat.stop()
