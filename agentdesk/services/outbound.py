"""Agent-started (outbound) chats: an agent of a service with an outbound chat account writes
first to a customer that account already knows (the platforms allow writing only to people
who wrote to the bot; Facebook only inside its messaging window or with an allowed tag)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agentdesk import routing, states
from agentdesk.models import Agent, ChatAssignment
from agentdesk.notify import notify_agents
from agentdesk.services.common import record_event, settle
from agentdesk.services.exceptions import DeskError
from conversations.models import ChatEvent, Customer, Interaction
from conversations.services import open_interaction
from integrations.delivery import FACEBOOK_WINDOW, HUMAN_AGENT_WINDOW
from integrations.errors import OutboundRefused
from integrations.models import IntegrationAccount
from integrations.outbound import queue_text
from scenarios.models.org import Service

Origin = ChatAssignment.Origin


def outbound_services(agent: Agent) -> list[tuple[Service, list[IntegrationAccount]]]:
    """The agent's services (skill level above 0) that have outbound chat accounts, with them."""
    levels = routing.skill_levels([agent.pk]).get(agent.pk, {})
    services = Service.objects.filter(skill_id__in=[s for s, level in levels.items() if level > 0])
    found = []
    for service in services.order_by("name"):
        # The service's outbound accounts are its account assignments (Service properties).
        accounts = list(IntegrationAccount.objects.filter(assignment__service=service, enabled=True))
        if accounts:
            found.append((service, accounts))
    return found


def search_customers(*, account: IntegrationAccount, query: str, limit: int = 20):
    """Known customers of the account by name, username or platform id."""
    found = Customer.objects.select_related("account").filter(account=account, unreachable_at__isnull=True)
    query = query.strip()
    if query:
        found = found.filter(
            Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(display_name__icontains=query)
            | Q(username__icontains=query)
            | Q(external_id=query)
        )
    return found.order_by("-last_inbound_at", "pk")[:limit]


def window_refusal(*, customer: Customer, now) -> str:
    """Why Facebook would refuse an agent's first message to `customer` now, or "".

    Said before the chat opens, so the agent sees it in the form rather than as a failed message."""
    account = customer.account
    last = customer.last_inbound_at
    if account.messenger != "facebook" or last is None or now - last <= FACEBOOK_WINDOW:
        return ""
    if not account.allow_human_agent_tag:
        return (
            "Facebook allows writing only within 24 hours of the customer's last message, "
            "and this page has no Human Agent permission."
        )
    if now - last > HUMAN_AGENT_WINDOW:
        return "The customer's last message is older than the 7 days Facebook's Human Agent tag allows."
    return ""


@transaction.atomic
def start_outbound_chat(*, agent_user, service_id: int, customer_id: int, text: str) -> Interaction:
    """Open a chat with a known customer on the service's outbound account and send the first
    message; the chat is the agent's at once (counted against capacity). The customer's answer
    lands in the same interaction; the no-response timeout of the Chat Settings applies."""
    if not (text or "").strip():
        raise DeskError("Write the first message.", code="empty")
    agent = states.lock_agent(user_id=agent_user.pk)
    if agent.state in (Agent.State.LOGGED_OUT,):
        raise DeskError("Log in first.")
    choices = {service.pk: accounts for service, accounts in outbound_services(agent)}
    if service_id not in choices:
        raise DeskError("That service has no outbound chat account you may use.", code="no_account")
    customer = (
        Customer.objects.select_related("account").filter(pk=customer_id, account__in=choices[service_id]).first()
    )
    if customer is None:
        raise DeskError("Pick a customer who has written to this account before.", code="unknown_customer")
    if customer.unreachable_at is not None:
        raise DeskError(
            "This customer cannot be reached on this messenger (blocked the bot or left).", code="unreachable"
        )
    refusal = window_refusal(customer=customer, now=timezone.now())
    if refusal:
        raise DeskError(refusal, code="outside_window")
    if routing.holding_counts([agent.pk]).get(agent.pk, 0) >= agent.capacity:
        raise DeskError("You have no free chat slot.", code="no_capacity")
    if Interaction.objects.filter(customer=customer, status=Interaction.Status.OPEN).exists():
        raise DeskError("This customer is in a chat already.", code="busy_customer")
    interaction, _ = open_interaction(customer=customer)
    Interaction.objects.filter(pk=interaction.pk).update(agent=agent_user)
    interaction.agent = agent_user
    now = timezone.now()
    ChatAssignment.objects.create(
        interaction=interaction,
        agent=agent,
        service_id=service_id,
        origin=Origin.OUTBOUND,
        status=ChatAssignment.Status.ACTIVE,
        reserved_at=now,
        offered_at=now,
        accepted_at=now,
    )
    try:
        with transaction.atomic():
            queue_text(interaction=interaction, text=text, sender="agent", sender_user=agent_user)
    except OutboundRefused as exc:
        raise DeskError(str(exc), code="refused") from exc
    record_event(interaction.pk, ChatEvent.Kind.OUTBOUND_CHAT_STARTED, {"agent_user_id": agent_user.pk})
    settle(agent, cause="outbound chat")
    notify_agents(agent.user_id)
    return interaction
