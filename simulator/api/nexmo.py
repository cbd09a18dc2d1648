"""Fake Vonage APIs: Messages API {base}/v1/messages, account balance, applications (webhooks).

Errors are RFC 7807 problem documents, as on Vonage."""

import base64
import re
import uuid

import jwt

from simulator import media, services
from simulator.api.common import BadJson, fake_api, json_response, request_params
from simulator.models import Platform, SimAccount, SimCustomer

_NUMBER = re.compile(r"^[1-9]\d{6,14}$")  # E.164 digits, as the Messages API takes `to`
_PSID = re.compile(r"^\d{1,32}$")  # channel messenger: a page-scoped id
TEXT_LIMITS = {"sms": 1000, "messenger": 640, "viber_service": 1000, "whatsapp": 4096, "mms": 2000}
IMAGE_LIMIT = 5 * 1024 * 1024


def _problem(status: int, title: str, detail: str, kind: str = "", **extra):
    body = {
        "type": f"https://developer.nexmo.com/api-errors{kind or '#' + title.lower().replace(' ', '-')}",
        "title": title,
        "detail": detail,
        "instance": str(uuid.uuid4()),
        **extra,
    }
    return json_response(body, status=status)


def _unauthorized():
    return _problem(401, "Unauthorized", "You did not provide correct credentials.", "#unauthorized")


def _basic_account(request) -> SimAccount | None:
    """Basic api_key:api_secret (or api_key/api_secret query parameters, as the REST API takes)."""
    auth = request.headers.get("Authorization", "")
    key, secret = request.GET.get("api_key", ""), request.GET.get("api_secret", "")
    if auth.startswith("Basic "):
        try:
            key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
    if not key or not secret:
        return None
    return SimAccount.objects.filter(platform=Platform.NEXMO, api_key=key, api_secret=secret).first()


def _jwt_account(request) -> SimAccount | None:
    """Bearer application JWT (RS256, verified with the application's public key)."""
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return None
    token = auth[7:].strip()
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    account = SimAccount.objects.filter(platform=Platform.NEXMO, app_id=str(claims.get("application_id", ""))).first()
    if account is None or not account.public_key:
        return None
    try:
        jwt.decode(token, account.public_key, algorithms=["RS256"], options={"require": ["iat", "jti"]})
    except jwt.PyJWTError:
        return None
    return account


@fake_api(Platform.NEXMO)
def balance(request):
    account = _basic_account(request)
    if account is None:
        return _unauthorized()
    request.sim_account = account
    return json_response({"value": float(account.balance), "autoReload": False})


@fake_api(Platform.NEXMO)
def messages(request):
    account = _basic_account(request) or _jwt_account(request)
    if account is None:
        return _unauthorized()
    request.sim_account = account
    if request.method != "POST":
        return _problem(405, "Method Not Allowed", "Use POST.")
    try:
        params = request_params(request)
    except BadJson:
        return _problem(400, "Bad Request", "The request body did not contain valid JSON.", "/messages-olympus#1000")
    if params.get("message_type") == "image":
        return _send_image(account, params)
    invalid = []
    channel, text = params.get("channel"), params.get("text")
    if channel not in TEXT_LIMITS:
        invalid.append({"name": "channel", "reason": f"must be one of {sorted(TEXT_LIMITS)}"})
    if params.get("message_type") != "text":
        invalid.append({"name": "message_type", "reason": "only text is supported by the simulator"})
    if not isinstance(text, str) or not text:
        invalid.append({"name": "text", "reason": "must not be empty"})
    elif channel in TEXT_LIMITS and len(text) > TEXT_LIMITS[channel]:
        invalid.append({"name": "text", "reason": f"must be at most {TEXT_LIMITS[channel]} characters"})
    if str(params.get("from", "")) != account.platform_id:
        invalid.append({"name": "from", "reason": "is not a number linked to this application"})
    to = str(params.get("to", ""))
    if not (_PSID if channel == "messenger" else _NUMBER).match(to):
        invalid.append({"name": "to", "reason": "must be a number in E.164 format without a leading +"})
    customer = SimCustomer.objects.filter(account=account, external_id=to).first()
    if invalid:
        return _problem(
            422,
            "Invalid params",
            "The value of one or more parameters is invalid.",
            "/messages-olympus#1150",
            invalid_parameters=invalid,
        )
    refusal = services.send_refusal(account, customer)
    if refusal == "server_error":
        return _problem(500, "Internal Error", "An internal error occurred.", "/messages-olympus#1000")
    if refusal == "rate_limited":
        return _problem(429, "Rate Limit Hit", "Please wait, then retry your request", "/messages-olympus#1020")
    if customer is None:  # accepted now, rejected later by a status callback
        return json_response(
            {"message_uuid": services.vonage_sends_to_unknown_number(account=account, to=to)}, status=202
        )
    sent = services.bot_sends(account=account, customer=customer, text=text)
    return json_response({"message_uuid": sent.platform_message_id}, status=202)


def _application_json(account: SimAccount) -> dict:
    webhooks = {}
    if account.webhook_url:
        webhooks["inbound_url"] = {"address": account.webhook_url, "http_method": "POST"}
    if account.status_url:
        webhooks["status_url"] = {"address": account.status_url, "http_method": "POST"}
    return {
        "id": account.app_id,
        "name": account.name,
        "capabilities": {"messages": {"version": "v1", "webhooks": webhooks}},
        "keys": {"public_key": account.public_key},
        "_links": {"self": {"href": f"/v2/applications/{account.app_id}"}},
    }


@fake_api(Platform.NEXMO)
def application(request, application_id: str):
    account = _basic_account(request)
    if account is None:
        return _unauthorized()
    request.sim_account = account
    if account.app_id != application_id:
        return _problem(404, "Not Found", f"Application {application_id} could not be found", "#not-found")
    if request.method == "GET":
        return json_response(_application_json(account))
    if request.method != "PUT":
        return _problem(405, "Method Not Allowed", "Use GET or PUT.")
    try:
        params = request_params(request)
    except BadJson:
        return _problem(400, "Bad Request", "The request body did not contain valid JSON.")
    if not params.get("name"):
        return _problem(
            400, "Bad Request", "name is required", invalid_parameters=[{"name": "name", "reason": "required"}]
        )
    messages_cap = (params.get("capabilities") or {}).get("messages") or {}
    hooks = messages_cap.get("webhooks") or {}
    account.name = str(params["name"])[:100]
    # PUT replaces the application: webhooks not sent are removed.
    account.webhook_url = str((hooks.get("inbound_url") or {}).get("address", ""))[:500]
    account.status_url = str((hooks.get("status_url") or {}).get("address", ""))[:500]
    public_key = (params.get("keys") or {}).get("public_key")
    if public_key:
        account.public_key = str(public_key)
    account.save(update_fields=["name", "webhook_url", "status_url", "public_key"])
    return json_response(_application_json(account))


def _send_image(account: SimAccount, params: dict):
    """MMS picture by URL: accepted (202), fetched by Vonage for the handset."""
    image = params.get("image") if isinstance(params.get("image"), dict) else {}
    invalid = []
    if params.get("channel") != "mms":
        invalid.append({"name": "channel", "reason": "an image goes over mms (sms carries text only)"})
    if not str(image.get("url") or "").startswith(("https://", "http://")):
        invalid.append({"name": "image.url", "reason": "must be a URL"})
    if str(params.get("from", "")) != account.platform_id:
        invalid.append({"name": "from", "reason": "is not a number linked to this application"})
    to = str(params.get("to", ""))
    customer = SimCustomer.objects.filter(account=account, external_id=to).first()
    if customer is None:
        invalid.append({"name": "to", "reason": "is not a reachable number"})
    if invalid:
        return _problem(
            422,
            "Invalid params",
            "The value of one or more parameters is invalid.",
            "/messages-olympus#1150",
            invalid_parameters=invalid,
        )
    refusal = services.send_refusal(account, customer)
    if refusal == "server_error":
        return _problem(500, "Internal Error", "An internal error occurred.", "/messages-olympus#1000")
    if refusal == "rate_limited":
        return _problem(429, "Rate Limit Hit", "Please wait, then retry your request", "/messages-olympus#1020")
    try:
        sent = services.bot_sends_media(
            account=account,
            customer=customer,
            kind="image",
            caption=str(image.get("caption") or ""),
            url=image["url"],
            max_bytes=IMAGE_LIMIT,
        )
    except media.FetchFailed as exc:
        return _problem(422, "Invalid params", f"The image could not be fetched: {exc}", "/messages-olympus#1150")
    return json_response({"message_uuid": sent.platform_message_id}, status=202)
