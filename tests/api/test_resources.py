"""Writes through the API: the admin's validation, one error shape, nothing half-saved,
tokens shown once and throttled, the interaction records' filters and export."""

import csv
import io

import pytest
from django.utils import timezone

from api.models import ApiToken, hash_token
from conversations.models import Interaction
from integrations.models import IntegrationAccount
from scenarios.models import Block, Scenario, ScenarioEntry
from tests.api.conftest import client_for, connect, make_user

pytestmark = pytest.mark.django_db


def test_account_validation_is_the_admins_and_field_level(admin_api):
    response = admin_api.post(
        "/api/v1/integration-accounts/",
        {"messenger": "telegram", "username": "@acme", "access_token": "nope"},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()
    assert "without the leading @" in errors["username"][0]
    assert "not a Telegram bot token" in errors["access_token"][0]
    assert not IntegrationAccount.objects.exists()
    wrong_field = admin_api.post(
        "/api/v1/integration-accounts/", {"messenger": "line", "page_id": "1", "access_token": "x"}, format="json"
    )
    assert wrong_field.status_code == 400 and "page_id" in wrong_field.json()


def test_a_blank_credential_on_update_keeps_the_stored_one(admin_api):
    account = IntegrationAccount.objects.create(
        messenger="line", name="L", access_token="a" * 40, signing_secret="b" * 32
    )

    response = admin_api.patch(
        f"/api/v1/integration-accounts/{account.pk}/", {"name": "Renamed", "access_token": ""}, format="json"
    )

    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert account.name == "Renamed" and account.access_token == "a" * 40


def test_test_connection_and_set_webhook_answer_like_the_admin_buttons(admin_api):
    account = IntegrationAccount.objects.create(
        messenger="telegram",
        name="T",
        username="acme_bot",
        access_token="7000000001:AAE" + "k" * 32,
        api_base_url="http://127.0.0.1:9",  # nothing listens: the platform is unreachable
    )

    tested = admin_api.post(f"/api/v1/integration-accounts/{account.pk}/test-connection/")
    hooked = admin_api.post(f"/api/v1/integration-accounts/{account.pk}/set-webhook/")

    assert tested.status_code == 200 and tested.json()["ok"] is False
    assert tested.json()["message"].startswith("Test Connection failed:")
    account.refresh_from_db()
    assert account.last_test_ok is False and account.last_test_at is not None
    assert hooked.status_code == 200 and hooked.json()["ok"] is False
    assert "k" * 32 not in tested.content.decode() + hooked.content.decode()


def test_scenario_errors_come_per_block_and_nothing_is_saved(admin_api):
    blocks = [
        {"key": "hello", "title": "Hello", "type": "send_message", "settings": {}, "exits": {"next": "gone"}},
        {"key": "bye", "title": "Bye", "type": "teleport"},
    ]

    response = admin_api.post("/api/v1/scenarios/", {"name": "Broken", "blocks": blocks}, format="json")

    assert response.status_code == 400
    first, second = response.json()["blocks"]
    assert any("message" in m for m in first["settings"])
    assert 'missing block "gone"' in first["exits"][0]
    assert "unknown type" in second["type"][0]
    assert not Scenario.objects.filter(name="Broken").exists() and not Block.objects.filter(key="hello").exists()


def test_a_valid_scenario_and_an_entry_holding_an_account(admin_api):
    account = IntegrationAccount.objects.create(
        messenger="line", name="L", access_token="a" * 40, signing_secret="b" * 32
    )
    scenario = admin_api.post(
        "/api/v1/scenarios/",
        {
            "name": "Greeting",
            "blocks": [
                {
                    "key": "hi",
                    "title": "Hi",
                    "type": "send_message",
                    "settings": {"message": "Hi"},
                    "exits": {"next": "x"},
                },
                {"key": "x", "title": "Exit", "type": "exit"},
            ],
        },
        format="json",
    )
    assert scenario.status_code == 201, scenario.content
    assert [b["key"] for b in scenario.json()["blocks"]] == ["hi", "x"]

    entry = admin_api.post(
        "/api/v1/scenario-entries/",
        {"name": "Chat", "scenario": scenario.json()["id"], "accounts": [str(account.pk)]},
        format="json",
    )
    assert entry.status_code == 201, entry.content
    assert entry.json()["accounts"] == [str(account.pk)]
    second = admin_api.post(
        "/api/v1/scenario-entries/",
        {"name": "Other", "scenario": scenario.json()["id"], "accounts": [str(account.pk)]},
        format="json",
    )
    assert second.status_code == 400 and "already assigned" in second.json()["accounts"][0]
    assert not ScenarioEntry.objects.filter(name="Other").exists()  # nothing half-saved


def test_hours_of_operation_nested_and_an_unknown_time_zone(admin_api):
    ok = admin_api.post(
        "/api/v1/hours-of-operation/",
        {
            "name": "Office",
            "time_zone": "Europe/Berlin",
            "weekly": [{"weekday": 0, "opens_at": "09:00", "closes_at": "17:00"}],
            "holidays": [{"date": "2026-12-25", "name": "Christmas"}],
        },
        format="json",
    )
    bad = admin_api.post("/api/v1/hours-of-operation/", {"name": "Mars", "time_zone": "Mars/Base"}, format="json")

    assert ok.status_code == 201 and ok.json()["weekly"][0]["opens_at"] == "09:00:00"
    assert bad.status_code == 400 and "time_zone" in bad.json()


def test_a_service_name_clashing_with_a_skill_is_a_field_error(admin_api):
    assert admin_api.post("/api/v1/skills/", {"name": "Billing"}, format="json").status_code == 201

    response = admin_api.post("/api/v1/services/", {"name": "Billing"}, format="json")

    assert response.status_code == 400 and "pick another name" in response.json()["name"][0]


def test_tokens_are_stored_hashed_and_shown_once_in_the_admin(client):
    client.force_login(make_user("root", superuser=True))
    user = make_user("integrator", staff=True)

    response = client.post("/admin/api/apitoken/add/", {"user": user.pk, "name": "CRM"}, follow=True)

    [message] = [m.message for m in response.context["messages"] if "The new token is" in m.message]
    raw = message.split("The new token is ")[1].split(" ")[0]
    token = ApiToken.objects.get(user=user)
    assert token.key_hash == hash_token(raw) and raw not in token.key_hash
    assert raw not in client.get(f"/admin/api/apitoken/{token.pk}/change/").content.decode()
    client.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_throttling_per_token_answers_429_with_retry_after(settings):
    settings.API_TOKEN_THROTTLE_RATE = "3/min"
    user = make_user("root", superuser=True)
    first, second = client_for(user), client_for(user)

    codes = [first.get("/api/v1/teams/").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    limited = first.get("/api/v1/teams/")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert second.get("/api/v1/teams/").status_code == 200  # another token has its own budget


def test_interaction_filters_ordering_and_cursor_pages(desk, admin_api):
    ann, bob = desk.agent("ann"), desk.agent("bob")
    support = desk.service("Support")
    line = IntegrationAccount.objects.create(messenger="line", name="L", access_token="a" * 40, signing_secret="b" * 32)
    chats = [desk.chat(customer=f"c{i}", account=line if i % 2 else None) for i in range(5)]
    connect(chats[0], ann).__class__.objects.filter(interaction=chats[0]).update(service=support)
    connect(chats[1], bob)
    Interaction.objects.filter(pk=chats[4].pk).update(status="closed", closed_at=timezone.now())

    def ids(**params):
        response = admin_api.get("/api/v1/interactions/", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(agent=ann.user.pk) == [chats[0].pk]
    assert ids(service=support.pk) == [chats[0].pk]
    assert set(ids(messenger="line")) == {chats[1].pk, chats[3].pk}
    assert set(ids(account=str(line.pk))) == {chats[1].pk, chats[3].pk}
    assert ids(status="closed") == [chats[4].pk]
    assert ids(customer=chats[2].customer_id) == [chats[2].pk]
    assert ids(ordering="id") == [c.pk for c in chats]
    today = timezone.localdate().isoformat()
    assert len(ids(date_from=today, date_to=today)) == 5 and ids(date_to="2000-01-01") == []
    page = admin_api.get("/api/v1/interactions/", {"page_size": 2, "ordering": "id"}).json()
    following = admin_api.get(page["next"]).json()
    assert [r["id"] for r in page["results"] + following["results"]] == [c.pk for c in chats[:4]]
    bad = admin_api.get("/api/v1/interactions/", {"status": "sleeping", "date_from": "yesterday"})
    assert bad.status_code == 400 and set(bad.json()) == {"status", "date_from"}


def test_the_records_page_transcript_and_streamed_csv(desk, client):
    ann = desk.agent("ann")
    chat = desk.chat(customer="ana", text="=HYPERLINK(evil)")
    connect(chat, ann)
    desk.chat(customer="bea")
    client.force_login(make_user("boss", superuser=True))

    page = client.get("/supervisor/records/", {"agent": ann.user.pk})
    transcript = client.get(f"/supervisor/records/{chat.pk}/")
    export = client.get("/supervisor/records/export.csv", {"agent": ann.user.pk})

    assert page.status_code == 200 and list(page.context["page"]) == [chat]
    assert transcript.status_code == 200 and "=HYPERLINK(evil)" in transcript.content.decode()
    assert "Received" in transcript.content.decode()
    assert export.streaming
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][0] == "id" and [r[0] for r in rows[1:]] == [str(chat.pk)]
    assert rows[1][rows[0].index("agents")] == "ann" and rows[1][rows[0].index("messages")] == "1"
    agent_client = client.__class__()
    agent_client.force_login(ann.user)
    assert agent_client.get("/supervisor/records/").status_code == 302  # staff only
