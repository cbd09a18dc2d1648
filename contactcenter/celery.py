"""The Celery app. Without REDIS_URL tasks run eagerly in-process (settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")

app = Celery("contactcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _outbound_schedule(sender, **kwargs):
    """Celery beat: the outbound sweeper requeues messages a lost task or dead worker left."""
    from django.conf import settings

    sender.add_periodic_task(
        settings.OUTBOUND_SWEEP_INTERVAL, sender.signature("integrations.tasks.sweep_outbound"), name="outbound sweep"
    )


@app.on_after_configure.connect
def _scenario_timer_schedule(sender, **kwargs):
    """Celery beat: fire due scenario timers (Wait, Request Input timeout, queue messages)."""
    sender.add_periodic_task(1.0, sender.signature("scenarios.tasks.fire_due_timers"), name="scenario timers")
    sender.add_periodic_task(
        15.0, sender.signature("scenarios.tasks.resume_stalled_chats"), name="scenario stalled chats"
    )


@app.on_after_configure.connect
def _event_webhook_schedule(sender, **kwargs):
    """Celery beat: send event webhook deliveries that are due and that no task took."""
    sender.add_periodic_task(15.0, sender.signature("api.tasks.sweep_event_webhooks"), name="event webhook sweep")
