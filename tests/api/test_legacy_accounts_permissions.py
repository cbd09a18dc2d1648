"""Issue 18, item 6: /api/integration-accounts/ follows Django model permissions like the admin."""

import pytest

from integrations.models import IntegrationAccount
from tests.api.conftest import TELEGRAM_TOKEN, make_user

pytestmark = pytest.mark.django_db


def test_a_staff_user_without_permissions_reads_no_account_anywhere(client):
    IntegrationAccount.objects.create(
        messenger="telegram", name="Acme", username="acme_bot", access_token=TELEGRAM_TOKEN
    )
    client.force_login(make_user("clerk", staff=True))

    assert client.get("/admin/integrations/integrationaccount/").status_code == 403
    assert client.get("/api/integration-accounts/").status_code == 403
    assert client.get("/api/v1/integration-accounts/").status_code == 403


def test_the_view_permission_reads_accounts_as_in_the_admin(client):
    IntegrationAccount.objects.create(
        messenger="telegram", name="Acme", username="acme_bot", access_token=TELEGRAM_TOKEN
    )
    client.force_login(make_user("viewer", staff=True, perms=("integrations.view_integrationaccount",)))

    assert client.get("/admin/integrations/integrationaccount/").status_code == 200
    assert client.get("/api/integration-accounts/").status_code == 200
    assert client.get("/api/v1/integration-accounts/").status_code == 200
    assert client.post("/api/v1/integration-accounts/", {"messenger": "line"}).status_code == 403
