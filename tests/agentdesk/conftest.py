"""Small factories for agent-desk tests: services, agents with skills, customer chats."""

import itertools

import pytest
from django.contrib.auth import get_user_model

from agentdesk.models import Agent, AgentSkill
from agentdesk.states import change_state
from conversations.models import Interaction, Message
from conversations.services import open_interaction, record_inbound_message, upsert_customer
from integrations.models import IntegrationAccount
from scenarios.models import Service

PASSWORD = "a-long-password-1"
_seq = itertools.count(1)


class Desk:
    """Arrange helpers: everything is created through the models' and services' public API."""

    def service(self, name: str = "Support", **fields) -> Service:
        service = Service(name=name, **fields)
        service.save()
        return service

    def agent(self, username: str, *, skills=None, state: str = Agent.State.READY, chat_share: int = 25, **fields):
        user = get_user_model().objects.create_user(
            username, password=PASSWORD, first_name=username.capitalize(), is_staff=fields.pop("is_staff", False)
        )
        agent = Agent.objects.create(user=user, chat_share=chat_share, **fields)
        for skill, level in (skills or {}).items():
            AgentSkill.objects.create(agent=agent, skill=skill, level=level)
        if state != Agent.State.LOGGED_OUT:
            change_state(agent, state, cause="test")
        return agent

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
        account = account or self.account()
        customer = upsert_customer(
            account=account,
            external_id=external_id or customer or f"c{next(_seq)}",
            profile={"first_name": first_name, "last_name": last_name, "username": "ana_l", "language": "pt"},
        )
        interaction, _ = open_interaction(customer=customer)
        self.customer_says(interaction, text)
        return interaction

    def customer_says(self, interaction: Interaction, text: str) -> Message:
        n = next(_seq)
        return record_inbound_message(
            interaction=interaction,
            kind=Message.Kind.TEXT,
            text=text,
            attachment={},
            platform_event_id=f"ev{n}",
            platform_message_id=f"m{n}",
            platform_timestamp=None,
        )


@pytest.fixture
def desk(db):
    return Desk()


@pytest.fixture
def desk_tx(transactional_db):
    return Desk()
