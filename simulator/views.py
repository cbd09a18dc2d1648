"""The customer chat page and its small JSON endpoints (thin: the work is in services)."""

import json
import re

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from simulator import delivery, media, services
from simulator.models import SimAccount, SimDelivery, SimMessage, SimRequest

_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TEXT = 10000  # the customer's own client limit; platform limits apply to the bot's sends


@ensure_csrf_cookie
@require_GET
def index(request):
    return render(request, "simulator/chat.html", {"accounts": SimAccount.objects.all()})


def account_json(account: SimAccount) -> dict:
    return {
        "id": account.id,
        "name": account.name,
        "platform": account.platform,
        "platform_label": account.get_platform_display(),
        "username": account.username,
        "webhook_set": bool(account.webhook_url),
        "echo": account.echoes,
        "failure": {
            "latency_ms": account.latency_ms,
            "rate_limit": account.rate_limit,
            "forced_error": account.forced_error,
            "drop_mode": account.drop_mode,
        },
    }


@require_GET
def accounts(request):
    return JsonResponse({"accounts": [account_json(a) for a in SimAccount.objects.all()]})


def _bad(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def message_json(message: SimMessage, fate: dict | None = None) -> dict:
    data = {
        "id": message.id,
        "direction": message.direction,
        "kind": message.kind,
        "attachment": {k: v for k, v in message.attachment.items() if k != "file_id"},
        "media_url": reverse("simulator:media", args=[message.account_id, message.id]) if message.media else "",
        "text": message.text,
        "markup": message.markup,
        "platform_message_id": message.platform_message_id,
        "echo": message.echo,
        "created_at": message.created_at.isoformat(),
    }
    if message.direction == SimMessage.Direction.IN:
        data["client_key"] = message.client_key
        data["fate"] = fate
    return data


@require_POST
def send(request, account_id: int):
    account = get_object_or_404(SimAccount, id=account_id)
    try:
        data = json.loads(request.body)
    except ValueError:
        return _bad("The body must be JSON.")
    if not isinstance(data, dict):
        return _bad("The body must be a JSON object.")
    key, name, text = str(data.get("customer", "")), str(data.get("name", "")).strip(), str(data.get("text", ""))
    client_key = str(data.get("client_key") or "")
    if not _KEY.match(key):
        return _bad("customer must be 1-64 letters, digits, '-' or '_'.")
    if client_key and not _KEY.match(client_key):
        return _bad("client_key must be 1-64 letters, digits, '-' or '_'.")
    if not text.strip():
        return _bad("Write some text.")
    if len(text) > MAX_TEXT or len(name) > 100:
        return _bad(f"The text may have at most {MAX_TEXT} characters and the name 100.")
    customer = services.get_customer(account=account, key=key, name=name)
    known = bool(client_key) and customer.messages.filter(client_key=client_key).exists()
    message = services.customer_says(account=account, customer=customer, text=text, client_key=client_key)
    sent = message.deliveries.filter(kind="message").order_by("id").first()
    fate = services.delivery_fate(account=account, sent=sent)
    return JsonResponse(
        {
            "message": message_json(message, fate),
            "customer": {"key": customer.key, "name": customer.name, "external_id": customer.external_id},
            "echo": account.echoes,
            "delivery": None
            if sent is None
            else {"status": sent.status, "last_status_code": sent.last_status_code, "attempts": sent.attempts},
        },
        status=200 if known else 201,
    )


MEDIA_UPLOAD_LIMIT = 20 * 1024 * 1024  # what the chat page lets a customer attach


@require_POST
def send_media(request, account_id: int):
    """The customer sends a picture or a file (multipart: customer, name, file, caption) or a
    location (latitude, longitude)."""
    account = get_object_or_404(SimAccount, id=account_id)
    key, name = request.POST.get("customer", ""), request.POST.get("name", "").strip()
    caption = request.POST.get("caption", "")[:1000]
    if not _KEY.match(key) or len(name) > 100:
        return _bad("customer must be 1-64 letters, digits, '-' or '_'.")
    upload = request.FILES.get("file")
    location = None
    if upload is None:
        try:
            location = {"latitude": float(request.POST["latitude"]), "longitude": float(request.POST["longitude"])}
        except (KeyError, ValueError):
            return _bad("Attach a file, or send latitude and longitude.")
        if not (-90 <= location["latitude"] <= 90 and -180 <= location["longitude"] <= 180):
            return _bad("Those are not coordinates.")
        kind = "location"
    else:
        if upload.size > MEDIA_UPLOAD_LIMIT:
            return _bad("The simulator takes files up to 20 MB.")
        kind = "image" if (upload.content_type or "").startswith("image/") else "file"
    customer = services.get_customer(account=account, key=key, name=name)
    message = services.customer_sends(
        account=account, customer=customer, kind=kind, caption=caption, upload=upload, location=location
    )
    sent = message.deliveries.filter(kind="message").first()
    return JsonResponse(
        {
            "message": message_json(message),
            "delivery": None if sent is None else {"status": sent.status, "last_status_code": sent.last_status_code},
        },
        status=201,
    )


@require_GET
def media_file(request, account_id: int, message_id: int):
    """A file of the chat, for the customer's chat page."""
    message = get_object_or_404(SimMessage, account_id=account_id, id=message_id)
    if not message.media:
        raise Http404("No file.")
    return media.serve(message)


@require_POST
def press(request, account_id: int):
    """The customer taps a button under one of the bot's messages."""
    account = get_object_or_404(SimAccount, id=account_id)
    try:
        data = json.loads(request.body)
    except ValueError:
        return _bad("The body must be JSON.")
    if not isinstance(data, dict):
        return _bad("Send {customer, message_id, label}.")
    customer = account.customers.filter(key=str(data.get("customer", ""))).first()
    if customer is None:
        return _bad("Unknown customer: write a message first.", 404)
    try:
        message = services.customer_presses(
            account=account,
            customer=customer,
            message_id=int(data.get("message_id") or 0),
            label=str(data.get("label")),
        )
    except ValueError as exc:
        return _bad(str(exc))
    return JsonResponse({"message": message_json(message)}, status=201)


@require_POST
def block(request, account_id: int):
    """The customer blocks or unblocks the bot."""
    account = get_object_or_404(SimAccount, id=account_id)
    try:
        data = json.loads(request.body)
    except ValueError:
        return _bad("The body must be JSON.")
    if not isinstance(data, dict) or not isinstance(data.get("blocked"), bool):
        return _bad("Send {customer, blocked: true|false}.")
    customer = account.customers.filter(key=str(data.get("customer", ""))).first()
    if customer is None:
        return _bad("Unknown customer: write a message first.", 404)
    sent = services.customer_blocks(account=account, customer=customer, blocked=data["blocked"])
    return JsonResponse(
        {
            "blocked": customer.blocked,
            "delivery": None if sent is None else {"kind": sent.kind, "status": sent.status},
        }
    )


def _int_param(request, name: str) -> int:
    try:
        return max(int(request.GET.get(name, 0)), 0)
    except ValueError:
        return 0


def _watched_ids(request) -> list[int]:
    ids = []
    for part in request.GET.get("watch", "").split(",")[:100]:
        if part.strip().isdigit():
            ids.append(int(part))
    return ids


@require_GET
def messages(request, account_id: int):
    """The chat of one customer after message id `after`; polling it also marks the bot's
    messages seen (receipts) and retries due webhook deliveries. `watch` (ids, comma-separated)
    asks for the current fate of customer messages shown earlier whose delivery is not final."""
    account = get_object_or_404(SimAccount, id=account_id)
    key = request.GET.get("customer", "")
    customer = account.customers.filter(key=key).first()
    if customer is None:
        return JsonResponse({"messages": [], "customer": None})
    customer.refresh_from_db()
    rows = list(customer.messages.filter(id__gt=_int_param(request, "after"), dropped=False).order_by("id")[:200])
    if any(m.direction == SimMessage.Direction.OUT for m in rows):
        services.customer_sees(account=account, customer=customer)
    delivery.deliver_due(account=account, limit=20)
    watched = list(customer.messages.filter(id__in=_watched_ids(request), direction=SimMessage.Direction.IN))
    fates = services.message_fates(account=account, messages=rows + watched)
    return JsonResponse(
        {
            "messages": [message_json(m, fates.get(m.id)) for m in rows],
            "fates": {str(m.id): fates[m.id] for m in watched},
            "customer": {
                "key": customer.key,
                "name": customer.name,
                "external_id": customer.external_id,
                "blocked": customer.blocked,
            },
        }
    )


@require_GET
def log(request, account_id: int):
    """What went over the wire for this account: API calls received and webhooks delivered."""
    account = get_object_or_404(SimAccount, id=account_id)
    after_request, after_delivery = _int_param(request, "after_request"), _int_param(request, "after_delivery")
    requests_ = SimRequest.objects.filter(account=account, id__gt=after_request).order_by("-id")[:50]
    deliveries = SimDelivery.objects.filter(account=account, id__gt=after_delivery).order_by("-id")[:50]
    return JsonResponse(
        {
            "requests": [
                {
                    "id": r.id,
                    "at": r.created_at.isoformat(),
                    "method": r.method,
                    "path": r.path,
                    "headers": r.headers,
                    "body": r.body,
                    "status_code": r.status_code,
                    "response": r.response,
                }
                for r in reversed(requests_)
            ],
            "deliveries": [
                {
                    "id": d.id,
                    "at": d.created_at.isoformat(),
                    "kind": d.kind,
                    "method": d.method,
                    "url": d.url,
                    "event_id": d.event_id,
                    "body": d.body,
                    "headers": delivery_headers_masked(d.headers),
                    "status": d.status,
                    "attempts": d.attempts,
                    "last_status_code": d.last_status_code,
                }
                for d in reversed(deliveries)
            ],
        }
    )


def delivery_headers_masked(headers: dict) -> dict:
    """Signatures are not secrets, but the Telegram secret token and Vonage JWT are shown masked."""
    masked = {}
    for name, value in headers.items():
        if name.lower() in ("x-telegram-bot-api-secret-token", "authorization"):
            value = value[:10] + "…[redacted]"
        masked[name] = value
    return masked
