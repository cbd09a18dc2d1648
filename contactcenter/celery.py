"""The Celery app. Without REDIS_URL tasks run eagerly in-process (settings).

The periodic schedule is one setting, CELERY_BEAT_SCHEDULE: `celery beat` runs it in
production, `contactcenter.embedded.start_beat` in the embedded server.
"""

import os
import threading

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")

app = Celery("contactcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


_discovery_lock = threading.Lock()


def registered_task(name: str) -> Task:
    """The task registered as `name`; LookupError when there is none."""
    if name not in app.tasks:
        # Autodiscovery imports every app's tasks module. One thread at a time: a second
        # thread would find the modules half-imported and the task missing (seen as a 500 on
        # the first concurrent webhooks of a fresh web process under `make chaos`).
        with _discovery_lock:
            if name not in app.tasks:
                app.loader.import_default_modules()
    try:
        return app.tasks[name]
    except KeyError:
        raise LookupError(f"No Celery task is registered as {name!r}.") from None
