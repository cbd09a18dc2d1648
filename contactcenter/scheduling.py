"""Run a task now, later, or after the transaction commits, by its registered name.

The one home of "run this task later" on every shape. Services never import task modules:
they name the task (`"integrations.tasks.send_message"`), and a wrong name fails at once.
Where the work runs:
- with a broker, a Celery task (countdowns up to SCHEDULER_MAX_COUNTDOWN; longer waits are
  left to the periodic sweepers, which find the row's own deadline);
- under the eager embedded default (no broker), in-process: now, or from a timer thread.
Periodic work is the one beat schedule in settings (CELERY_BEAT_SCHEDULE); under the
embedded default `contactcenter.embedded.start_beat` runs the same schedule in the server.
"""

from __future__ import annotations

import logging

from celery import Task
from django.conf import settings
from django.db import transaction

from contactcenter import embedded
from contactcenter.celery import app, registered_task

logger = logging.getLogger(__name__)


def task(name: str) -> Task:
    """The registered task called `name`; LookupError when there is none."""
    return registered_task(name)


def eager() -> bool:
    """Whether tasks run in-process (the embedded default: no broker, no worker)."""
    return bool(app.conf.task_always_eager)


def run(name: str, *args, delay: float = 0.0, off_thread: bool = False) -> None:
    """Run the task `name` with `args` in `delay` seconds (at once when 0). May raise.

    `off_thread`: never on the caller's thread, even under the eager default (work that
    waits on someone else's server, like an event webhook POST).
    """
    found = task(name)
    eager = app.conf.task_always_eager
    if eager and (delay > 0.01 or off_thread):
        embedded.run_later(delay, found, *args)
    elif delay <= 0.01:
        found.delay(*args)
    elif delay <= settings.SCHEDULER_MAX_COUNTDOWN:
        # Longer countdowns would sit unacknowledged in a worker near Redis's visibility timeout.
        found.apply_async(args, countdown=delay)
    # else: the row keeps its deadline and the task's sweeper runs it when it is due.


def on_commit(name: str, *args, delay: float = 0.0) -> None:
    """After the current transaction commits, run the task; a failure is logged, never raised.

    Whatever the task was to do must also be found by a sweeper (the row records it), so a
    lost run only delays the work.
    """
    task(name)  # a wrong name fails now, inside the caller's transaction

    def go() -> None:
        try:
            run(name, *args, delay=delay)
        except Exception:
            logger.exception("could not run %s%s; its sweeper will", name, args)

    transaction.on_commit(go)


def on_commit_batched(name: str, item, *, chunk: int = 50) -> None:
    """After the current transaction commits, run the task once per `chunk` items, each call
    with a list of the items recorded in that transaction, in the order they were recorded.

    One task for a transaction's many rows instead of one per row: the inbox processor
    records a chat event per message, and a broker publish plus a task start per event cost
    more than the event. A rolled-back savepoint takes its own callback (and items) with it;
    an item recorded in a rolled-back savepoint under an older callback is still passed on,
    so the task must expect items whose rows are gone (it finds nothing to do for them).
    """
    task(name)  # a wrong name fails now, inside the caller's transaction
    connection = transaction.get_connection()
    pending = _pending_batch(connection, name)
    if pending is not None:
        pending.append(item)
        return
    batch = _Batch(name, [item], chunk)
    transaction.on_commit(batch)
    if not connection.in_atomic_block:
        return  # autocommit: on_commit ran it already


class _Batch:
    """The on-commit callback of one transaction's batch of items for one task."""

    def __init__(self, name: str, items: list, chunk: int):
        self.name, self.items, self.chunk = name, items, chunk
        self.ran = False  # tests run callbacks of a transaction that never commits

    def append(self, item) -> None:
        self.items.append(item)

    def __call__(self) -> None:
        self.ran = True
        for start in range(0, len(self.items), self.chunk):
            part = self.items[start : start + self.chunk]
            try:
                run(self.name, part)
            except Exception:
                logger.exception("could not run %s for %s items; its sweeper will", self.name, len(part))


def _pending_batch(connection, name: str) -> _Batch | None:
    """The batch of this transaction for `name` that is still waiting for the commit.

    Django keeps the callbacks of the open transaction in `connection.run_on_commit` and drops
    those of a rolled-back savepoint from it, so a batch found there will run on commit.
    """
    if not connection.in_atomic_block:
        return None
    for _sids, func, _robust in connection.run_on_commit:
        if isinstance(func, _Batch) and func.name == name and not func.ran:
            return func
    return None
