from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from integrations import unrouted  # noqa: F401  (registers the system check)
