"""Per-type rules of IntegrationAccount (model.clean, used by the admin forms and the demo)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from integrations.models import IntegrationAccount
from tests.integrations.conftest import make_account

pytestmark = pytest.mark.django_db

TOKEN = "7000000001:AAE" + "k" * 32


def errors_of(**fields) -> dict:
    with pytest.raises(ValidationError) as error:
        IntegrationAccount(name="x", **fields).full_clean()
    return error.value.message_dict


@pytest.mark.parametrize("username", ["abot", "a" * 30 + "bot", "acme_support", "1acme_bot", "acme-bot"])
def test_telegram_bot_usernames_have_5_to_32_characters_and_end_in_bot(username):
    assert "username" in errors_of(messenger="telegram", username=username, access_token=TOKEN)


@pytest.mark.parametrize("username", ["acmebot", "Acme_Support_Bot", "a" * 29 + "bot"])
def test_good_telegram_usernames_pass(username):
    IntegrationAccount(name="x", messenger="telegram", username=username, access_token=TOKEN).full_clean()


@pytest.mark.parametrize("token", ["7000000001", "abc:" + "k" * 32, "7000000001:short", "7000000001:" + "k" * 29 + "!"])
def test_telegram_tokens_must_look_like_botfather_tokens(token):
    assert "access_token" in errors_of(messenger="telegram", username="acme_bot", access_token=token)


def test_name_defaults_to_the_username():
    account = IntegrationAccount(messenger="viber", username="Acme Viber", access_token="t")
    account.full_clean()
    assert account.name == "Acme Viber"


def test_the_same_bot_or_page_cannot_be_linked_twice():
    make_account(messenger="telegram", username="acme_bot", access_token=TOKEN)
    assert "username" in errors_of(messenger="telegram", username="ACME_bot", access_token=TOKEN)
    fields = {"username": "acmesupport", "access_token": "t", "webhook_secret": "v", "signing_secret": "s"}
    make_account(messenger="facebook", page_id="123456", **fields)
    assert "page_id" in errors_of(messenger="facebook", page_id="123456", **fields)


def test_required_credentials_per_type():
    assert set(errors_of(messenger="line")) == {"access_token", "signing_secret"}
    assert set(errors_of(messenger="nexmo")) == {
        "api_key",
        "api_secret",
        "signing_secret",
        "application_id",
        "sender_id",
    }
    assert set(errors_of(messenger="facebook", webhook_secret="")) == {
        "username",
        "page_id",
        "access_token",
        "webhook_secret",
        "signing_secret",
    }


def test_credentials_are_encrypted_at_rest():
    account = make_account(
        messenger="nexmo",
        api_key="key12345",
        api_secret="vonage-api-secret-1",
        signing_secret="vonage-signature-secret-1",
        application_id="aaaaaaaa-bbbb-4ccc-8ddd-000000000001",
        sender_id="447700900000",
        private_key="-----BEGIN PRIVATE KEY-----\nMIIEabc\n-----END PRIVATE KEY-----",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_secret, signing_secret, private_key, webhook_secret FROM integrations_integrationaccount"
        )
        [row] = cursor.fetchall()
    stored = " ".join(row)
    for secret in ("vonage-api-secret-1", "vonage-signature-secret-1", "BEGIN PRIVATE KEY", account.webhook_secret):
        assert secret not in stored
    assert IntegrationAccount.objects.get().api_secret == "vonage-api-secret-1"
