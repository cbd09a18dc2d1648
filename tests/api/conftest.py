"""Fixtures of the API tests: users with exactly the permissions a test names, tokens, chats."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from agentdesk.models import ChatAssignment
from api.models import ApiToken
from tests.agentdesk.conftest import Desk

TELEGRAM_TOKEN = "7000000001:AAE" + "k" * 32
LINE_TOKEN = "line-access-" + "q" * 40
LINE_SECRET = "line-secret-" + "z" * 20


def make_user(username: str, *, staff: bool = False, superuser: bool = False, perms: tuple[str, ...] = ()):
    user = get_user_model().objects.create_user(username, password="a-long-password-1", is_staff=staff or superuser)
    if superuser:
        user.is_superuser = True
        user.save()
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return get_user_model().objects.get(pk=user.pk)  # a fresh object: no stale permission cache


def client_for(user) -> APIClient:
    """An API client authenticated with a real token of `user` (Authorization: Bearer)."""
    _, raw = ApiToken.issue(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def connect(interaction, agent) -> ChatAssignment:
    """The chat is live with `agent` (what accepting an offer leaves behind)."""
    now = timezone.now()
    assignment = ChatAssignment.objects.create(
        interaction=interaction, agent=agent, status=ChatAssignment.Status.ACTIVE, offered_at=now, accepted_at=now
    )
    interaction.agent = agent.user
    interaction.save(update_fields=["agent"])
    return assignment


@pytest.fixture
def desk(db):
    return Desk()


@pytest.fixture
def admin_api(db):
    return client_for(make_user("root", superuser=True))
