"""POST /api/v1/interactions/outbound/: an agent starts a chat with a known customer from an
outbound account of its own service; the same service as the desktop's New chat."""

import datetime as dt

import pytest
from django.utils import timezone

from agentdesk.models import ChatAssignment
from conversations.models import Customer, Interaction, Message
from scenarios.models import ServiceTeam, Team
from scenarios.services import assign_account
from tests import factories
from tests.api.conftest import client_for, make_user

URL = "/api/v1/interactions/outbound/"


@pytest.fixture
def sales(desk):
    """Service Sales with a Telegram outbound account, its agent Olga, and Ann who wrote to the bot."""
    service = desk.service("Sales")
    account = desk.account("telegram")
    assign_account(account=account, service=service)
    team = Team.objects.create(name="Sales team")
    ServiceTeam.objects.create(service=service, team=team, level=50)
    olga = desk.agent("olga", team=team, chat_share=50)
    ann = factories.customer(account, external_id="501", first_name="Ann", last_name="Lee")
    Customer.objects.filter(pk=ann.pk).update(last_inbound_at=timezone.now())
    return {"service": service, "account": account, "team": team, "agent": olga, "ann": ann}


def start(client, account, customer, text="Hi Ann, your order shipped"):
    return client.post(URL, {"account": str(account.pk), "customer": customer.pk, "text": text}, format="json")


def test_an_agent_starts_a_chat_and_the_first_message_is_queued(sales):
    response = start(client_for(sales["agent"].user), sales["account"], sales["ann"])

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open" and body["customer"] == sales["ann"].pk
    assert body["service"] == sales["service"].pk and body["agent"] == sales["agent"].user.pk
    interaction = Interaction.objects.get(pk=body["id"])
    assignment = ChatAssignment.objects.get(interaction=interaction)
    assert assignment.origin == "outbound" and assignment.status == "active" and assignment.agent == sales["agent"]
    [message] = Message.objects.filter(interaction=interaction)
    assert message.text == "Hi Ann, your order shipped" and message.direction == "out"
    assert message.status == "queued" and message.sender_user_id == sales["agent"].user.pk


def test_another_service_agent_or_a_non_agent_is_refused(desk, sales):
    other_team = Team.objects.create(name="Billing team")
    ServiceTeam.objects.create(service=desk.service("Billing"), team=other_team, level=50)
    bob = desk.agent("bob", team=other_team)

    assert start(client_for(bob.user), sales["account"], sales["ann"]).status_code == 403
    assert start(client_for(make_user("root", superuser=True)), sales["account"], sales["ann"]).status_code == 403
    assert not Interaction.objects.filter(customer=sales["ann"]).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda body, sales: body.update(text=""), "text"),
        (lambda body, sales: body.update(account="not-a-uuid"), "account"),
        (lambda body, sales: body.pop("customer"), "customer"),
        # A customer of another account: the platforms allow writing only to who wrote to the bot.
        (lambda body, sales: body.update(customer=factories.customer(factories.account("telegram")).pk), "customer"),
    ],
    ids=["empty text", "bad account", "no customer", "customer of another account"],
)
def test_bad_input_is_a_400_with_field_messages(sales, change, field):
    body = {"account": str(sales["account"].pk), "customer": sales["ann"].pk, "text": "Hello"}
    change(body, sales)

    response = client_for(sales["agent"].user).post(URL, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field] and response.json()[field][0]
    assert not Interaction.objects.filter(customer=sales["ann"]).exists()


def test_refusals_of_the_service_are_field_messages(desk, sales):
    client = client_for(sales["agent"].user)
    Customer.objects.filter(pk=sales["ann"].pk).update(unreachable_at=timezone.now(), unreachable_reason="blocked")
    unreachable = start(client, sales["account"], sales["ann"])
    assert unreachable.status_code == 400 and "cannot be reached" in unreachable.json()["customer"][0]

    # Facebook: two days after the customer's last message, and no Human Agent permission.
    page = desk.account("facebook")
    assign_account(account=page, service=desk.service("Sales Facebook"))
    ServiceTeam.objects.create(service=page.assignment.service, team=sales["team"], level=50)
    eve = factories.customer(page, external_id="psid-7", first_name="Eve")
    Customer.objects.filter(pk=eve.pk).update(last_inbound_at=timezone.now() - dt.timedelta(days=2))
    outside = start(client, page, eve)
    assert outside.status_code == 400 and "24 hours" in outside.json()["customer"][0]

    # Olga has two slots (chat share 50 %): both taken, a third start is refused.
    for external_id in ("601", "602"):
        other = factories.customer(sales["account"], external_id=external_id, first_name="C")
        assert start(client, sales["account"], other).status_code == 201
    full = start(client, sales["account"], factories.customer(sales["account"], external_id="603"))
    assert full.status_code == 400 and full.json() == {"non_field_errors": ["You have no free chat slot."]}


def test_the_endpoint_is_in_the_openapi_schema(admin_api):
    schema = admin_api.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/interactions/outbound/"]["post"]
    assert "201" in operation["responses"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["required"]) == {"account", "customer", "text"}
