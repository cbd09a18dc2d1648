"""An account on no scenario entry is flagged in the admin and by a system check (issue 15)."""

from django.core import checks
from django.urls import reverse

from integrations.models import IntegrationAccount
from scenarios.models import Scenario, ScenarioEntry, Service
from scenarios.services import assign_account


def account(name: str) -> IntegrationAccount:
    return IntegrationAccount.objects.create(messenger="telegram", name=name, access_token="1:t", username=f"{name}bot")


def test_the_list_the_page_and_a_system_check_flag_an_account_on_no_entry(admin_client, db):
    lonely = account("lonely")
    served = account("served")
    entry = ScenarioEntry.objects.create(name="Main entry", scenario=Scenario.objects.create(name="S"))
    assign_account(account=served, entry=entry)
    service_only = account("serviceonly")
    service = Service(name="Billing")
    service.save()
    assign_account(account=service_only, service=service)

    listing = admin_client.get(reverse("admin:integrations_integrationaccount_changelist")).content.decode()
    assert listing.count("On no scenario entry") == 2 and "Main entry" in listing
    page = admin_client.get(reverse("admin:integrations_integrationaccount_change", args=[lonely.pk]))
    assert "On no scenario entry: its customers get no answer." in page.content.decode()
    assert (
        "On no scenario entry"
        not in admin_client.get(
            reverse("admin:integrations_integrationaccount_change", args=[served.pk])
        ).content.decode()
    )

    warnings = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    flagged = [w for w in warnings if w.id == "integrations.W001"]
    assert sorted(w.obj.name for w in flagged) == ["lonely", "serviceonly"]
    assert all(isinstance(w, checks.Warning) and w.hint for w in flagged)

    entry.enabled = False  # a disabled entry answers nobody either
    entry.save()
    warnings = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    assert sorted(w.obj.name for w in warnings if w.id == "integrations.W001") == ["lonely", "served", "serviceonly"]
