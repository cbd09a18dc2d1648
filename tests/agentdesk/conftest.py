"""Fixtures for agent-desk tests; the objects come from tests/factories.py."""

import importlib
import itertools
from pathlib import Path

import pytest
from django.apps import apps

from agentdesk.models import Agent, AgentSkill
from conversations.models import Interaction, Message
from integrations.models import IntegrationAccount
from scenarios.models import Service
from tests import factories

PASSWORD = "a-long-password-1"
_seq = itertools.count(1)


class Desk:
    """Arrange helpers over tests/factories.py, with the desk suites' defaults."""

    def service(self, name: str = "Support", **fields) -> Service:
        return factories.service(name, **fields)

    def agent(self, username: str, *, skills=None, state: str = Agent.State.READY, chat_share: int = 25, **fields):
        return factories.agent(username, skills=skills, state=state, chat_share=chat_share, **fields)

    def account(self, messenger: str = "telegram") -> IntegrationAccount:
        return IntegrationAccount.objects.create(
            messenger=messenger,
            name=f"{messenger} {next(_seq)}",
            access_token="123:token",
            username="demo_bot",
            # Nothing listens there: a reply's send fails fast instead of leaving the machine.
            api_base_url="http://127.0.0.1:9",
        )

    def simulated_account(self, server_url: str):
        """A Telegram account on the simulator's fake Bot API served at `server_url`."""
        from simulator.demo import API_BASE_PATHS
        from simulator.factories import create_account

        bot = create_account(platform="telegram", name=f"Sim {next(_seq)}")
        account = IntegrationAccount.objects.create(
            messenger="telegram",
            name=bot.name,
            username=bot.username,
            access_token=bot.token,
            api_base_url=f"{server_url}{API_BASE_PATHS['telegram']}",
        )
        return account, bot

    def chat(
        self,
        *,
        customer: str = "",
        text: str = "Hello",
        account=None,
        first_name: str = "Ana",
        last_name="Lima",
        external_id: str = "",
    ):
        return factories.chat(
            account or self.account(),
            text=text,
            external_id=external_id or customer,
            first_name=first_name,
            last_name=last_name,
            username="ana_l",
            language="pt",
        )

    def customer_says(self, interaction: Interaction, text: str) -> Message:
        return factories.customer_says(interaction, text)


@pytest.fixture
def desk(db):
    return Desk()


@pytest.fixture
def desk_tx(transactional_db):
    return Desk()


# --- Browser tests: the stock scenario on a simulated Telegram bot, logging in, axe-core -----


@pytest.fixture
def contact_center(require_postgres, redis_url, live_daphne, desk_tx, settings):
    """Service, team, two agents (logged out), the stock scenario on a simulated Telegram bot."""
    from agentdesk.models import CannedResponse, ServiceDeskSettings
    from integrations.providers import get_provider
    from scenarios.models import Disposition, Scenario, ScenarioEntry, ServiceTeam, Team
    from scenarios.services import assign_account
    from simulator.demo import API_BASE_PATHS
    from simulator.factories import create_account

    settings.PUBLIC_BASE_URL = live_daphne.url
    service = desk_tx.service("Customer Support", use_dispositions=True)
    ServiceDeskSettings.objects.create(service=service, after_call_work=True, acw_time_limit=300)
    Disposition.objects.create(service=service, name="Problem solved")
    CannedResponse.objects.create(service=service, title="Greeting", text="Hello %F %L, how can I help?")
    team = Team.objects.create(name="Support")
    ServiceTeam.objects.create(service=service, team=team, level=50)
    agent1 = desk_tx.agent("agent1", team=team, state=Agent.State.LOGGED_OUT)
    agent2 = desk_tx.agent("agent2", team=team, state=Agent.State.LOGGED_OUT)
    # agent1 is the better match, so routing tries it first when both are Ready.
    AgentSkill.objects.create(agent=agent1, skill=service.skill, level=90)

    # The stock scenario exactly as the data migrations install it (flushed between tests).
    if not Scenario.objects.filter(name="Mobile Chat").exists():
        importlib.import_module("scenarios.migrations.0004_stock_mobile_chat_texts").install(apps, None)
    entry = ScenarioEntry.objects.create(
        name="Mobile Chat", scenario=Scenario.objects.get(name="Mobile Chat"), service=service
    )
    bot = create_account(platform="telegram", name="Acme Support", username="acme_support_bot")
    account = IntegrationAccount.objects.create(
        messenger="telegram",
        name="Acme",
        username=bot.username,
        access_token=bot.token,
        api_base_url=f"{live_daphne.url}{API_BASE_PATHS['telegram']}",
    )
    assign_account(account=account, entry=entry)
    get_provider("telegram").set_webhook(account, account.webhook_url)
    return {"url": live_daphne.url, "bot": bot, "account": account, "service": service, "agents": (agent1, agent2)}


@pytest.fixture
def demo_center(require_postgres, redis_url, live_daphne, transactional_db, settings, monkeypatch):
    """`make run`'s demo data on a live server: five messengers, Mobile Chat, Alice and Bob."""
    from django.core.management import call_command

    from scenarios.models import Scenario

    settings.PUBLIC_BASE_URL = live_daphne.url
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    if not Scenario.objects.filter(name="Mobile Chat").exists():
        importlib.import_module("scenarios.migrations.0004_stock_mobile_chat_texts").install(apps, None)
    with open("/dev/null", "w") as quiet:
        call_command("load_demo", force=True, stdout=quiet)
    return live_daphne.url


def log_in(page, url, username, *, state="Not Ready"):
    from playwright.sync_api import expect

    page.goto(f"{url}/agent/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(f"{url}/agent/")
    expect(page.locator("#connection")).to_have_text("Connected")
    expect(page.locator("#state-label")).to_have_text(state)


def go_ready(page):
    from playwright.sync_api import expect

    page.select_option("#state-select", "ready")
    expect(page.locator("#state-label")).to_have_text("Ready")


AXE_PATH = Path(__file__).resolve().parents[2] / "var" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def axe_script():
    """axe-core from npm (`make axe` installs it into var/axe)."""
    from tests.conftest import _missing

    if not AXE_PATH.exists():
        _missing(f"axe-core is not installed at {AXE_PATH} (run `make axe`)")
    return AXE_PATH


def assert_accessible(page, axe_script, what: str) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    page.add_script_tag(path=str(axe_script))
    checked, violations = page.evaluate(
        """async () => {
            const result = await axe.run(document);
            const bad = result.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => `${v.impact} ${v.id}: ${v.help} -> ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
            return [result.passes.length, bad];
        }"""
    )
    assert checked > 10, f"axe-core checked almost nothing on {what}"
    assert violations == [], f"axe-core on {what}:\n" + "\n".join(violations)
