"""What happens on the fake platforms: customers write, bots answer, receipts follow."""

import datetime as dt
import logging
import secrets
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from simulator import delivery, media, payloads
from simulator.models import DropMode, ForcedError, Platform, SimAccount, SimCustomer, SimDelivery, SimMessage

logger = logging.getLogger(__name__)

# Platforms that tell the bot its messages arrived / were read.
RECEIPT_PLATFORMS = {Platform.FACEBOOK, Platform.VIBER, Platform.NEXMO}


def get_customer(*, account: SimAccount, key: str, name: str = "") -> SimCustomer:
    """The customer a chat page tab (or test) plays on this account, created on first use."""
    customer = SimCustomer.objects.filter(account=account, key=key).first()
    if customer is None:
        customer, _ = SimCustomer.objects.get_or_create(
            account=account,
            key=key,
            defaults={"name": name or key.replace("-", " ").title(), "external_id": _unused_external_id(account)},
        )
    elif name and name != customer.name:
        customer.name = name
        customer.save(update_fields=["name"])
    return customer


def _unused_external_id(account: SimAccount) -> str:
    while True:
        external_id = payloads.customer_external_id(account.platform)
        if not SimCustomer.objects.filter(account=account, external_id=external_id).exists():
            return external_id


def _next_counters(account: SimAccount) -> tuple[int, int]:
    """Take the next Telegram update_id and message counter of the account (row-locked)."""
    locked = SimAccount.objects.select_for_update().get(id=account.id)
    if not locked.next_update_id:
        locked.next_update_id = 900_000_000 + payloads.now_ms() % 90_000_000
    update_id, counter = locked.next_update_id, locked.next_message_id
    SimAccount.objects.filter(id=account.id).update(next_update_id=update_id + 1, next_message_id=counter + 1)
    return update_id, counter


def buttons_of(message: SimMessage) -> list[dict]:
    return [button for row in (message.markup or {}).get("buttons", []) for button in row]


def customer_presses(*, account: SimAccount, customer: SimCustomer, message_id: int, label: str) -> SimMessage:
    """The customer taps a button under one of the bot's messages: the platforms send the
    label as the customer's text (Facebook adds the quick reply's payload)."""
    message = SimMessage.objects.filter(
        id=message_id, account=account, customer=customer, direction=SimMessage.Direction.OUT
    ).first()
    button = next((b for b in buttons_of(message) if b["label"] == label), None) if message else None
    if button is None:
        raise ValueError("No such button on that message.")
    return customer_says(account=account, customer=customer, text=label, quick_reply=button.get("payload"))


def customer_says(
    *, account: SimAccount, customer: SimCustomer, text: str, client_key: str = "", quick_reply: str | None = None
) -> SimMessage:
    """A customer's text: stored, then delivered as the platform's signed webhook (or echoed).

    `client_key` names one send of the chat page: a request re-sent with the same key (its answer
    was lost) returns the message already stored and delivers nothing again. `quick_reply`: the
    payload of a pressed button, where the platform sends one.
    """
    if not text.strip():
        raise ValueError("A message needs some text.")
    if client_key:
        known = SimMessage.objects.filter(customer=customer, client_key=client_key).first()
        if known is not None:
            return known
    try:
        message, pending = _store_in(
            account=account, customer=customer, text=text, client_key=client_key, quick_reply=quick_reply
        )
    except IntegrityError:  # the same key stored by a concurrent re-send
        return SimMessage.objects.get(customer=customer, client_key=client_key)
    if pending is not None and pending.status == SimDelivery.Status.PENDING:
        try:
            delivery.attempt(pending.id)
        except Exception:
            # The message is stored and its delivery is durable: a failure recording this attempt
            # (e.g. the database busy) leaves it pending, retried after the lease like any other.
            logger.exception("simulator: webhook attempt of delivery %s failed; it will be retried", pending.id)
    return message


def _store_in(
    *, account: SimAccount, customer: SimCustomer, text: str, client_key: str, quick_reply: str | None = None
) -> tuple[SimMessage, SimDelivery | None]:
    with transaction.atomic():
        update_id, counter = _next_counters(account)
        message_id = payloads.message_id(account.platform, counter)
        message = SimMessage.objects.create(
            account=account,
            customer=customer,
            direction=SimMessage.Direction.IN,
            text=text,
            platform_message_id=message_id,
            client_key=client_key,
        )
        pending = None
        if account.echoes:
            _store_out(account=account, customer=customer, text=f"Echo: {text}", echo=True)
        elif _subscribed_to_messages(account):
            body = payloads.inbound_text(
                account=account,
                customer=customer,
                text=text,
                message_id=message_id,
                update_id=update_id,
                quick_reply=quick_reply,
            )
            pending = delivery.create_delivery(
                account=account,
                customer=customer,
                message=message,
                url=account.webhook_url,
                payload=body,
                kind="message",
                event_id=str(update_id) if account.platform == Platform.TELEGRAM else message_id,
            )
    return message, pending


def message_fates(*, account: SimAccount, messages: list[SimMessage]) -> dict[int, dict]:
    """What became of each customer message: its webhook delivery as the platform sees it."""
    ids = [m.id for m in messages if m.direction == SimMessage.Direction.IN]
    deliveries = {
        d.message_id: d for d in SimDelivery.objects.filter(message_id__in=ids, kind="message").order_by("id")
    }
    return {message_id: delivery_fate(account=account, sent=deliveries.get(message_id)) for message_id in ids}


def delivery_fate(*, account: SimAccount, sent: SimDelivery | None) -> dict:
    """{state, final, text, attempts, last_status_code} of one message's webhook delivery.

    States: delivered, delivering (first attempt not answered yet), retrying, failed, dropped,
    echoed, not_subscribed.
    """
    if sent is None:
        if account.echoes:
            return _fate("echoed", "Echo mode: the simulator answers itself (no webhook registered, or echo on).")
        return _fate("not_subscribed", "Not delivered: the webhook is not subscribed to messages.")
    code, attempts = sent.last_status_code, sent.attempts
    answer = f"HTTP {code}" if code else (sent.last_response or "no answer")[:200]
    if sent.status == SimDelivery.Status.DELIVERED:
        after = f" after {attempts} attempts" if attempts > 1 else ""
        return _fate("delivered", f"Delivered to the webhook ({answer}){after}.", sent)
    if sent.status == SimDelivery.Status.DROPPED:
        return _fate("dropped", "Dropped (drop mode): the contact center will not see it.", sent)
    if sent.status == SimDelivery.Status.FAILED:
        return _fate("failed", f"Not delivered: the platform gave up after {attempts} attempts (last: {answer}).", sent)
    if attempts == 0:
        return _fate("delivering", "Delivering to the webhook…", sent, final=False)
    wait = ""
    if sent.next_attempt_at:
        wait = f" in {max(int((sent.next_attempt_at - timezone.now()).total_seconds()), 0)} s"
    text = f"Webhook answered {answer} (attempt {attempts} of {delivery.MAX_ATTEMPTS}); the platform retries{wait}."
    return _fate("retrying", text, sent, final=False)


def _fate(state: str, text: str, sent: SimDelivery | None = None, *, final: bool = True) -> dict:
    return {
        "state": state,
        "final": final,
        "text": text,
        "attempts": sent.attempts if sent else 0,
        "last_status_code": sent.last_status_code if sent else None,
    }


def customer_sends(
    *, account: SimAccount, customer: SimCustomer, kind: str, caption: str = "", upload=None, location=None
) -> SimMessage:
    """A customer's picture or file (`upload`) or location ({latitude, longitude}): stored, then
    delivered as the platform's signed webhook, its file served the platform's way (media)."""
    with transaction.atomic():
        update_id, counter = _next_counters(account)
        message = SimMessage.objects.create(
            account=account,
            customer=customer,
            direction=SimMessage.Direction.IN,
            text=caption,
            kind=kind,
            attachment=dict(location or {}),
            platform_message_id=payloads.message_id(account.platform, counter),
        )
        if upload is not None:
            message.attachment["file_id"] = f"BQACAgSim{message.pk:08d}{secrets.token_urlsafe(12)}"
            media.store_upload(message, upload)
        pending = None
        if account.echoes:
            _store_out(account=account, customer=customer, text=f"Echo: [{kind}]", echo=True)
        elif _subscribed_to_messages(account):
            body = payloads.inbound_media(account=account, customer=customer, message=message, update_id=update_id)
            pending = delivery.create_delivery(
                account=account,
                customer=customer,
                message=message,
                url=account.webhook_url,
                payload=body,
                kind="message",
                event_id=str(update_id) if account.platform == Platform.TELEGRAM else message.platform_message_id,
            )
    if pending is not None and pending.status == SimDelivery.Status.PENDING:
        delivery.attempt(pending.id)
    return message


def _subscribed_to_messages(account: SimAccount) -> bool:
    if account.platform == Platform.TELEGRAM:
        return not account.webhook_events or "message" in account.webhook_events
    if account.platform == Platform.FACEBOOK:
        return account.webhook_active and (not account.webhook_events or "messages" in account.webhook_events)
    if account.platform == Platform.LINE:
        return account.webhook_active
    return True


def _store_out(
    *,
    account: SimAccount,
    customer: SimCustomer,
    text: str,
    echo: bool = False,
    markup: dict | None = None,
    kind: str = "text",
) -> SimMessage:
    with transaction.atomic():
        _, counter = _next_counters(account)
        return SimMessage.objects.create(
            account=account,
            customer=customer,
            direction=SimMessage.Direction.OUT,
            text=text,
            markup=markup or {},
            kind=kind,
            platform_message_id=payloads.message_id(account.platform, counter),
            echo=echo,
            dropped=account.drop_mode == DropMode.OUTBOUND,
        )


def bot_sends_media(
    *,
    account: SimAccount,
    customer: SimCustomer,
    kind: str,
    caption: str = "",
    upload=None,
    url: str = "",
    max_bytes: int,
    name: str = "",
) -> SimMessage:
    """Our product sent a file: uploaded (Telegram multipart) or named by URL, which the
    platform fetches now. media.FetchFailed (nothing stored) when the URL cannot be fetched."""
    message = _store_out(account=account, customer=customer, text=caption, kind=kind)
    try:  # no transaction is held while the URL is fetched (it may be served by this process)
        if upload is not None:
            media.store_upload(message, upload)
        else:
            media.fetch_into(message, url, max_bytes=max_bytes, name=name)
    except Exception:
        message.delete()
        raise
    return bot_sends(account=account, customer=customer, text=caption, stored=message)


def bot_sends(
    *,
    account: SimAccount,
    customer: SimCustomer,
    text: str,
    markup: dict | None = None,
    stored: SimMessage | None = None,
) -> SimMessage:
    """Our product sent a text (with buttons or a location in `markup`) through the fake send
    API, or a file already `stored`: the customer will see it."""
    message = stored or _store_out(account=account, customer=customer, text=text, markup=markup)
    if account.platform == Platform.NEXMO and account.status_url:
        blocked = account.forced_error == ForcedError.BLOCKED or customer.blocked
        _queue_receipt(account=account, customer=customer, message=message, kind="submitted")
        if blocked:  # Vonage accepts the send, then reports it undeliverable
            error = {
                "type": "https://developer.nexmo.com/api-errors/messages#1330",
                "title": "1330",
                "detail": "The recipient is unreachable or has blocked messages from this sender.",
            }
            _queue_receipt(account=account, customer=customer, message=message, kind="rejected", error=error)
    return message


# What Vonage reports when an SMS is refused downstream of the accepted send.
VONAGE_UNKNOWN_NUMBER = {
    "type": "https://developer.nexmo.com/api-errors/messages#1320",
    "title": "1320",
    "detail": "The message failed because the number is not a reachable mobile number.",
}


def vonage_sends_to_unknown_number(*, account: SimAccount, to: str) -> str:
    """Vonage accepts a send to a well-formed number it cannot reach (202 and a message UUID)
    and reports it later: status "submitted", then "rejected" with an error."""
    message_uuid = str(uuid.uuid4())
    if account.status_url:
        for kind, error in (("submitted", None), ("rejected", VONAGE_UNKNOWN_NUMBER)):
            body = payloads.vonage_status(account=account, to=to, kind=kind, message_id=message_uuid, error=error)
            delivery.create_delivery(
                account=account, url=account.status_url, payload=body, kind=kind, event_id=message_uuid
            )
    return message_uuid


def customer_sees(*, account: SimAccount, customer: SimCustomer) -> int:
    """The customer's chat page showed the bot's messages: send delivered and read receipts."""
    unseen = list(
        SimMessage.objects.filter(
            account=account,
            customer=customer,
            direction=SimMessage.Direction.OUT,
            seen_at__isnull=True,
            dropped=False,
        )
    )
    if not unseen:
        return 0
    SimMessage.objects.filter(id__in=[m.id for m in unseen]).update(seen_at=timezone.now())
    if account.platform in RECEIPT_PLATFORMS and not account.echoes:
        for message in unseen:
            if message.echo:
                continue
            for kind in ("delivered", "read"):
                _queue_receipt(account=account, customer=customer, message=message, kind=kind)
    return len(unseen)


def _queue_receipt(*, account: SimAccount, customer: SimCustomer, message: SimMessage, kind: str, error=None):
    if account.platform == Platform.VIBER:
        wanted = account.webhook_events or ["delivered", "seen"]
        if ("delivered" if kind == "delivered" else "seen") not in wanted:
            return None
    if account.platform == Platform.FACEBOOK:
        fields = account.webhook_events or ["message_deliveries", "message_reads"]
        if ("message_deliveries" if kind == "delivered" else "message_reads") not in fields:
            return None
    body = payloads.receipt(
        account=account, customer=customer, kind=kind, message_id=message.platform_message_id, error=error
    )
    url = account.status_url if account.platform == Platform.NEXMO else account.webhook_url
    if body is None or not url:
        return None
    return delivery.create_delivery(
        account=account,
        customer=customer,
        message=message,
        url=url,
        payload=body,
        kind=kind,
        event_id=message.platform_message_id,
    )


def sends_in_last_second(account: SimAccount) -> int:
    since = timezone.now() - dt.timedelta(seconds=1)
    return SimMessage.objects.filter(
        account=account, direction=SimMessage.Direction.OUT, echo=False, created_at__gte=since
    ).count()


def send_refusal(account: SimAccount, customer: SimCustomer | None = None) -> str:
    """Why a send is refused right now: "", "rate_limited", "blocked", "server_error"
    (failure injection, or the customer blocked the bot). Vonage accepts and reports later."""
    if account.forced_error == ForcedError.SERVER_ERROR:
        return "server_error"
    if account.rate_limit and sends_in_last_second(account) >= account.rate_limit:
        return "rate_limited"
    blocked = account.forced_error == ForcedError.BLOCKED or (customer is not None and customer.blocked)
    if blocked and account.platform != Platform.NEXMO:
        return "blocked"
    return ""


def customer_blocks(*, account: SimAccount, customer: SimCustomer, blocked: bool) -> SimDelivery | None:
    """The customer blocks (or unblocks) the bot: later sends fail as the platform fails them,
    and the platforms that tell the bot say so (Telegram my_chat_member, LINE unfollow/follow,
    Viber unsubscribed/subscribed; Facebook and Vonage tell nothing)."""
    with transaction.atomic():
        SimCustomer.objects.filter(id=customer.id).update(blocked=blocked)
        customer.blocked = blocked
        update_id, counter = _next_counters(account)
        body = payloads.block_event(account=account, customer=customer, blocked=blocked, update_id=update_id)
        wanted = body is not None and account.webhook_url and not account.echo_mode
        if wanted and account.platform == Platform.TELEGRAM and account.webhook_events:
            wanted = "my_chat_member" in account.webhook_events
        pending = None
        if wanted:
            event_id = str(update_id) if account.platform == Platform.TELEGRAM else payloads.event_id_of(body)
            pending = delivery.create_delivery(
                account=account,
                customer=customer,
                url=account.webhook_url,
                payload=body,
                kind="unfollow" if blocked else "follow",
                event_id=event_id,
            )
    if pending is not None:
        return delivery.attempt(pending.id) or pending
    return pending


def register_webhook(
    *, account: SimAccount, url: str, secret: str = "", events: list[str] | None = None, status_url: str = ""
) -> SimAccount:
    """Register our webhook on the account directly (demo data; the server need not run)."""
    account.webhook_url = url
    if secret:
        account.webhook_secret = secret
    if events is not None:
        account.webhook_events = events
    if status_url:
        account.status_url = status_url
    account.webhook_active = True
    account.save()
    return account
