"""Fake Telegram Bot API: {base}/bot<token>/<method>."""

import json
import re

from django.utils import timezone

from simulator import media, services
from simulator.api.common import BadJson, fake_api, json_response, request_params
from simulator.models import Platform, SimAccount, SimCustomer, SimDelivery

TEXT_LIMIT = 4096
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _error(code: int, description: str, **parameters):
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json_response(body, status=code)


def _ok(result, description: str = ""):
    body = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return json_response(body)


@fake_api(Platform.TELEGRAM)
def bot_method(request, token: str, method: str):
    if not _TOKEN.match(token):
        return _error(404, "Not Found")
    account = SimAccount.objects.filter(platform=Platform.TELEGRAM, token=token).first()
    if account is None:
        return _error(401, "Unauthorized")
    request.sim_account = account
    handler = _METHODS.get(method.lower())
    if handler is None:
        return _error(404, "Not Found")
    try:
        params = request_params(request)
    except BadJson:
        return _error(400, "Bad Request: can't parse JSON object")
    if method.lower() in _SEND_MEDIA:
        return send_media(account, params, request.FILES, method.lower())
    return handler(account, params)


def _bot_user(account: SimAccount) -> dict:
    return {
        "id": int(account.platform_id or account.token.split(":", 1)[0]),
        "is_bot": True,
        "first_name": account.name,
        "username": account.username,
    }


def get_me(account, params):
    return _ok(
        _bot_user(account)
        | {"can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
    )


def _list_param(value):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, list) else None


def _truthy(value) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def set_webhook(account, params):
    url = str(params.get("url") or "")
    if url and not re.match(r"^https?://[^/\s]+", url):
        return _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get("secret_token")
    if secret is not None and not _SECRET.match(str(secret)):
        return _error(400, "Bad Request: secret token contains unallowed characters")
    fields = ["webhook_url", "webhook_secret"]
    already = url and url == account.webhook_url and (secret or "") == account.webhook_secret
    account.webhook_url, account.webhook_secret = url, str(secret or "")
    if "allowed_updates" in params:
        allowed = _list_param(params["allowed_updates"])
        if allowed is None:
            return _error(400, "Bad Request: can't parse allowed updates")
        account.webhook_events = allowed
        fields.append("webhook_events")
    account.save(update_fields=fields)
    if _truthy(params.get("drop_pending_updates")):
        _drop_pending(account)
    if not url:
        return _ok(True, "Webhook was deleted")
    return _ok(True, "Webhook is already set" if already else "Webhook was set")


def delete_webhook(account, params):
    had = bool(account.webhook_url)
    account.webhook_url = ""
    account.save(update_fields=["webhook_url"])
    if _truthy(params.get("drop_pending_updates")):
        _drop_pending(account)
    return _ok(True, "Webhook was deleted" if had else "Webhook is already deleted")


def _drop_pending(account):
    SimDelivery.objects.filter(account=account, status=SimDelivery.Status.PENDING).update(
        status=SimDelivery.Status.DROPPED, next_attempt_at=None
    )


def get_webhook_info(account, params):
    pending = SimDelivery.objects.filter(account=account, status=SimDelivery.Status.PENDING).count()
    info = {"url": account.webhook_url, "has_custom_certificate": False, "pending_update_count": pending}
    if account.webhook_url:
        info.update(max_connections=40, ip_address="127.0.0.1")
        if account.webhook_events:
            info["allowed_updates"] = account.webhook_events
    if account.last_error_at:
        info["last_error_date"] = int(account.last_error_at.timestamp())
        info["last_error_message"] = account.last_error_message
    return _ok(info)


def get_updates(account, params):
    if account.webhook_url:
        return _error(
            409,
            "Conflict: can't use getUpdates method while webhook is active;"
            " use deleteWebhook to delete the webhook first",
        )
    return _ok([])


def send_message(account, params):
    chat_id, text = str(params.get("chat_id") or ""), params.get("text")
    if not chat_id:
        return _error(400, "Bad Request: chat_id is empty")
    if not text or not str(text).strip():
        return _error(400, "Bad Request: message text is empty")
    text = str(text)
    if len(text) > TEXT_LIMIT:
        return _error(400, "Bad Request: message is too long")
    customer = SimCustomer.objects.filter(account=account, external_id=chat_id).first()
    if customer is None:
        return _error(400, "Bad Request: chat not found")
    refusal = services.send_refusal(account, customer)
    if refusal == "server_error":
        return _error(500, "Internal Server Error")
    if refusal == "rate_limited":
        return _error(429, "Too Many Requests: retry after 1", retry_after=1)
    if refusal == "blocked":
        return _error(403, "Forbidden: bot was blocked by the user")
    markup = _keyboard(params.get("reply_markup"))
    if markup is None:
        return _error(400, "Bad Request: can't parse reply keyboard markup JSON object")
    message = services.bot_sends(account=account, customer=customer, text=text, markup=markup)
    chat = {"id": int(customer.external_id), "first_name": customer.first_name, "type": "private"}
    if customer.last_name:
        chat["last_name"] = customer.last_name
    return _ok(
        {
            "message_id": int(message.platform_message_id),
            "from": _bot_user(account),
            "chat": chat,
            "date": int(timezone.now().timestamp()),
            "text": text,
        }
    )


def _keyboard(value) -> dict | None:
    """reply_markup as the customer's app shows it: reply keyboard or inline keyboard rows."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    rows = value.get("keyboard") or value.get("inline_keyboard")
    if value.get("remove_keyboard") or rows is None:
        return {}
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return None
    buttons = []
    for row in rows:
        keys = [key if isinstance(key, dict) else {"text": str(key)} for key in row]
        if any(not key.get("text") for key in keys):
            return None
        # An inline button answers with callback_query; the simulator sends its text instead.
        buttons.append([{"label": str(key["text"]), "payload": key.get("callback_data")} for key in keys])
    return {"buttons": buttons}


def send_location(account, params):
    """sendLocation and sendVenue: the customer sees a map pin."""
    chat_id = str(params.get("chat_id") or "")
    try:
        latitude, longitude = float(params["latitude"]), float(params["longitude"])
    except (KeyError, TypeError, ValueError):
        return _error(400, "Bad Request: wrong latitude or longitude")
    customer = SimCustomer.objects.filter(account=account, external_id=chat_id).first()
    if customer is None:
        return _error(400, "Bad Request: chat not found")
    if services.send_refusal(account, customer) == "blocked":
        return _error(403, "Forbidden: bot was blocked by the user")
    place = {"latitude": latitude, "longitude": longitude}
    title, address = str(params.get("title") or ""), str(params.get("address") or "")
    text = ", ".join(p for p in (title, address) if p) or f"{latitude}, {longitude}"
    message = services.bot_sends(account=account, customer=customer, text=f"📍 {text}", markup={"location": place})
    result = {"message_id": int(message.platform_message_id), "date": int(timezone.now().timestamp())}
    result["location"] = place
    if title:
        result["venue"] = {"location": place, "title": title, "address": address}
    return _ok(result)


# Bot API limits: photos up to 10 MB, other uploads up to 50 MB, downloads (getFile) up to 20 MB.
MB = 1024 * 1024
_SEND_MEDIA = {
    "sendphoto": ("photo", "image", 10 * MB),
    "senddocument": ("document", "file", 50 * MB),
    "sendvideo": ("video", "video", 50 * MB),
    "sendaudio": ("audio", "audio", 50 * MB),
}
DOWNLOAD_LIMIT = 20 * MB


def send_media(account, params, files, method: str):
    field, kind, limit = _SEND_MEDIA[method]
    chat_id = str(params.get("chat_id") or "")
    customer = SimCustomer.objects.filter(account=account, external_id=chat_id).first()
    if not chat_id or customer is None:
        return _error(400, "Bad Request: chat not found")
    upload, url = files.get(field), params.get(field)
    if upload is None and not url:
        return _error(400, f"Bad Request: there is no {field} in the request")
    if upload is not None and upload.size > limit:
        return _error(413, "Request Entity Too Large")
    caption = str(params.get("caption") or "")
    if len(caption) > 1024:
        return _error(400, "Bad Request: message caption is too long")
    refusal = services.send_refusal(account, customer)
    if refusal:
        return {
            "server_error": lambda: _error(500, "Internal Server Error"),
            "rate_limited": lambda: _error(429, "Too Many Requests: retry after 1", retry_after=1),
            "blocked": lambda: _error(403, "Forbidden: bot was blocked by the user"),
        }[refusal]()
    try:
        message = services.bot_sends_media(
            account=account,
            customer=customer,
            kind=kind,
            caption=caption,
            upload=upload,
            url=str(url or ""),
            max_bytes=limit,
        )
    except media.FetchFailed as exc:
        return _error(400, f"Bad Request: failed to get HTTP URL content ({exc})")
    result = {
        "message_id": int(message.platform_message_id),
        "from": _bot_user(account),
        "chat": {"id": int(customer.external_id), "type": "private"},
        "date": int(timezone.now().timestamp()),
    }
    if caption:
        result["caption"] = caption
    result[field] = {"file_id": f"sent{message.pk}", "file_size": message.attachment.get("size", 0)}
    return _ok(result)


def get_file(account, params):
    file_id = str(params.get("file_id") or "")
    message = media.message_of_account(account, attachment__file_id=file_id) if file_id else None
    if message is None or not message.media:
        return _error(400, "Bad Request: invalid file_id")
    result = {"file_id": file_id, "file_unique_id": file_id[-12:], "file_size": message.attachment.get("size", 0)}
    if message.attachment.get("size", 0) <= DOWNLOAD_LIMIT:  # bigger files get no path: not downloadable
        result["file_path"] = f"documents/{message.pk}/{media.safe_name(message.attachment.get('name', 'file'))}"
    return _ok(result)


def download(request, token: str, file_path: str):
    """GET {base}/file/bot<token>/<file_path>: the bytes (404 once the platform dropped them)."""
    account = SimAccount.objects.filter(platform=Platform.TELEGRAM, token=token).first()
    if account is None:
        return _error(401, "Unauthorized")
    parts = file_path.split("/")
    message = None
    if len(parts) == 3 and parts[1].isdigit():
        message = media.message_of_account(account, pk=int(parts[1]))
    if message is None or not message.media or media.expired(message):
        return _error(404, "Not Found")
    return media.serve(message)


_METHODS = {
    "sendlocation": send_location,
    "sendvenue": send_location,
    "getme": get_me,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "getupdates": get_updates,
    "sendmessage": send_message,
    "getfile": get_file,
    **dict.fromkeys(_SEND_MEDIA, send_media),
}
