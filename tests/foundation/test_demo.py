import importlib

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from scenarios.models import Scenario


@pytest.mark.django_db
def test_load_demo_is_idempotent(monkeypatch, capsys):
    # The stock scenario as its data migration installs it (a transactional test that ran
    # earlier on this xdist worker flushed it).
    if not Scenario.objects.filter(name="Mobile Chat").exists():
        importlib.import_module("scenarios.migrations.0004_stock_mobile_chat_texts").install(apps, None)
    monkeypatch.setenv("ADMIN_PASSWORD", "secret-admin")
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("load_demo", "--force")
    first = capsys.readouterr().out
    call_command("load_demo", "--force")
    second = capsys.readouterr().out

    User = get_user_model()
    assert User.objects.filter(username="admin", is_superuser=True).count() == 1
    assert User.objects.filter(username__in=["agent1", "agent2"]).count() == 2
    assert User.objects.get(username="admin").check_password("secret-admin")
    # A generated password is printed once, on creation only.
    assert "Created user 'agent1' with password" in first
    assert "Created user 'agent1'" not in second
