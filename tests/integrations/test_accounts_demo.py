"""The demo data links one account per messenger to the simulator, ready to use."""

import io

import pytest

from contactcenter.demo import accounts as demo
from integrations.models import IntegrationAccount
from integrations.services import account_test_connection
from simulator import demo as simulator_demo

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_accounts_work_against_the_simulator_and_loading_twice_changes_nothing(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    out = io.StringIO()
    simulator_demo.load(out)
    demo.load(out)
    first = {a.pk: (a.name, a.api_base_url) for a in IntegrationAccount.objects.all()}

    simulator_demo.load(out)
    demo.load(out)

    accounts = list(IntegrationAccount.objects.all())
    assert {a.pk: (a.name, a.api_base_url) for a in accounts} == first
    assert sorted(a.messenger for a in accounts) == ["facebook", "line", "nexmo", "telegram", "viber"]
    for account in accounts:
        assert account.api_base_url.startswith(f"{live_server.url}/simulator/api/")
        result = account_test_connection(account=account)
        assert result.ok, (account.messenger, result.message)
        sim_account = simulator_demo.demo_account(account.messenger)
        assert sim_account.webhook_url == account.webhook_url
        assert IntegrationAccount.objects.get(pk=account.pk).last_webhook_ok is True
    assert out.getvalue().count("Integrations: created demo") == 5
