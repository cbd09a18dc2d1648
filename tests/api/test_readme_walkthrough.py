"""The README's API walkthrough, executed as written against the live server."""

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conversations.models import Interaction
from integrations.models import IntegrationAccount
from scenarios.models import ScenarioEntry
from tests.agentdesk.conftest import Desk
from tests.api.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough_blocks() -> list[str]:
    section = README.read_text().split("### Walkthrough", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_walkthrough_runs(live_server):
    make_user("admin", superuser=True)
    token = subprocess.run(
        [sys.executable, "manage.py", "create_api_token", "admin", "--name", "walkthrough"],
        capture_output=True,
        text=True,
        check=True,
        cwd=README.parent,
        env={**__import__("os").environ, "DATABASE_URL": _database_url()},
    ).stdout.strip()
    assert token.startswith("cc_")
    setup, transcript = walkthrough_blocks()
    namespace = {"BASE": live_server.url, "TOKEN": token}

    exec(setup, namespace)  # noqa: S102 (the README's own code)

    account = IntegrationAccount.objects.get(name="Acme LINE")
    entry = ScenarioEntry.objects.get(name="Acme chat")
    assert [a.account_id for a in entry.account_assignments.all()] == [account.pk]
    assert account.signing_secret == "channel-secret-0123456789"
    chat = Desk().chat(account=account, text="Where is my order?")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(transcript, namespace)  # noqa: S102
    assert "customer received Where is my order?" in output.getvalue()
    assert Interaction.objects.get().pk == chat.pk


def _database_url() -> str:
    from tests.conftest import test_database_url

    return test_database_url()
