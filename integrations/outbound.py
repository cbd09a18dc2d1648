"""Queueing outbound text: Message rows in status queued, split to the platform's length limit.

`queue_text` is what the scenario engine's Send Message block and agent replies call. The
rows are written in one transaction, in order (their ids give the order per customer), and
the outbound sender (`integrations.sender`) is woken once the transaction commits.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversations import events
from conversations.models import Interaction, Message
from conversations.realtime import publish_message
from integrations import directives, media, sender_wake
from integrations.errors import OutboundRefused
from integrations.providers import get_provider


class MessageTooLong(OutboundRefused):
    """The text exceeds the platform's limit and splitting was not wanted."""

    def __init__(self, *, messenger: str, length: int, limit: int):
        self.messenger = messenger
        self.length = length
        self.limit = limit
        super().__init__(
            f"The message is {length} characters long; {messenger} accepts at most {limit}. "
            f"Shorten it or send it in parts."
        )


class EmptyMessage(OutboundRefused):
    """There is no text to send."""


def text_limit(messenger: str) -> int:
    """The longest text one message may carry on `messenger`, in `text_length` units."""
    return get_provider(messenger).TEXT_LIMIT


def text_length(text: str, messenger: str) -> int:
    """Length as the platform counts it (LINE: UTF-16 code units; most: characters)."""
    return get_provider(messenger).text_length(text)


def split_text(text: str, *, messenger: str) -> list[str]:
    """Cut `text` into parts within the platform's limit, at word boundaries where possible.

    Prefers a paragraph break, then a line break, then any whitespace; a single "word" longer
    than the limit (a long URL) is cut hard. Whitespace at a cut is dropped.
    """
    limit = text_limit(messenger)
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if text_length(rest, messenger) <= limit:
            parts.append(rest)
            break
        window = _prefix_within(rest, limit=limit, messenger=messenger)
        cut = _best_cut(window)
        head = rest[:cut].rstrip()
        if not head:  # only whitespace before the cut: cut hard instead
            cut = len(window)
            head = window
        parts.append(head)
        rest = rest[cut:].lstrip()
    return parts


def _prefix_within(text: str, *, limit: int, messenger: str) -> str:
    """The longest prefix of `text` within `limit` as the platform counts, whole characters only."""
    if text_length(text[:limit], messenger) <= limit:
        return text[:limit]  # most platforms count characters: the plain cut fits
    units = 0
    for index, char in enumerate(text):
        units += text_length(char, messenger)
        if units > limit:
            return text[:index]
    return text


def _best_cut(window: str) -> int:
    """Where to cut a window that is followed by more text: after the last break in it."""
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator)
        if at > 0:
            return at + len(separator)
    for index in range(len(window) - 1, 0, -1):
        if window[index].isspace():
            return index + 1
    return len(window)


@transaction.atomic
def queue_text(
    *, interaction: Interaction, text: str, sender: str, sender_user=None, split: bool = True
) -> list[Message]:
    """Store outbound text for the interaction's customer and send it once committed.

    Chat directives (`/buttons`, `/location`; integrations.directives) become their own
    messages. Returns the queued Message rows, in sending order. Raises MessageTooLong when
    the text is over the platform's limit and `split` is False, EmptyMessage for empty text.
    """
    text = text.strip()
    if not text:
        raise EmptyMessage("An outbound message needs text.")
    try:
        parts = directives.parse(text) if directives.has_directive(text) else [directives.Part(text=text)]
    except directives.DirectiveError as exc:
        raise OutboundRefused(str(exc)) from exc
    now = timezone.now()
    messages = [
        message
        for part in parts
        for message in _queue_part(interaction, part, sender=sender, sender_user=sender_user, split=split, now=now)
    ]
    for message in messages:
        events.record(interaction_id=interaction.pk, kind=events.Kind.MESSAGE_CREATED, data={"message_id": message.pk})
    transaction.on_commit(lambda: _after_queued(messages))
    return messages


def _queue_part(interaction, part: directives.Part, *, sender, sender_user, split: bool, now) -> list[Message]:
    account = interaction.account
    messenger = account.messenger
    if part.location is not None:
        chunks = [(Message.Kind.LOCATION, part.location.describe(), {"location": part.location.to_json()})]
    else:
        limit = text_limit(messenger)
        length = text_length(part.text, messenger)
        if length > limit and not split:
            raise MessageTooLong(messenger=messenger, length=length, limit=limit)
        texts = split_text(part.text, messenger=messenger) if length > limit else [part.text]
        chunks = [(Message.Kind.TEXT, chunk, {}) for chunk in texts]
        if part.buttons is not None:  # the buttons go under the last piece of their text
            chunks[-1] = (Message.Kind.TEXT, chunks[-1][1], {"buttons": part.buttons.to_json()})
    return [
        Message.objects.create(
            interaction=interaction,
            account=account,
            customer_id=interaction.customer_id,
            direction=Message.Direction.OUTBOUND,
            sender=sender,
            sender_user=sender_user,
            kind=kind,
            text=chunk,
            attachment=attachment,
            status=Message.Status.QUEUED,
            next_attempt_at=now,
        )
        for kind, chunk, attachment in chunks
    ]


def _after_queued(messages: list[Message]) -> None:
    for message in messages:
        publish_message(message)
    # The sender takes only the customer's first pending message, whenever it runs.
    sender_wake.wake()


class AttachmentRefused(OutboundRefused):
    """The file cannot go on this messenger (too large, empty): refused before queueing."""


@transaction.atomic
def queue_media(
    *, interaction: Interaction, upload, file_name: str = "", caption: str = "", sender: str, sender_user=None
) -> list[Message]:
    """Check a file against the platform's types and size, store it and queue it (then the
    caption as its own text where the platform's media messages carry none, or too short a one).

    Raises AttachmentRefused, with the limit in words, before anything is stored or queued.
    """
    account = interaction.account
    try:
        checked = media.check_upload(
            messenger=account.messenger,
            messenger_label=account.get_messenger_display(),
            upload=upload,
            file_name=file_name,
        )
    except media.AttachmentRefused as exc:
        raise AttachmentRefused(str(exc)) from exc
    caption = (caption or "").strip()
    with_caption = media.caption_fits(messenger=account.messenger, kind=checked.kind, caption=caption)
    path = media.save_upload(account_id=account.pk, upload=upload, checked=checked)
    now = timezone.now()
    message = Message.objects.create(
        interaction=interaction,
        account=account,
        customer_id=interaction.customer_id,
        direction=Message.Direction.OUTBOUND,
        sender=sender,
        sender_user=sender_user,
        kind=checked.kind,
        text=caption if with_caption else "",
        media=path,
        media_status=Message.MediaStatus.STORED,
        attachment={
            "type": checked.kind,
            "name": checked.name,
            "size": checked.size,
            "content_type": checked.content_type,
        },
        status=Message.Status.QUEUED,
        next_attempt_at=now,
    )
    messages = [message]
    events.record(interaction_id=interaction.pk, kind=events.Kind.MESSAGE_CREATED, data={"message_id": message.pk})
    if caption and not with_caption:
        messages += queue_text(interaction=interaction, text=caption, sender=sender, sender_user=sender_user)
    transaction.on_commit(lambda: _after_queued([message]))
    return messages


@transaction.atomic
def queue_image_url(*, interaction: Interaction, url: str, caption: str = "", sender: str) -> list[Message]:
    """A picture by its HTTPS URL (scenario Send Message): the platform fetches it there."""
    if not url.startswith("https://") and not url.startswith(settings.PUBLIC_BASE_URL + "/"):
        raise AttachmentRefused("A picture is sent by an https:// URL.")
    account = interaction.account
    caption = (caption or "").strip()
    with_caption = media.caption_fits(messenger=account.messenger, kind="image", caption=caption)
    message = Message.objects.create(
        interaction=interaction,
        account=account,
        customer_id=interaction.customer_id,
        direction=Message.Direction.OUTBOUND,
        sender=sender,
        kind=Message.Kind.IMAGE,
        text=caption if with_caption else "",
        attachment={"type": "image", "source_url": url, "name": media.safe_name(url.split("?", 1)[0], "picture")},
        status=Message.Status.QUEUED,
        next_attempt_at=timezone.now(),
    )
    messages = [message]
    events.record(interaction_id=interaction.pk, kind=events.Kind.MESSAGE_CREATED, data={"message_id": message.pk})
    if caption and not with_caption:
        messages += queue_text(interaction=interaction, text=caption, sender=sender)
    transaction.on_commit(lambda: _after_queued([message]))
    return messages
