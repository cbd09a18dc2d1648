"""The browser fixtures work end to end: Daphne serves the admin and Chromium logs in."""

import pytest
from django.contrib.auth import get_user_model


@pytest.mark.browser
def test_admin_login_in_chromium(live_daphne, page):
    get_user_model().objects.create_superuser("boss", password="a-long-password-1")
    page.goto(f"{live_daphne.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "a-long-password-1")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_daphne.url}/admin/")
    assert "Site administration" in page.content()
