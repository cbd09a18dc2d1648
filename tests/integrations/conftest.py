"""Fixtures shared by the integrations tests (accounts, providers, webhooks).

Accounts point at the simulator's fake platform APIs (the only fakes allowed), served over
real HTTP by pytest-django's live_server or by a Daphne process (live_daphne).
"""

from __future__ import annotations

import pytest

from integrations.models import IntegrationAccount, Messenger
from tests import factories

# Where each fake platform API lives below a server's URL (the simulator's contract).
SIMULATOR_API_PATHS = {
    Messenger.TELEGRAM: "/simulator/api/telegram",
    Messenger.FACEBOOK: "/simulator/api/facebook/v19.0",
    Messenger.LINE: "/simulator/api/line",
    Messenger.VIBER: "/simulator/api/viber",
    Messenger.NEXMO: "/simulator/api/nexmo",
}


def simulator_api_base(server_url: str, messenger: str) -> str:
    return f"{str(server_url).rstrip('/')}{SIMULATOR_API_PATHS[messenger]}"


def account_fields_for(sim_account) -> dict:
    """Our IntegrationAccount fields that match a simulator account's credentials."""
    platform = sim_account.platform
    if platform == Messenger.TELEGRAM:
        return {"username": sim_account.username, "access_token": sim_account.token}
    if platform == Messenger.FACEBOOK:
        return {
            "username": "acmesupport",
            "page_id": sim_account.platform_id,
            "access_token": sim_account.token,
            "signing_secret": sim_account.secret,
            "webhook_secret": sim_account.webhook_secret or "verify-token-123456",
            # With the App ID, Set Webhook also registers the app's callback (Meta's handshake).
            "application_id": sim_account.app_id,
        }
    if platform == Messenger.LINE:
        return {"access_token": sim_account.token, "signing_secret": sim_account.secret}
    if platform == Messenger.VIBER:
        return {"username": sim_account.username, "access_token": sim_account.token}
    return {
        "api_key": sim_account.api_key,
        "api_secret": sim_account.api_secret,
        "signing_secret": sim_account.secret,
        "application_id": sim_account.app_id,
        "sender_id": sim_account.platform_id,
    }


def make_account(*, messenger: str, api_base_url: str = "", name: str = "", **fields) -> IntegrationAccount:
    """A validated, saved account (model.clean runs, as the admin would)."""
    return factories.account(
        messenger, validated=True, name=name or f"Test {messenger}", api_base_url=api_base_url, **fields
    )


@pytest.fixture
def linked_account(live_server, settings):
    """`linked_account(messenger, **overrides) -> (account, sim_account)`: a simulator account
    and our account pointing at it, with PUBLIC_BASE_URL = the live server."""
    from simulator.factories import create_account

    settings.PUBLIC_BASE_URL = live_server.url

    def create(messenger: str, **overrides):
        sim_account = create_account(platform=messenger)
        fields = account_fields_for(sim_account) | overrides
        account = make_account(
            messenger=messenger, api_base_url=simulator_api_base(live_server.url, messenger), **fields
        )
        return account, sim_account

    return create
