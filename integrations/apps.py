from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from integrations import account_cache, unrouted  # noqa: F401  (unrouted registers a system check)
        from integrations.models import IntegrationAccount

        # The webhook path caches accounts per process: a change clears this process's cache.
        post_save.connect(account_cache.forget, sender=IntegrationAccount, dispatch_uid="account-cache-save")
        post_delete.connect(account_cache.forget, sender=IntegrationAccount, dispatch_uid="account-cache-delete")
