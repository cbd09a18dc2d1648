"""The account's API base URL override carries the token: where it may point (issue 18, item 5)."""

from __future__ import annotations

import pytest
import requests
from django.test import override_settings

from integrations.apibase import ApiBaseRefused, check_api_base_url
from integrations.forms import AccountForm
from integrations.models import IntegrationAccount
from integrations.providers.http import error_text

pytestmark = pytest.mark.django_db

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def telegram_form(data, instance=None):
    form_class = next(cls for cls in AccountForm.__subclasses__() if cls.messenger == "telegram")
    return form_class(data=data, instance=instance)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.telegram.org",  # not https
        "https://127.0.0.1:6379",  # loopback port of another service
        "https://169.254.169.254/latest",  # link-local (cloud metadata)
        "https://10.0.0.5",
        "https://[::1]:8000",
        "https://localhost",
        "https://user:pw@api.telegram.org",
    ],
)
def test_private_plain_or_loopback_bases_are_refused(url):
    with pytest.raises(ApiBaseRefused):
        check_api_base_url(url)


def test_the_simulator_address_is_allowed_explicitly():
    with override_settings(PLATFORM_API_BASE_ALLOWED=["http://127.0.0.1:8000/simulator/api/"]):
        check_api_base_url("http://127.0.0.1:8000/simulator/api/telegram")
        with pytest.raises(ApiBaseRefused):
            check_api_base_url("http://127.0.0.1:8000/admin/")


def test_the_admin_form_refuses_an_internal_base():
    form = telegram_form({"username": "acme_bot", "access_token": TOKEN, "api_base_url": "https://127.0.0.1:6379"})
    assert not form.is_valid()
    assert "api_base_url" in form.errors


def test_moving_the_base_requires_the_token_again():
    account = IntegrationAccount.objects.create(
        messenger="telegram", name="acme_bot", username="acme_bot", access_token=TOKEN
    )
    # A public address literal: this machine has no DNS for real hosts.
    data = {"username": "acme_bot", "enabled": "on", "api_base_url": "https://149.154.167.220"}

    moved_without_token = telegram_form({**data, "access_token": ""}, instance=account)
    assert not moved_without_token.is_valid()
    assert "access_token" in moved_without_token.errors

    account.refresh_from_db()  # a validated ModelForm writes its values onto the instance
    moved_with_token = telegram_form({**data, "access_token": TOKEN}, instance=account)
    assert moved_with_token.is_valid(), moved_with_token.errors

    account.refresh_from_db()
    unchanged = telegram_form({**data, "api_base_url": "", "access_token": ""}, instance=account)
    assert unchanged.is_valid(), unchanged.errors  # other edits keep the stored token


def test_a_platform_answer_in_no_known_shape_is_never_echoed():
    response = requests.Response()
    response.status_code = 404
    response.headers["Content-Type"] = "text/html"
    response._content = b"<html>internal service banner: redis 7.2 secret-config</html>"
    assert error_text(response) == ""
