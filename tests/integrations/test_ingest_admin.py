"""The read-only admin shows what ingest stored: customers, chats with their transcript."""

from __future__ import annotations

import pytest
from django.test import Client

from conversations.models import Customer, Interaction, Message
from tests.integrations.webhook_support import fixture_body, post_webhook, webhook_account

pytestmark = pytest.mark.django_db


def test_an_ingested_chat_reads_as_a_transcript_in_the_admin(admin_client):
    account = webhook_account("facebook")
    post_webhook(Client(enforce_csrf_checks=True), account, fixture_body("facebook", "batched__two_entries"))
    chat = Interaction.objects.get(customer__external_id="7000000000000001")

    page = admin_client.get(f"/admin/conversations/interaction/{chat.pk}/change/")
    assert page.status_code == 200
    transcript = page.content.decode()
    assert "first" in transcript and "third" in transcript and "second" not in transcript  # one customer's chat

    for model in ("customer", "interaction", "message", "pendingreceipt"):
        assert admin_client.get(f"/admin/conversations/{model}/").status_code == 200, model
    inbox = admin_client.get("/admin/integrations/inboxevent/", {"processed_at__isnull": "False"})
    assert inbox.status_code == 200 and "m_Batch1" in inbox.content.decode()  # the webhook inbox, processed
    customer = Customer.objects.get(external_id="7000000000000001")
    assert admin_client.get(f"/admin/conversations/customer/{customer.pk}/change/").status_code == 200
    message = Message.objects.first()
    assert admin_client.get(f"/admin/conversations/message/{message.pk}/change/").status_code == 200
    searched = admin_client.get("/admin/conversations/message/", {"q": "third"})
    assert "third" in searched.content.decode()


def test_the_conversation_admin_cannot_add_change_or_delete(admin_client):
    account = webhook_account("viber")
    post_webhook(Client(), account, fixture_body("viber", "text__basic"))
    message = Message.objects.get()
    assert admin_client.get("/admin/conversations/message/add/").status_code == 403
    assert admin_client.post(f"/admin/conversations/message/{message.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(f"/admin/conversations/message/{message.pk}/change/", {"text": "rewritten"})
    message.refresh_from_db()
    assert message.text == "Hello"
