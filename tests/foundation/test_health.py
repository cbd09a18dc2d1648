import pytest
from django.test import override_settings

from tests.conftest import free_port


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_healthz_503_when_configured_redis_is_down(client):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"] == "unreachable"
    assert "ConnectionError" in body["errors"]["redis"]


@pytest.mark.django_db
def test_healthz_reports_live_redis(client, redis_url):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == "ok"


def test_healthz_only_get(client):
    assert client.post("/healthz").status_code == 405
