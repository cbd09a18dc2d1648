"""Who may call what: anonymous 401, staff by model permission, agents only their own chats,
and no credential in any response of any endpoint."""

import pytest
from rest_framework.test import APIClient

from api.urls import router
from conversations.models import Message
from integrations.models import IntegrationAccount
from tests.api.conftest import LINE_SECRET, LINE_TOKEN, TELEGRAM_TOKEN, client_for, connect, make_user

pytestmark = pytest.mark.django_db

LISTS = [f"/api/v1/{prefix}/" for prefix, _, _ in router.registry]
CONFIG = [url for url in LISTS if not url.endswith(("/interactions/", "/customers/"))]


@pytest.mark.parametrize("url", LISTS)
def test_anonymous_callers_get_401(url):
    response = APIClient().get(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_or_revoked_token_gets_401(desk):
    user = make_user("root", superuser=True)
    client = client_for(user)
    assert client.get("/api/v1/skills/").status_code == 200
    user.api_tokens.update(revoked_at="2020-01-01T00:00:00Z")

    assert client.get("/api/v1/skills/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Bearer cc_not-a-token")
    assert client.get("/api/v1/skills/").status_code == 401


@pytest.mark.parametrize("url", CONFIG)
def test_non_staff_and_staff_without_permissions_cannot_touch_configuration(url, desk):
    agent = desk.agent("ann")
    for user in (agent.user, make_user("clerk", staff=True)):
        client = client_for(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"name": "x"}, format="json").status_code == 403


def test_view_permission_reads_but_does_not_write(desk):
    client = client_for(make_user("viewer", staff=True, perms=("scenarios.view_skill",)))

    assert client.get("/api/v1/skills/").status_code == 200
    assert client.post("/api/v1/skills/", {"name": "French"}, format="json").status_code == 403
    assert client.get("/api/v1/teams/").status_code == 403


def test_add_permission_creates(desk):
    client = client_for(make_user("editor", staff=True, perms=("scenarios.add_skill", "scenarios.view_skill")))

    response = client.post("/api/v1/skills/", {"name": "French", "kind": "language"}, format="json")

    assert response.status_code == 201, response.content
    assert client.delete(f"/api/v1/skills/{response.json()['id']}/").status_code == 403


def test_an_agent_reads_and_writes_only_its_own_interactions(desk):
    ann, bob = desk.agent("ann"), desk.agent("bob")
    anns_chat, bobs_chat = desk.chat(customer="ana"), desk.chat(customer="bea")
    connect(anns_chat, ann)
    connect(bobs_chat, bob)
    client = client_for(ann.user)

    listed = client.get("/api/v1/interactions/").json()["results"]
    assert [row["id"] for row in listed] == [anns_chat.pk]
    assert client.get(f"/api/v1/interactions/{bobs_chat.pk}/").status_code == 404
    assert client.get(f"/api/v1/interactions/{bobs_chat.pk}/messages/").status_code == 404
    hijack = client.post(f"/api/v1/interactions/{bobs_chat.pk}/messages/", {"text": "hijack"}, format="json")
    assert hijack.status_code == 404
    assert not Message.objects.filter(text="hijack").exists()

    assert client.get(f"/api/v1/interactions/{anns_chat.pk}/messages/").status_code == 200
    sent = client.post(f"/api/v1/interactions/{anns_chat.pk}/messages/", {"text": "Hello Ana"}, format="json")
    assert sent.status_code == 201, sent.content
    [message] = Message.objects.filter(text="Hello Ana")
    assert message.interaction_id == anns_chat.pk and message.sender_user_id == ann.user.pk
    assert message.direction == "out"


def test_an_agent_cannot_post_into_a_chat_it_has_left(desk):
    ann = desk.agent("ann")
    chat = desk.chat()
    assignment = connect(chat, ann)
    assignment.status = "done"
    assignment.save()

    response = client_for(ann.user).post(f"/api/v1/interactions/{chat.pk}/messages/", {"text": "late"}, format="json")

    assert response.status_code == 403
    assert not Message.objects.filter(text="late").exists()


def test_a_user_who_is_neither_staff_nor_agent_gets_403_on_interactions(desk):
    client = client_for(make_user("nobody"))

    assert client.get("/api/v1/interactions/").status_code == 403
    assert client.get("/api/v1/customers/").status_code == 403
    assert client.get("/api/v1/agents/me/").status_code == 403


def test_an_agent_changes_only_its_own_state(desk):
    ann, bob = desk.agent("ann", state="not_ready"), desk.agent("bob", state="not_ready")
    client = client_for(ann.user)

    assert client.post(f"/api/v1/agents/{bob.pk}/state/", {"state": "ready"}, format="json").status_code == 403
    bob.refresh_from_db()
    assert bob.state == "not_ready"
    response = client.post(f"/api/v1/agents/{ann.pk}/state/", {"state": "ready"}, format="json")
    assert response.status_code == 200, response.content
    ann.refresh_from_db()
    assert ann.state == "ready" and response.json()["state"] == "ready"
    assert client.get("/api/v1/agents/me/").json()["id"] == ann.pk
    assert client.get(f"/api/v1/agents/{bob.pk}/").status_code == 403


def test_no_response_of_any_endpoint_contains_a_credential(desk, admin_api):
    secrets = [TELEGRAM_TOKEN, LINE_TOKEN, LINE_SECRET]
    telegram = IntegrationAccount.objects.create(
        messenger="telegram", name="Acme", username="acme_bot", access_token=TELEGRAM_TOKEN
    )
    line = IntegrationAccount.objects.create(
        messenger="line", name="Acme LINE", access_token=LINE_TOKEN, signing_secret=LINE_SECRET
    )
    secrets += [telegram.webhook_secret, line.webhook_secret]
    ann = desk.agent("ann")
    chat = desk.chat(account=telegram)
    connect(chat, ann)
    seen = 0
    session = APIClient()
    session.force_login(make_user("boss", superuser=True))
    for url in ["/api/integration-accounts/", f"/api/integration-accounts/{telegram.pk}/"]:
        response = session.get(url)
        assert response.status_code == 200
        assert not [secret for secret in secrets if secret in response.content.decode()]
    for url in LISTS + ["/api/schema/"]:
        response = admin_api.get(url)
        assert response.status_code == 200, url
        bodies = [response.content.decode()]
        for item in response.json().get("results", []) if url.startswith("/api/v1/") else []:
            detail = admin_api.get(f"{url}{item['id']}/")
            assert detail.status_code == 200
            bodies.append(detail.content.decode())
        for body in bodies:
            seen += 1
            for secret in secrets:
                assert secret not in body, url
    created = admin_api.post(
        "/api/v1/integration-accounts/",
        {"messenger": "line", "name": "New", "access_token": "n" * 40, "signing_secret": "m" * 32},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert "n" * 40 not in created.content.decode() and "m" * 32 not in created.content.decode()
    assert created.json()["credentials"]["access_token"].startswith("set, ends in")
    assert seen > len(LISTS)
