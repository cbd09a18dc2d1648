"""The read-only REST API of integration accounts never exposes a credential."""

import pytest
from django.contrib.auth import get_user_model

from integrations.models import IntegrationAccount

pytestmark = pytest.mark.django_db

TOKEN = "7000000001:AAE" + "k" * 32


def test_admins_read_accounts_without_credentials(admin_client):
    account = IntegrationAccount.objects.create(
        messenger="telegram", name="Acme", username="acme_support_bot", access_token=TOKEN
    )
    IntegrationAccount.objects.create(
        messenger="line", name="Acme LINE", access_token="l" * 40, signing_secret="s" * 32
    )

    response = admin_client.get("/api/integration-accounts/?messenger=telegram")

    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item["id"] == str(account.pk) and item["messenger"] == "telegram"
    assert item["webhook_url"] == account.webhook_url
    assert item["credentials"] == {"access_token": f"set, ends in …{TOKEN[-4:]}"}
    body = response.content.decode()
    assert TOKEN not in body and account.webhook_secret not in body
    detail = admin_client.get(f"/api/integration-accounts/{account.pk}/").content.decode()
    assert TOKEN not in detail and account.webhook_secret not in detail


def test_the_api_is_read_only_and_for_admins(admin_client, client):
    account = IntegrationAccount.objects.create(messenger="telegram", name="Acme", access_token=TOKEN)

    assert admin_client.post("/api/integration-accounts/", {"name": "x"}).status_code == 405
    assert admin_client.delete(f"/api/integration-accounts/{account.pk}/").status_code == 405
    assert client.get("/api/integration-accounts/").status_code in (401, 403)
    agent = get_user_model().objects.create_user("agent", password="pw-123456789")
    client.force_login(agent)
    assert client.get("/api/integration-accounts/").status_code == 403


def test_the_schema_describes_the_accounts_api(admin_client):
    response = admin_client.get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/integration-accounts/" in response.content
