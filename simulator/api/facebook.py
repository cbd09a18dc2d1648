"""Fake Facebook Graph API (Messenger Platform): {base}/me, /me/messages, /{page}/subscribed_apps,
/{app}/subscriptions, /debug_token and /{psid} profiles; performs the hub.challenge handshake."""

import json
import secrets

from simulator import delivery, media, services
from simulator.api.common import BadJson, fake_api, json_response, request_params
from simulator.models import Platform, SimAccount, SimCustomer

TEXT_LIMIT = 2000
DEFAULT_FIELDS = ["messages", "messaging_postbacks", "message_deliveries", "message_reads"]


def _error(message: str, code: int, status: int = 400, subcode: int | None = None, **extra):
    error = {"message": message, "type": "OAuthException", "code": code}
    if subcode:
        error["error_subcode"] = subcode
    error.update(extra)
    error["fbtrace_id"] = secrets.token_urlsafe(8)
    return json_response({"error": error}, status=status)


def _invalid_token():
    return _error("Invalid OAuth access token - Cannot parse access token", 190)


@fake_api(Platform.FACEBOOK)
def graph(request, version: str, path: str):
    try:
        params = _json_values(request_params(request))
    except BadJson:
        return _error("(#100) Invalid JSON body", 100)
    token = str(params.get("access_token") or "")
    if not token:
        return _error("An active access token must be used to query information about the current user.", 2500)
    parts = [p for p in path.split("/") if p]
    if parts == ["debug_token"]:
        return _debug_token(request, token, params)
    if len(parts) == 2 and parts[1] == "subscriptions":
        return _app_subscriptions(request, parts[0], token, params)
    page = SimAccount.objects.filter(platform=Platform.FACEBOOK, token=token).first()
    if page is None:
        return _invalid_token()
    request.sim_account = page
    node = page.platform_id if parts and parts[0] == "me" else (parts[0] if parts else "")
    if len(parts) == 1 and request.method == "GET":
        if node == page.platform_id:
            return json_response({"name": page.name, "id": page.platform_id})
        return _profile(page, node)
    if node != page.platform_id:
        return _error(f"(#200) The page access token does not match the page {node}", 200, status=403)
    if parts[1:] == ["messages"] and request.method == "POST":
        return _send(page, params)
    if parts[1:] == ["subscribed_apps"]:
        return _subscribed_apps(request, page, params)
    return _error(f"Unsupported {request.method.lower()} request.", 100, subcode=33)


def _json_values(params: dict) -> dict:
    """The Graph API reads a query or form parameter whose value is a JSON object or array as
    that object (`recipient={"id":"..."}`, `subscribed_fields=["messages"]`): that is how
    facebook-business and most HTTP clients without a JSON body send them."""
    decoded = dict(params)
    for key, value in params.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                decoded[key] = json.loads(value)
            except ValueError:
                pass  # an ordinary string that happens to start with a bracket
    return decoded


def _profile(page: SimAccount, psid: str):
    customer = SimCustomer.objects.filter(account=page, external_id=psid).first()
    if customer is None:
        return _error(
            f"Unsupported get request. Object with ID '{psid}' does not exist, cannot be loaded due to missing "
            "permissions, or does not support this operation.",
            100,
            subcode=33,
        )
    return json_response(
        {"first_name": customer.first_name, "last_name": customer.last_name, "profile_pic": "", "id": psid}
    )


def _send(page: SimAccount, params: dict):
    recipient = params.get("recipient") or {}
    message = params.get("message") or {}
    psid = str(recipient.get("id", "")) if isinstance(recipient, dict) else ""
    if not psid:
        return _error("(#100) The parameter recipient is required", 100)
    text = message.get("text") if isinstance(message, dict) else None
    attachment = message.get("attachment") if isinstance(message, dict) else None
    if isinstance(attachment, dict):
        return _send_attachment(page, psid, attachment)
    if not text:
        return _error("(#100) param message must be non-empty.", 100)
    if len(text) > TEXT_LIMIT:
        return _error(f"(#100) Length of param message[text] must be less than or equal to {TEXT_LIMIT}", 100)
    customer = SimCustomer.objects.filter(account=page, external_id=psid).first()
    if customer is None:
        return _error("(#100) No matching user found", 100, subcode=2018001)
    refusal = services.send_refusal(page, customer)
    if refusal == "server_error":
        return _error(
            "An unexpected error has occurred. Please retry your request later.", 2, status=500, is_transient=True
        )
    if refusal == "rate_limited":
        return _error("(#613) Calls to this api have exceeded the rate limit.", 613)
    if refusal == "blocked":
        return _error("(#551) This person isn't available right now.", 551, subcode=1545041)
    replies = message.get("quick_replies") or []
    if not isinstance(replies, list) or len(replies) > 13:
        return _error("(#100) param message[quick_replies] must have at most 13 elements", 100)
    if any(not isinstance(r, dict) or not r.get("title") or len(str(r["title"])) > 20 for r in replies):
        return _error("(#100) Quick reply titles must be 1-20 characters", 100)
    buttons = [[{"label": str(r["title"]), "payload": str(r.get("payload") or "")} for r in replies]] if replies else []
    markup = {"buttons": buttons} if buttons else {}
    sent = services.bot_sends(account=page, customer=customer, text=text, markup=markup)
    return json_response({"recipient_id": psid, "message_id": sent.platform_message_id})


ATTACHMENT_LIMIT = 25 * 1024 * 1024
ATTACHMENT_TYPES = {"image": "image", "video": "video", "audio": "audio", "file": "file"}


def _send_attachment(page: SimAccount, psid: str, attachment: dict):
    """An attachment by URL: Meta fetches it while answering, and fails the call if it cannot."""
    kind = ATTACHMENT_TYPES.get(str(attachment.get("type")))
    payload = attachment.get("payload") if isinstance(attachment.get("payload"), dict) else {}
    url = str(payload.get("url") or "")
    if kind is None or not url:
        return _error("(#100) Invalid attachment: type and payload.url are required", 100)
    customer = SimCustomer.objects.filter(account=page, external_id=psid).first()
    if customer is None:
        return _error("(#100) No matching user found", 100, subcode=2018001)
    refusal = services.send_refusal(page, customer)
    if refusal == "blocked":
        return _error("(#551) This person isn't available right now.", 551, subcode=1545041)
    if refusal:
        return _error("An unexpected error has occurred. Please retry your request later.", 2, status=500)
    try:
        sent = services.bot_sends_media(account=page, customer=customer, kind=kind, url=url, max_bytes=ATTACHMENT_LIMIT)
    except media.FetchFailed as exc:
        return _error(f"(#100) Failed to fetch the file from the url ({exc})", 100, subcode=2018008)
    return json_response({"recipient_id": psid, "message_id": sent.platform_message_id, "attachment_id": str(sent.pk)})


def _fields(value) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [f.strip() for f in str(value or "").split(",") if f.strip()]


def _subscribed_apps(request, page: SimAccount, params: dict):
    if request.method == "GET":
        data = []
        if page.webhook_active and page.webhook_events:
            data = [
                {"id": page.app_id, "name": f"{page.name} contact center", "subscribed_fields": page.webhook_events}
            ]
        return json_response({"data": data})
    if request.method == "DELETE":
        page.webhook_active = False
        page.save(update_fields=["webhook_active"])
        return json_response({"success": True})
    fields = _fields(params.get("subscribed_fields"))
    if not fields:
        return _error("(#100) The parameter subscribed_fields is required", 100)
    if page.webhook_url:  # the app's callback is verified before the page starts delivering
        ok, reason = delivery.verify_facebook_callback(
            account=page, url=page.webhook_url, verify_token=page.webhook_secret
        )
        if not ok:
            return _error(f"(#2200) Callback verification failed with the following errors: {reason}", 2200)
    page.webhook_active, page.webhook_events = True, fields
    page.save(update_fields=["webhook_active", "webhook_events"])
    return json_response({"success": True})


def _app_pages(app_id: str, token: str):
    """The pages of the app whose app token (`{app-id}|{app-secret}`) is `token`."""
    app, _, secret = token.partition("|")
    if app != app_id or not secret:
        return SimAccount.objects.none()
    return SimAccount.objects.filter(platform=Platform.FACEBOOK, app_id=app_id, secret=secret)


def _app_subscriptions(request, app_id: str, token: str, params: dict):
    pages = list(_app_pages(app_id, token))
    if not pages:
        return _invalid_token()
    request.sim_account = pages[0]
    if request.method == "GET":
        first = pages[0]
        data = []
        if first.webhook_url:
            fields = [{"name": f, "version": "v19.0"} for f in (first.webhook_events or DEFAULT_FIELDS)]
            data = [{"object": "page", "callback_url": first.webhook_url, "active": True, "fields": fields}]
        return json_response({"data": data})
    if str(params.get("object", "")) != "page":
        return _error("(#100) Param object must be one of {page, user, permissions, ...}", 100)
    callback, verify_token = str(params.get("callback_url") or ""), str(params.get("verify_token") or "")
    if not callback.startswith(("http://", "https://")):
        return _error("(#100) Param callback_url must be a valid URL", 100)
    ok, reason = delivery.verify_facebook_callback(account=pages[0], url=callback, verify_token=verify_token)
    if not ok:
        return _error(f"(#2200) Callback verification failed with the following errors: {reason}", 2200)
    SimAccount.objects.filter(id__in=[p.id for p in pages]).update(webhook_url=callback, webhook_secret=verify_token)
    return json_response({"success": True})


def _debug_token(request, token: str, params: dict):
    app_id = token.partition("|")[0]
    if not _app_pages(app_id, token).exists():
        return _invalid_token()
    input_token = str(params.get("input_token") or "")
    page = SimAccount.objects.filter(platform=Platform.FACEBOOK, app_id=app_id, token=input_token).first()
    request.sim_account = page
    if page is None:
        return json_response(
            {"data": {"is_valid": False, "error": {"code": 190, "message": "Invalid OAuth access token."}}}
        )
    return json_response(
        {
            "data": {
                "app_id": app_id,
                "type": "PAGE",
                "application": f"{page.name} contact center",
                "expires_at": 0,
                "is_valid": True,
                "profile_id": page.platform_id,
                "scopes": ["pages_messaging", "pages_manage_metadata", "pages_show_list"],
                "user_id": page.platform_id,
            }
        }
    )
