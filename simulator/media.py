"""Media on the fake platforms: what customers send (stored here, served the way each platform
serves it) and what bots send (uploaded, or fetched from the URL the bot names).

How each fake serves a customer's file to the bot:
- Telegram: `getFile` gives a `file_path`; `GET {base}/file/bot<token>/<file_path>` the bytes.
- LINE: `GET {base}/v2/bot/message/<message id>/content`.
- Facebook, Viber, Vonage: a CDN URL in the webhook body (`/simulator/cdn/<signed>/<name>`).
Every way stops working `media_ttl` seconds after the customer sent the file (403 on the
CDN, 404 on LINE's content endpoint and Telegram's file path): the platforms keep media for a
limited time and their CDN links expire.

A bot's file named by URL is fetched while the send call is answered (as Meta does; LINE,
Viber and Vonage fetch it for the customer's device), only from this server's own address.
"""

from __future__ import annotations

import mimetypes
import tempfile
import time

import requests
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.http import FileResponse, HttpResponse
from django.utils import timezone
from django.utils.text import get_valid_filename

from simulator.models import SimAccount, SimMessage

CDN_SALT = "simulator.cdn"
CHUNK = 64 * 1024
MB = 1024 * 1024


class FetchFailed(Exception):
    """The bot's URL could not be fetched; the text is the platform's kind of words."""


def expires_at(message: SimMessage) -> float:
    return message.created_at.timestamp() + message.account.media_ttl


def expired(message: SimMessage) -> bool:
    return time.time() >= expires_at(message)


def safe_name(name: str) -> str:
    return (get_valid_filename(name.rsplit("/", 1)[-1]) or "file")[:100]


def content_type_of(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def store_upload(message: SimMessage, upload, *, name: str = "") -> None:
    """Keep a file the customer (or a bot, by multipart upload) sent, with its metadata."""
    name = safe_name(name or upload.name or "file")
    message.media.save(name, upload, save=False)
    message.attachment = {
        **message.attachment,
        "name": name,
        "size": upload.size,
        "content_type": getattr(upload, "content_type", "") or content_type_of(name),
    }
    message.save()


def cdn_url(message: SimMessage) -> str:
    """The platform's expiring CDN link to a customer's file."""
    token = signing.dumps({"m": message.pk, "e": expires_at(message)}, salt=CDN_SALT, compress=True)
    name = safe_name(message.attachment.get("name", "file"))
    return f"{settings.PUBLIC_BASE_URL}/simulator/cdn/{token}/{name}"


def cdn(request, token: str, name: str) -> HttpResponse:
    """GET a CDN link: the file, or 403 once the link's signature has expired."""
    try:
        data = signing.loads(token, salt=CDN_SALT)
    except signing.BadSignature:
        return HttpResponse("Bad URL hash", status=403, content_type="text/plain")
    if time.time() >= float(data.get("e", 0)):
        return HttpResponse("URL signature expired", status=403, content_type="text/plain")
    message = SimMessage.objects.filter(pk=data.get("m")).first()
    if message is None or not message.media:
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    return serve(message)


def serve(message: SimMessage) -> FileResponse:
    response = FileResponse(
        message.media.open("rb"), content_type=message.attachment.get("content_type") or "application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def fetch_into(message: SimMessage, url: str, *, max_bytes: int, name: str = "") -> None:
    """Fetch the bot's URL (streamed) into the message's file; FetchFailed with the reason."""
    own = settings.PUBLIC_BASE_URL.rstrip("/") + "/"
    if not url.startswith(own):  # the simulator reaches no other host (it has no internet)
        raise FetchFailed(f"the simulator fetches only URLs on {own}")
    try:
        response = requests.get(url, stream=True, timeout=(5, 30))
    except requests.RequestException as exc:
        raise FetchFailed(f"could not connect ({type(exc).__name__})") from None
    with response, tempfile.TemporaryFile() as spool:
        if response.status_code != 200:
            raise FetchFailed(f"the URL answered HTTP {response.status_code}")
        size = 0
        for chunk in response.iter_content(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise FetchFailed(f"the file is larger than {max_bytes // MB} MB")
            spool.write(chunk)
        spool.seek(0)
        name = safe_name(name or _name_from(response, url))
        content_type = response.headers.get("Content-Type", "").split(";")[0] or content_type_of(name)
        message.media.save(name, File(spool, name=name), save=False)
    message.attachment = {**message.attachment, "name": name, "size": size, "content_type": content_type}
    message.save()


def _name_from(response: requests.Response, url: str) -> str:
    disposition = response.headers.get("Content-Disposition", "")
    if "filename=" in disposition:
        return disposition.split("filename=", 1)[1].strip('"; ')
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


def message_of_account(account: SimAccount, **lookup) -> SimMessage | None:
    return SimMessage.objects.filter(account=account, direction=SimMessage.Direction.IN, **lookup).first()
