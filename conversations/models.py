"""Customers, their chat sessions (interactions) and every message in and out.

The database is the source of truth: webhooks store here before answering 2xx, the
outbound sender moves Message rows through their status machine, the desktop resyncs
from here by message id.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Customer(models.Model):
    """A person on one messenger account, known by the platform's id for them."""

    account = models.ForeignKey("integrations.IntegrationAccount", on_delete=models.PROTECT, related_name="customers")
    external_id = models.CharField(max_length=255, help_text="The platform's id of the person (PSID, userId, ...).")
    reply_to = models.CharField(
        max_length=255, blank=True, help_text="Where replies go (chat id); defaults to external id."
    )
    display_name = models.CharField(max_length=255, blank=True)
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    username = models.CharField(max_length=255, blank=True)
    language = models.CharField(max_length=16, blank=True)
    avatar_url = models.URLField(max_length=1000, blank=True)
    profile_fetched_at = models.DateTimeField(null=True, blank=True)
    # Set when the platform says the person blocked us or cannot be reached.
    unreachable_at = models.DateTimeField(null=True, blank=True)
    unreachable_reason = models.CharField(max_length=255, blank=True)
    # Facebook's 24-hour window is counted from the customer's last message.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="uniq_customer_per_account")]

    def __str__(self) -> str:
        return self.name or self.external_id

    @property
    def name(self) -> str:
        full = " ".join(part for part in (self.first_name, self.last_name) if part)
        return full or self.display_name or self.username

    @property
    def chat_id(self) -> str:
        return self.reply_to or self.external_id


class Interaction(models.Model):
    """One chat session of a customer, from the first message until it is closed."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    global_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        "integrations.IntegrationAccount", on_delete=models.PROTECT, related_name="interactions"
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="interactions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # The agent the chat is connected to now, if any.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            # A customer has at most one open chat session at a time.
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="open"), name="one_open_interaction_per_customer"
            )
        ]
        indexes = [models.Index(fields=["status", "opened_at"])]

    def __str__(self) -> str:
        return f"Interaction {self.pk} ({self.customer})"


class MediaStatus(models.TextChoices):
    """Where a message's attachment bytes are: none to fetch, waiting, being fetched, stored or failed."""

    NONE = "", "No media"
    PENDING = "pending", "To fetch"
    FETCHING = "fetching", "Fetching"
    STORED = "stored", "Stored"
    FAILED = "failed", "Failed"


class Message(models.Model):
    """A message in an interaction: inbound from the customer or outbound to them."""

    MediaStatus = MediaStatus

    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound"
        OUTBOUND = "out", "Outbound"

    class Sender(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Agent"
        BOT = "bot", "Scenario"
        SYSTEM = "system", "System"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"  # inbound
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        IMAGE = "image", "Photo / image"
        FILE = "file", "File / document"
        AUDIO = "audio", "Audio / voice"
        VIDEO = "video", "Video"
        STICKER = "sticker", "Sticker"
        LOCATION = "location", "Location"
        CONTACT = "contact", "Contact"
        POSTBACK = "postback", "Postback / button"
        EDITED = "edited", "Edited message"
        OTHER = "other", "Other"

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="messages")
    account = models.ForeignKey("integrations.IntegrationAccount", on_delete=models.PROTECT, related_name="messages")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    sender = models.CharField(max_length=16, choices=Sender.choices)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    text = models.TextField(blank=True)
    attachment = models.JSONField(default=dict, blank=True, help_text="Attachment metadata (type, url, file id, ...).")
    # The attachment's bytes, through Django's storage API: fetched from the platform after
    # ingest (inbound) or uploaded by the agent (outbound). Name, size and the content type
    # sniffed from the bytes are in `attachment`; a failed fetch leaves its reason there.
    media = models.FileField(upload_to="chat-media/%Y/%m/%d", max_length=500, blank=True)
    media_status = models.CharField(max_length=16, choices=MediaStatus.choices, blank=True, default="")

    # Inbound: the platform's event id (dedupe key) and message id.
    platform_event_id = models.CharField(max_length=255, null=True, blank=True)
    # Inbound: the platform's message id; outbound: the id the send API returned.
    platform_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    platform_timestamp = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices)
    error_code = models.CharField(max_length=64, blank=True)
    error_text = models.CharField(max_length=1000, blank=True)

    # Outbound delivery bookkeeping.
    idempotency_key = models.UUIDField(default=uuid.uuid4, editable=False, help_text="Sent as X-Line-Retry-Key.")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Platforms redeliver: a replayed event must not store a second message.
            models.UniqueConstraint(
                fields=["account", "platform_event_id"],
                condition=Q(platform_event_id__isnull=False),
                name="uniq_inbound_event_per_account",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="msg_outbound_due"),
            models.Index(fields=["customer", "id"], name="msg_customer_order"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.kind} #{self.pk}"


class PendingReceipt(models.Model):
    """A receipt for an id none of our messages has yet.

    Platforms may confirm a message (Vonage "submitted", Viber "delivered") before our send
    call has returned and recorded its id; the sender applies these once it records the id.
    """

    account = models.ForeignKey(
        "integrations.IntegrationAccount", on_delete=models.CASCADE, related_name="pending_receipts"
    )
    platform_message_id = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Message.Status.choices)
    error_code = models.CharField(max_length=64, blank=True)
    error_text = models.CharField(max_length=1000, blank=True)
    at = models.DateTimeField(null=True, blank=True, help_text="When the platform says it happened.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account", "platform_message_id"], name="pending_receipt_lookup")]

    def __str__(self) -> str:
        return f"{self.status} for {self.platform_message_id}"


class ChatEvent(models.Model):
    """Something that happened to a chat that a higher layer must hear of: the outbox.

    Written in the same transaction as the change that causes it, dispatched to the
    listeners after commit (`conversations.events`), and by the sweeper when that dispatch
    was lost. Listeners handle each event id once, so a second dispatch changes nothing.
    """

    class Kind(models.TextChoices):
        CUSTOMER_MESSAGE = "customer_message", "Customer message"
        AGENT_FOUND = "agent_found", "Agent found"
        NO_AGENTS = "no_agents", "No agents"
        OFFER_ACCEPTED = "offer_accepted", "Offer accepted"
        OFFER_REJECTED = "offer_rejected", "Offer rejected"
        OFFER_TIMED_OUT = "offer_timed_out", "Offer timed out"
        CHAT_ENDED = "chat_ended", "Chat ended"
        # Moments the customer may be told of (system chat messages, Chat Settings).
        AGENT_JOINED = "agent_joined", "Agent joined"
        AGENT_LEFT = "agent_left", "Agent left"
        CHAT_TRANSFERRED = "chat_transferred", "Chat transferred"
        # An agent started the chat (outbound): no scenario runs; its no-response timeout does.
        OUTBOUND_CHAT_STARTED = "outbound_chat_started", "Agent-started chat"
        # For integrators (event webhooks); recorded only while a listener wants them.
        INTERACTION_OPENED = "interaction_opened", "Interaction opened"
        INTERACTION_CLOSED = "interaction_closed", "Interaction closed"
        MESSAGE_CREATED = "message_created", "Outbound message created"
        MESSAGE_STATUS_CHANGED = "message_status_changed", "Message status changed"
        AGENT_STATE_CHANGED = "agent_state_changed", "Agent state changed"

    # Empty only for events about an agent rather than a chat (agent state changed).
    interaction = models.ForeignKey(Interaction, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Dispatched: every listener returned. Until then the sweeper tries again from next_attempt_at.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(dispatched_at__isnull=True), name="chat_event_undispatched"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} of interaction {self.interaction_id} (#{self.pk})"
