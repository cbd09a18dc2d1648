"""`/healthz`: is the database reachable, and Redis when it is configured."""

import ipaddress
from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not reachable"
        return f"{type(exc).__name__}: {exc}".strip()[:200]
    return None


@lru_cache(maxsize=4)
def _redis_client(url: str):
    # One client (and connection pool) per process: building a redis-py client reads
    # package metadata from disk, which costs more than the PING itself.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def _check_redis() -> str | None:
    try:
        _redis_client(settings.REDIS_URL).ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip()[:200]
    return None


def _may_see_details(request) -> bool:
    """Raw driver errors (host names, users) only for staff, or a check from this machine
    that did not come through a proxy."""
    if getattr(request, "user", None) is not None and request.user.is_active and request.user.is_staff:
        return True
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@require_GET
def healthz(request):
    """200 when every configured dependency answers, else 503 naming what failed."""
    checks: dict[str, str] = {}
    failures: dict[str, str] = {}

    db_error = _check_database()
    checks["database"] = "ok" if db_error is None else "unreachable"
    if db_error:
        failures["database"] = db_error

    if settings.REDIS_URL:
        redis_error = _check_redis()
        checks["redis"] = "ok" if redis_error is None else "unreachable"
        if redis_error:
            failures["redis"] = redis_error
    else:
        checks["redis"] = "not configured (in-memory channel layer, eager tasks)"

    body = {"status": "ok" if not failures else "unavailable", "checks": checks}
    if failures and _may_see_details(request):
        body["errors"] = failures
    return JsonResponse(body, status=200 if not failures else 503)
