"""Play a customer of a fake platform account over real HTTP (tests, scripts).

    from simulator.client import send_text, replies, wait_for_replies
    send_text(live_daphne.url, account, "ana", "Hello")          # -> the stored message as JSON
    wait_for_replies(live_daphne.url, account, "ana", count=1)    # -> ["Welcome ..."]

`account` is a SimAccount or its id; `customer` is a key (1-64 of A-Z a-z 0-9 _ -): the same
key is the same person, as one chat page tab.
"""

import time

import requests

_sessions: dict[str, requests.Session] = {}


def _session(base_url: str) -> requests.Session:
    """A session holding the CSRF cookie of the chat page (the JSON endpoints are CSRF-protected)."""
    base_url = base_url.rstrip("/")
    session = _sessions.get(base_url)
    if session is None:
        session = requests.Session()
        session.get(f"{base_url}/simulator/", timeout=10).raise_for_status()
        _sessions[base_url] = session
    return session


def _account_id(account) -> int:
    return int(getattr(account, "id", account))


def send_text(base_url: str, account, customer: str, text: str, *, name: str = "") -> dict:
    """The customer writes `text`; returns {"message", "customer", "delivery"} (raises on 4xx/5xx)."""
    base_url = base_url.rstrip("/")
    session = _session(base_url)
    response = session.post(
        f"{base_url}/simulator/chat/{_account_id(account)}/send",
        json={"customer": customer, "name": name, "text": text},
        headers={"X-CSRFToken": session.cookies.get("csrftoken", ""), "Referer": f"{base_url}/simulator/"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def chat(base_url: str, account, customer: str, *, after: int = 0) -> list[dict]:
    """Every message of the customer's chat after id `after` (both directions), oldest first.

    Like the chat page's poll, this marks the bot's messages seen (delivery/read receipts)."""
    base_url = base_url.rstrip("/")
    response = _session(base_url).get(
        f"{base_url}/simulator/chat/{_account_id(account)}/messages",
        params={"customer": customer, "after": after},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["messages"]


def replies(base_url: str, account, customer: str, *, after: int = 0) -> list[str]:
    """Texts the bot/agent sent to the customer so far (after message id `after`)."""
    return [m["text"] for m in chat(base_url, account, customer, after=after) if m["direction"] == "out"]


def wait_for_replies(
    base_url: str, account, customer: str, *, count: int = 1, after: int = 0, timeout: float = 20
) -> list[str]:
    """Poll until at least `count` replies arrived; returns them (raises TimeoutError otherwise)."""
    deadline = time.monotonic() + timeout
    while True:
        texts = replies(base_url, account, customer, after=after)
        if len(texts) >= count:
            return texts
        if time.monotonic() > deadline:
            raise TimeoutError(f"{customer!r} got {len(texts)} of {count} replies: {texts!r}")
        time.sleep(0.2)


def send_media(
    base_url: str,
    account,
    customer: str,
    *,
    content: bytes = b"",
    file_name: str = "",
    content_type: str = "",
    caption: str = "",
    location: tuple[float, float] | None = None,
    name: str = "",
) -> dict:
    """The customer sends a file (`content` named `file_name`) or a `location` (lat, lon)."""
    base_url = base_url.rstrip("/")
    session = _session(base_url)
    data = {"customer": customer, "name": name, "caption": caption}
    files = None
    if location is not None:
        data.update(latitude=str(location[0]), longitude=str(location[1]))
    else:
        files = {"file": (file_name, content, content_type or "application/octet-stream")}
    response = session.post(
        f"{base_url}/simulator/chat/{_account_id(account)}/send-media",
        data=data,
        files=files,
        headers={"X-CSRFToken": session.cookies.get("csrftoken", ""), "Referer": f"{base_url}/simulator/"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()
