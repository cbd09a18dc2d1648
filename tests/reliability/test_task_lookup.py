"""A fresh web process looks up tasks by name from many threads at once (the first webhooks
after a start): every lookup must find its task. Seen under `make chaos` as a 500 with
"No Celery task is registered as 'integrations.tasks.fetch_customer_profile'"."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import server_environment

SCRIPT = textwrap.dedent(
    """
    import threading
    import django
    django.setup()
    from contactcenter.celery import registered_task
    names = [
        "integrations.tasks.fetch_customer_profile",
        "conversations.tasks.dispatch_chat_event",
        "conversations.tasks.dispatch_chat_events",
        "integrations.tasks.send_outbound",
        "scenarios.tasks.fire_due_timers",
    ] * 3
    errors, barrier = [], threading.Barrier(len(names))
    def look_up(name):
        barrier.wait()
        try:
            registered_task(name)
        except LookupError as exc:
            errors.append(str(exc))
    threads = [threading.Thread(target=look_up, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(len(errors), errors[:2])
    """
)


def test_concurrent_first_lookups_in_a_fresh_process_find_every_task(tmp_path):
    env = server_environment(
        DATABASE_URL=f"sqlite:///{tmp_path / 'lookup.sqlite3'}", DJANGO_SETTINGS_MODULE="contactcenter.settings"
    )
    for _ in range(3):  # the race needs a fresh process each time
        result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip().splitlines()[-1] == "0 []", result.stdout
