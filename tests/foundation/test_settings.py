"""Settings rules: production mode refuses to start without its secrets."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import CI


def _load_settings(**env_overrides):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "PYTEST_XDIST_WORKER"}
    }
    env.update(env_overrides)
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY[:4])"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "contactcenter.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_secret_key():
    result = _load_settings(DEBUG="false", FIELD_ENCRYPTION_KEY=settings.FIELD_ENCRYPTION_KEY[0])
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_refuses_to_start_without_field_encryption_key():
    result = _load_settings(DEBUG="false", SECRET_KEY="a-real-secret-key-for-this-test")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY is not set" in result.stderr


def test_production_starts_with_both_secrets():
    result = _load_settings(
        DEBUG="false",
        SECRET_KEY="a-real-secret-key-for-this-test",
        FIELD_ENCRYPTION_KEY=settings.FIELD_ENCRYPTION_KEY[0],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "a-re"


def test_debug_mode_starts_with_development_defaults():
    result = _load_settings(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "dev-"


def test_embedded_defaults_without_urls():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "PYTEST_XDIST_WORKER"}
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "contactcenter.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "True",
    ]


def test_production_shape_with_urls():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL)"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_TASK_ALWAYS_EAGER", "PYTEST_XDIST_WORKER"}}
    env.update(
        DEBUG="true",
        DATABASE_URL="postgres://u@db.example:5432/cc",
        REDIS_URL="redis://cache.example:6379/0",
        DJANGO_SETTINGS_MODULE="contactcenter.settings",
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "channels_redis.pubsub.RedisPubSubChannelLayer",
        "False",
        "redis://cache.example:6379/0",
    ]


@pytest.mark.django_db
def test_this_run_uses_the_real_services_under_ci():
    """With CI=true the suite must run on PostgreSQL and Redis, never the fallbacks."""
    if not CI:
        pytest.skip("only meaningful with CI=true")
    assert connection.vendor == "postgresql"
    assert settings.REDIS_URL.startswith("redis://")
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis")
