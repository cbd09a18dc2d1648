"""The scenarios demo data: idempotent, and the entry takes the demo accounts it may hold."""

import io

from contactcenter.demo import scenarios as demo
from scenarios.models import AccountAssignment, ScenarioEntry, Service, ServiceTeam
from tests.scenarios.conftest import make_account


def test_demo_is_idempotent_and_attaches_one_account_per_messenger(mobile_chat):
    first_telegram, second_telegram, viber = make_account("telegram"), make_account("telegram"), make_account("viber")
    demo.load(io.StringIO())
    demo.load(io.StringIO())

    entry = ScenarioEntry.objects.get(name="Mobile Chat")
    assert entry.scenario == mobile_chat
    assert entry.service == Service.objects.get(name="Customer Support")
    assert entry.service.skill.name == "Customer Support"
    assert ServiceTeam.objects.get(service=entry.service).level == 50
    attached = set(AccountAssignment.objects.filter(entry=entry).values_list("account", flat=True))
    assert attached == {first_telegram.pk, viber.pk}
    assert not AccountAssignment.objects.filter(account=second_telegram).exists()
    assert ScenarioEntry.objects.count() == 1 and Service.objects.count() == 1
