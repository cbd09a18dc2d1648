"""What every fake platform API does around its own logic: find the caller's account, apply
the injected latency, and keep a masked log of the request and the answer."""

import functools
import json
import logging
import time
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from contactcenter.logging import redact
from simulator.delivery import deliver_due
from simulator.models import SimAccount, SimDelivery, SimRequest

logger = logging.getLogger(__name__)

_LOGGED_HEADERS = ("Content-Type", "Authorization", "X-Viber-Auth-Token", "X-Line-Retry-Key", "User-Agent")
_SECRET_KEYS = {"auth_token", "access_token", "api_secret", "secret_token", "verify_token", "private_key"}


def mask_json(text: str) -> str:
    """The body with credential fields replaced, for the request log."""
    try:
        data = json.loads(text)
    except ValueError:
        return redact(text)
    return json.dumps(_mask(data), ensure_ascii=False)


def _mask(value):
    if isinstance(value, dict):
        return {k: ("[redacted]" if k in _SECRET_KEYS and v else _mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def masked_headers(request: HttpRequest) -> dict[str, str]:
    headers = {}
    for name in _LOGGED_HEADERS:
        if name in request.headers:
            value = request.headers[name]
            if name in ("Authorization", "X-Viber-Auth-Token"):
                value = value.split(" ", 1)[0] + " [redacted]" if " " in value else "[redacted]"
            headers[name] = value
    return headers


def request_params(request: HttpRequest) -> dict:
    """Parameters from the query string, a form body or a JSON body (as Telegram accepts)."""
    params = dict(request.GET.items())
    content_type = request.content_type or ""
    if "multipart" in content_type:  # an upload (Telegram sendPhoto/sendDocument): the file is in FILES
        params.update(request.POST.items())
        return params
    if request.body and "json" in content_type:
        try:
            data = json.loads(request.body)
        except ValueError:
            raise BadJson() from None
        if not isinstance(data, dict):
            raise BadJson()
        params.update(data)
    elif request.body and "form" in content_type:
        params.update(dict(parse_qsl(request.body.decode(errors="replace"))))
    return params


class BadJson(Exception):
    """The body is not the JSON object the API expects."""


def fake_api(platform: str):
    """Wrap a fake API view: csrf-exempt, latency of the account, masked request log.

    The view sets `request.sim_account` once it knows whose call it is.
    """

    def decorator(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            request.sim_account = None
            started = timezone.now()
            response = view(request, *args, **kwargs)
            account: SimAccount | None = request.sim_account
            if account is not None and account.latency_ms:
                time.sleep(account.latency_ms / 1000)  # injected latency, on purpose
            hide = _credentials_of(account)
            SimRequest.objects.create(
                account=account,
                platform=platform,
                method=request.method,
                path=_hide(redact(request.get_full_path()), hide)[:500],
                headers=masked_headers(request),
                body=_hide(mask_json(_logged_body(request)), hide)[:20000],
                status_code=response.status_code,
                response="[file]"
                if response.streaming
                else _hide(mask_json(response.content.decode(errors="replace")), hide)[:20000],
            )
            if account is not None:
                _retry_after_response(response, account, started)
            return response

        return wrapper

    return decorator


def _logged_body(request: HttpRequest) -> str:
    if "multipart" in (request.content_type or ""):  # the file itself is not logged
        files = ", ".join(f"{k}={f.name} ({f.size} bytes)" for k, f in request.FILES.items())
        return f"[multipart] {dict(request.POST.items())} {files}"
    return request.body.decode(errors="replace")


def _credentials_of(account: SimAccount | None) -> list[str]:
    if account is None:
        return []
    return [value for value in (account.token, account.secret, account.api_secret) if len(value) >= 4]


def _hide(text: str, secrets: list[str]) -> str:
    """Whatever pattern-based masking missed: the account's own credentials, literally."""
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text


def json_response(data, status: int = 200, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _retry_after_response(response: HttpResponse, account: SimAccount, started) -> None:
    """Retry the account's due webhooks once this answer has gone out (the server calls the
    response's closers after sending it), so the caller never waits on our deliveries.
    Deliveries this very call created (e.g. a Vonage "submitted" status) wait for the next one."""
    due = SimDelivery.objects.filter(
        account=account,
        status=SimDelivery.Status.PENDING,
        next_attempt_at__lte=timezone.now(),
        created_at__lt=started,
    )
    if not due.exists():
        return

    def deliver():
        try:
            deliver_due(account=account, created_before=started, limit=20)
        except Exception:  # a closer must not break the server; the next call retries
            logger.exception("simulator: retrying due webhooks of account %s failed", account.id)

    response._resource_closers.append(deliver)  # Django's hook run by response.close()
