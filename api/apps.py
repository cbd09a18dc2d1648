from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and event webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Event webhooks are fed from the chat-events outbox (conversations.events).
        from django.db.models.signals import post_delete, post_save

        from api import integration_events
        from api.models import WebhookSubscription
        from conversations import events

        events.listen(integration_events.on_chat_event, kinds=integration_events.wanted_kinds)
        for signal in (post_save, post_delete):
            signal.connect(
                lambda **kwargs: integration_events.forget_cached_kinds(),
                sender=WebhookSubscription,
                weak=False,
                dispatch_uid=f"forget-event-kinds-{signal}",
            )
