"""Fake LINE Messaging API: {base}/v2/bot/info, webhook endpoint + test, message push, profile."""

import datetime as dt
import uuid

from django.db import IntegrityError, transaction

from simulator import delivery, media, payloads, services
from simulator.api.common import BadJson, fake_api, json_response, request_params
from simulator.models import Platform, SimAccount, SimCustomer, SimRetryKey

TEXT_LIMIT = 5000  # UTF-16 code units
_NO_AUTH = "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'"


def _answer(data, status: int = 200, request_id: str = "", **headers):
    return json_response(data, status=status, headers={"X-Line-Request-Id": request_id or str(uuid.uuid4()), **headers})


def _invalid(message: str, prop: str):
    return _answer(
        {"message": "The request body has 1 error(s)", "details": [{"message": message, "property": prop}]}, 400
    )


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@fake_api(Platform.LINE)
def bot_api(request, path: str):
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return _answer({"message": _NO_AUTH}, 401)
    account = SimAccount.objects.filter(platform=Platform.LINE, token=auth[7:].strip()).first()
    if account is None:
        return _answer(
            {"message": "Authentication failed. Confirm that the access token in the authorization header is valid."},
            401,
        )
    request.sim_account = account
    try:
        params = request_params(request) if request.method in ("POST", "PUT") else {}
    except BadJson:
        return _answer({"message": "The request body could not be parsed as JSON"}, 400)
    route = (request.method, path.rstrip("/"))
    if route == ("GET", "info"):
        return _answer(
            {
                "userId": account.platform_id,
                "basicId": account.username,
                "displayName": account.name,
                "pictureUrl": "",
                "chatMode": "chat",
                "markAsReadMode": "manual",
            }
        )
    if route == ("PUT", "channel/webhook/endpoint"):
        return _set_endpoint(account, params)
    if route == ("GET", "channel/webhook/endpoint"):
        return _answer({"endpoint": account.webhook_url, "active": account.webhook_active})
    if route == ("POST", "channel/webhook/test"):
        return _test_endpoint(account, params)
    if route == ("POST", "message/push"):
        return _push(request, account, params)
    if request.method == "GET" and path.startswith("message/") and path.endswith("/content"):
        return _content(account, path.removeprefix("message/").removesuffix("/content"))
    if request.method == "GET" and path.startswith("profile/"):
        return _profile(account, path.removeprefix("profile/"))
    return _answer({"message": "Not found"}, 404)


def _set_endpoint(account: SimAccount, params: dict):
    endpoint = str(params.get("endpoint") or "")
    if not endpoint.startswith(("https://", "http://")) or len(endpoint) > 500:
        return _invalid("must be a valid HTTPS URL", "endpoint")
    account.webhook_url = endpoint
    account.save(update_fields=["webhook_url"])
    return _answer({})


def _test_endpoint(account: SimAccount, params: dict):
    """LINE's "Verify": a signed body with no events, POSTed to the endpoint right now."""
    endpoint = str(params.get("endpoint") or account.webhook_url)
    if not endpoint:
        return _answer({"message": "The webhook endpoint is not set"}, 400)
    row = delivery.create_delivery(
        account=account, url=endpoint, payload={"destination": account.platform_id, "events": []}, kind="test"
    )
    done = delivery.attempt(row.id)
    code = done.last_status_code if done else None
    ok = code is not None and 200 <= code < 300
    if done and not ok and done.status == "pending":  # a probe is not retried
        done.status, done.next_attempt_at = "failed", None
        done.save(update_fields=["status", "next_attempt_at"])
    timestamp = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return _answer(
        {
            "success": ok,
            "timestamp": timestamp,
            "statusCode": code or 0,
            "reason": "OK" if ok else ("ERROR_STATUS_CODE" if code else "COULD_NOT_CONNECT"),
            "detail": str(code) if code else (done.last_response if done else ""),
        }
    )


def _shown(message: dict) -> dict:
    """What the LINE app shows of one message: its text, quick reply buttons or a map pin."""
    if message.get("type") == "location":
        place = {k: message[k] for k in ("title", "address", "latitude", "longitude")}
        return {"text": f"📍 {message['title']}, {message['address']}", "markup": {"location": place}}
    items = (message.get("quickReply") or {}).get("items") or []
    actions = [item.get("action") or {} for item in items]
    buttons = [[{"label": a.get("label") or a.get("text"), "payload": a.get("data")} for a in actions]]
    return {"text": message["text"], "markup": {"buttons": buttons} if actions else {}}


def _push(request, account: SimAccount, params: dict):
    retry_key = request.headers.get("X-Line-Retry-Key", "")
    if retry_key:
        try:
            uuid.UUID(retry_key)
        except ValueError:
            return _answer({"message": "The value for the 'X-Line-Retry-Key' header is invalid"}, 400)
        seen = SimRetryKey.objects.filter(account=account, key=retry_key.lower()).first()
        if seen is not None:
            return _conflict(seen)
    to, messages = str(params.get("to") or ""), params.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return _invalid("Size must be between 1 and 5", "messages")
    for i, message in enumerate(messages):
        if isinstance(message, dict) and message.get("type") == "location":
            if not all(message.get(k) not in (None, "") for k in ("title", "address", "latitude", "longitude")):
                return _invalid("May not be empty", f"messages[{i}]")
            continue
        if isinstance(message, dict) and message.get("type") == "image":
            for key in ("originalContentUrl", "previewImageUrl"):
                url = message.get(key)
                if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 2000:
                    return _invalid("Must be a valid HTTPS URL", f"messages[{i}].{key}")
            continue
        if not isinstance(message, dict) or message.get("type") != "text":
            return _invalid("Must be one of the following values: [text, image, location]", f"messages[{i}].type")
        items = ((message.get("quickReply") or {}).get("items")) or []
        if len(items) > 13 or any(len(str(((i_ or {}).get("action") or {}).get("label") or "")) > 20 for i_ in items):
            return _invalid("Size must be between 0 and 13", f"messages[{i}].quickReply.items")
        text = message.get("text")
        if not isinstance(text, str) or not text:
            return _invalid("May not be empty", f"messages[{i}].text")
        if utf16_length(text) > TEXT_LIMIT:
            return _invalid(f"Length must be between 0 and {TEXT_LIMIT}", f"messages[{i}].text")
    customer = SimCustomer.objects.filter(account=account, external_id=to).first()
    if customer is None:
        return _answer({"message": "The property, 'to', in the request body is invalid (line: -, column: -)"}, 400)
    refusal = services.send_refusal(account, customer)
    if refusal == "server_error":
        return _answer({"message": "Internal server error"}, 500)
    if refusal == "rate_limited":
        return _answer({"message": "Too Many Requests"}, 429)
    if refusal == "blocked":
        return _answer({"message": "Failed to send messages"}, 400)
    request_id = str(uuid.uuid4())
    try:
        with transaction.atomic():
            if retry_key:
                key_row = SimRetryKey.objects.create(account=account, key=retry_key.lower(), request_id=request_id)
            sent = [_deliver(account, customer, message) for message in messages]
            sent_messages = [{"id": s.platform_message_id, "quoteToken": payloads.ulid()} for s in sent]
            if retry_key:
                key_row.sent_messages = sent_messages
                key_row.save(update_fields=["sent_messages"])
    except IntegrityError:  # the same key raced in from a concurrent request
        return _conflict(SimRetryKey.objects.get(account=account, key=retry_key.lower()))
    return _answer({"sentMessages": sent_messages}, request_id=request_id)


IMAGE_LIMIT = 10 * 1024 * 1024


def _deliver(account: SimAccount, customer: SimCustomer, message: dict):
    if message["type"] != "image":
        return services.bot_sends(account=account, customer=customer, **_shown(message))
    try:  # the customer's LINE app loads the picture from the URL
        return services.bot_sends_media(
            account=account, customer=customer, kind="image", url=message["originalContentUrl"], max_bytes=IMAGE_LIMIT
        )
    except media.FetchFailed as exc:  # the app shows a broken picture; the push itself succeeded
        return services.bot_sends(account=account, customer=customer, text=f"[picture could not be loaded: {exc}]")


def _content(account: SimAccount, message_id: str):
    """GET message/{id}/content (api-data.line.me): the bytes, 404 once LINE dropped them."""
    message = media.message_of_account(account, platform_message_id=message_id)
    if message is None or not message.media or media.expired(message):
        return _answer({"message": "Not found"}, 404)
    return media.serve(message)


def _conflict(seen: SimRetryKey):
    return _answer(
        {"message": "The retry key is already accepted", "sentMessages": seen.sent_messages},
        409,
        **{"X-Line-Accepted-Request-Id": seen.request_id},
    )


def _profile(account: SimAccount, user_id: str):
    customer = SimCustomer.objects.filter(account=account, external_id=user_id).first()
    if customer is None:
        return _answer({"message": "Not found"}, 404)
    return _answer(
        {"displayName": customer.name, "userId": user_id, "language": "en", "pictureUrl": "", "statusMessage": ""}
    )
