"""Demo data: one integration account per messenger, linked to the simulator's demo account
of that platform, with our webhook registered there. Idempotent."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from integrations.models import IntegrationAccount, Messenger
from integrations.providers.nexmo.api import status_url
from integrations.providers.telegram.api import ALLOWED_UPDATES
from integrations.providers.viber.api import EVENT_TYPES
from integrations.services import webhook_target_url
from simulator.demo import API_BASE_PATHS, DEMO_CREDENTIALS, demo_account
from simulator.services import register_webhook


def _fields(messenger: str, credentials: dict) -> dict:
    """Our account's fields for the simulator's demo credentials of `messenger`."""
    c = credentials
    if messenger == Messenger.TELEGRAM:
        return {"username": c["username"], "access_token": c["token"]}
    if messenger == Messenger.FACEBOOK:
        return {
            "username": "acmesupport",
            "page_id": c["page_id"],
            "application_id": c["app_id"],
            "access_token": c["page_access_token"],
            "signing_secret": c["app_secret"],
            "webhook_secret": c["verify_token"],
        }
    if messenger == Messenger.LINE:
        return {"access_token": c["channel_access_token"], "signing_secret": c["channel_secret"]}
    if messenger == Messenger.VIBER:
        return {"username": c["name"], "access_token": c["auth_token"]}
    return {
        "api_key": c["api_key"],
        "api_secret": c["api_secret"],
        "signing_secret": c["signature_secret"],
        "application_id": c["application_id"],
        "sender_id": c["number"],
    }


def load(stdout) -> None:
    for messenger in Messenger.values:
        credentials = DEMO_CREDENTIALS[messenger]
        api_base_url = f"{settings.PUBLIC_BASE_URL}{API_BASE_PATHS[messenger]}"
        account = IntegrationAccount.objects.filter(messenger=messenger, name=credentials["name"]).first()
        if account is None:
            account = IntegrationAccount(
                messenger=messenger,
                name=credentials["name"],
                api_base_url=api_base_url,
                **_fields(messenger, credentials),
            )
            # PUBLIC_BASE_URL may be a bare host name (http://testserver) that URLField refuses.
            account.full_clean(exclude=["api_base_url"])
            account.save()
            stdout.write(f"Integrations: created demo {messenger} account {account.name!r} on the simulator")
        elif account.is_simulated and account.api_base_url != api_base_url:
            # PUBLIC_BASE_URL changed (another port): follow it, keep everything else as edited.
            account.api_base_url = api_base_url
            account.save(update_fields=["api_base_url", "updated_at"])
        if account.is_simulated:
            _register(account)


def _register(account: IntegrationAccount) -> None:
    """Register our webhook on the simulator account directly: load_demo runs without a server,
    so Set Webhook's platform call (and Viber's probe of our URL) cannot happen yet."""
    url = webhook_target_url(account)
    register_webhook(
        account=demo_account(account.messenger),
        url=url,
        secret=account.webhook_secret if account.messenger in (Messenger.TELEGRAM, Messenger.FACEBOOK) else "",
        events={Messenger.TELEGRAM: ALLOWED_UPDATES, Messenger.VIBER: EVENT_TYPES}.get(account.messenger),
        status_url=status_url(url) if account.messenger == Messenger.NEXMO else "",
    )
    if account.webhook_registered_url != url:
        now = timezone.now()
        IntegrationAccount.objects.filter(pk=account.pk).update(
            webhook_registered_url=url,
            webhook_set_at=now,
            last_webhook_ok=True,
            last_webhook_message="Registered on the simulator by the demo data",
            updated_at=now,
        )
