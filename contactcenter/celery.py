"""The Celery app. Without REDIS_URL tasks run eagerly in-process (settings).

The periodic schedule is one setting, CELERY_BEAT_SCHEDULE: `celery beat` runs it in
production, `contactcenter.embedded.start_beat` in the embedded server.
"""

import os

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")

app = Celery("contactcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def registered_task(name: str) -> Task:
    """The task registered as `name`; LookupError when there is none."""
    if name not in app.tasks:
        app.loader.import_default_modules()  # autodiscovery imports every app's tasks module
    try:
        return app.tasks[name]
    except KeyError:
        raise LookupError(f"No Celery task is registered as {name!r}.") from None
