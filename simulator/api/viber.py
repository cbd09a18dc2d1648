"""Fake Viber REST bot API: {base}/set_webhook, /get_account_info, /send_message.

Failures are HTTP 200 with a non-zero `status`, as on Viber."""

import json

from simulator import delivery, media, payloads, services
from simulator.api.common import BadJson, fake_api, json_response
from simulator.models import Platform, SimAccount, SimCustomer, SimDelivery

TEXT_LIMIT = 7000
DEFAULT_EVENT_TYPES = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]
STATUS_MESSAGES = {
    0: "ok",
    1: "invalidUrl",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "receiverNotSubscribed",
    10: "webhookNotSet",
    12: "tooManyRequests",
}


def _status(code: int, message: str = "", **extra):
    return json_response({"status": code, "status_message": message or STATUS_MESSAGES[code], **extra})


@fake_api(Platform.VIBER)
def pa_api(request, method: str):
    try:
        params = _params(request)
    except BadJson:
        return _status(3)
    token = request.headers.get("X-Viber-Auth-Token") or str(params.get("auth_token") or "")
    if not token:
        return _status(2, "missing_auth_token")
    account = SimAccount.objects.filter(platform=Platform.VIBER, token=token).first()
    if account is None:
        return _status(2)
    request.sim_account = account
    if method == "get_account_info":
        return _account_info(account)
    if request.method != "POST":
        return _status(3)
    if method == "set_webhook":
        return _set_webhook(account, params)
    if method == "send_message":
        return _send(account, params)
    return _status(3, "badData", details=f"unknown method {method}")


def _params(request) -> dict:
    """Viber reads the body as JSON whatever its Content-Type says (viberbot sends none)."""
    params = dict(request.GET.items())
    if request.body:
        try:
            data = json.loads(request.body)
        except ValueError:
            raise BadJson() from None
        if not isinstance(data, dict):
            raise BadJson()
        params.update(data)
    return params


def _account_info(account: SimAccount):
    return _status(
        0,
        id=account.platform_id,
        name=account.name,
        uri=account.username,
        icon="",
        background="",
        category="Business",
        subcategory="Customer service",
        location={"lon": 0.0, "lat": 0.0},
        country="GB",
        webhook=account.webhook_url,
        event_types=account.webhook_events if account.webhook_url else [],
        subscribers_count=account.customers.count(),
        members=[],
    )


def _set_webhook(account: SimAccount, params: dict):
    url = params.get("url")
    if url is None:
        return _status(4)
    url = str(url)
    if url == "":  # removes the webhook; the answer still lists event_types (viberbot reads them)
        account.webhook_url = ""
        account.save(update_fields=["webhook_url"])
        return _status(0, event_types=account.webhook_events or DEFAULT_EVENT_TYPES)
    if not url.startswith(("https://", "http://")):
        return _status(1)
    events = params.get("event_types")
    events = [str(e) for e in events] if isinstance(events, list) else DEFAULT_EVENT_TYPES
    # Viber calls the URL with a signed `webhook` event during the call and needs a 200.
    probe = delivery.create_delivery(account=account, url=url, payload=payloads.viber_webhook_event(), kind="webhook")
    done = delivery.attempt(probe.id)
    if done is None or done.last_status_code != 200:
        SimDelivery.objects.filter(id=probe.id).update(status=SimDelivery.Status.FAILED, next_attempt_at=None)
        return _status(1)
    account.webhook_url, account.webhook_events = url, events
    account.save(update_fields=["webhook_url", "webhook_events"])
    return _status(0, event_types=events)


def _send(account: SimAccount, params: dict):
    receiver, kind, text = params.get("receiver"), params.get("type"), params.get("text")
    sender = params.get("sender")
    if not receiver or not kind or not isinstance(sender, dict) or not sender.get("name"):
        return _status(4)
    if kind in MEDIA_TYPES:
        return _send_media(account, params, kind)
    if kind == "location":
        place = params.get("location") or {}
        if not isinstance(place, dict) or "lat" not in place or "lon" not in place:
            return _status(3)
        text = f"📍 {place['lat']}, {place['lon']}"
    elif kind != "text" or not isinstance(text, str) or not text:
        return _status(3)
    if len(text) > TEXT_LIMIT or len(str(sender["name"])) > 28:
        return _status(3)
    if not account.webhook_url:
        return _status(10)
    customer = SimCustomer.objects.filter(account=account, external_id=str(receiver)).first()
    if customer is None:
        return _status(5)
    refusal = services.send_refusal(account, customer)
    if refusal == "server_error":
        return json_response({"error": "Internal Server Error"}, status=500)
    if refusal == "rate_limited":
        return _status(12)
    if refusal == "blocked":
        return _status(6)
    markup = {"location": params["location"]} if kind == "location" else {}
    keys = (params.get("keyboard") or {}).get("Buttons") or [] if isinstance(params.get("keyboard"), dict) else []
    if keys:  # the customer's app lays the buttons on a 6-column grid
        rows, width = [[]], 0
        for key in keys:
            columns = int(key.get("Columns") or 6)
            if width + columns > 6:
                rows.append([])
                width = 0
            rows[-1].append({"label": str(key.get("Text") or key.get("ActionBody")), "payload": None})
            width += columns
        markup["buttons"] = rows
    sent = services.bot_sends(account=account, customer=customer, text=text, markup=markup)
    return _status(0, message_token=int(sent.platform_message_id), chat_hostname="SN-CHAT-05_", billing_status=1)


MB = 1024 * 1024
# type -> (our kind, the most Viber takes): picture 1 MB (JPEG, PNG, GIF), video 26 MB, file 50 MB.
MEDIA_TYPES = {"picture": ("image", 1 * MB), "video": ("video", 26 * MB), "file": ("file", 50 * MB)}


def _send_media(account: SimAccount, params: dict, kind: str):
    media_url, receiver = params.get("media"), str(params.get("receiver"))
    our_kind, limit = MEDIA_TYPES[kind]
    if not isinstance(media_url, str) or not media_url:
        return _status(4)
    if kind == "picture" and len(str(params.get("text") or "")) > 120:
        return _status(3, "badData", details="text of a picture is at most 120 characters")
    if kind == "file" and not params.get("file_name"):
        return _status(4)
    if not account.webhook_url:
        return _status(10)
    customer = SimCustomer.objects.filter(account=account, external_id=receiver).first()
    if customer is None:
        return _status(5)
    refusal = services.send_refusal(account, customer)
    if refusal == "blocked":
        return _status(6)
    if refusal:
        return json_response({"error": "Internal Server Error"}, status=500)
    try:
        sent = services.bot_sends_media(
            account=account,
            customer=customer,
            kind=our_kind,
            caption=str(params.get("text") or ""),
            url=media_url,
            max_bytes=limit,
            name=str(params.get("file_name") or ""),
        )
    except media.FetchFailed as exc:  # Viber checks the file's size against `size` and its limit
        return _status(3, "badData", details=str(exc))
    return _status(0, message_token=int(sent.platform_message_id), chat_hostname="SN-CHAT-05_", billing_status=1)
