"""The simulator's own platform side: accounts (bots, pages, channels), customers, the
messages they exchange, the requests the fake APIs received and the webhooks they delivered."""

import secrets

from django.db import models


class Platform(models.TextChoices):
    TELEGRAM = "telegram", "Telegram"
    FACEBOOK = "facebook", "Facebook Messenger"
    LINE = "line", "LINE"
    VIBER = "viber", "Viber"
    NEXMO = "nexmo", "Nexmo (Vonage)"


class ForcedError(models.TextChoices):
    NONE = "", "none"
    BLOCKED = "blocked", "customer blocked the bot (Telegram 403, Facebook 551, Viber status 6, ...)"
    SERVER_ERROR = "server_error", "platform outage (HTTP 500)"


class DropMode(models.TextChoices):
    NONE = "", "none"
    OUTBOUND = "outbound", "accept sends but never show them to the customer"
    INBOUND = "inbound", "never deliver customer messages to the webhook"


def _random_digits(n: int) -> str:
    return str(secrets.randbelow(9 * 10 ** (n - 1)) + 10 ** (n - 1))


class SimAccount(models.Model):
    """One account on a fake platform: a Telegram bot, a Facebook page (with its app), a LINE
    channel, a Viber public account or a Vonage application. Holds what the platform holds:
    credentials, the registered webhook, and the failure injection the tests and demos set."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    name = models.CharField(max_length=100, help_text="Display name (bot first_name, page or channel name).")
    username = models.CharField(max_length=100, blank=True, help_text="Telegram bot username, Viber uri.")
    platform_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="Telegram bot id, Facebook page id, LINE bot userId, Viber id, Vonage number (sender).",
    )
    # The platform's copy of the credentials: the fake checks calls against them, as the platform
    # does. They are fake credentials of a sandbox, never real ones.
    token = models.CharField(
        max_length=512,
        blank=True,
        help_text="Telegram bot token, Facebook page access token, LINE channel access token, Viber auth token.",
    )
    secret = models.CharField(
        max_length=256, blank=True, help_text="Facebook app secret, LINE channel secret, Vonage signature secret."
    )
    app_id = models.CharField(max_length=64, blank=True, help_text="Facebook app id, Vonage application id.")
    api_key = models.CharField(max_length=64, blank=True, help_text="Vonage API key.")
    api_secret = models.CharField(max_length=256, blank=True, help_text="Vonage API secret.")
    public_key = models.TextField(blank=True, help_text="Vonage application public key (PEM) for RS256 JWT auth.")

    # Registered webhook (setWebhook, app callback + subscribed_apps, LINE endpoint, Viber
    # set_webhook, Vonage application inbound_url/status_url).
    webhook_url = models.CharField(max_length=500, blank=True)
    webhook_secret = models.CharField(
        max_length=256, blank=True, help_text="Telegram secret_token; Facebook verify token."
    )
    webhook_events = models.JSONField(
        default=list, blank=True, help_text="Telegram allowed_updates, Viber event_types, Facebook subscribed_fields."
    )
    webhook_active = models.BooleanField(default=True, help_text="Facebook: page subscribed; LINE: Use webhook.")
    status_url = models.CharField(max_length=500, blank=True, help_text="Vonage status_url.")
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error_message = models.CharField(max_length=500, blank=True)

    # Platform counters.
    next_update_id = models.BigIntegerField(default=0, help_text="Telegram: next update_id (0 = pick one).")
    next_message_id = models.BigIntegerField(default=1)
    balance = models.DecimalField(max_digits=10, decimal_places=4, default=29.18, help_text="Vonage balance.")

    # Failure injection.
    latency_ms = models.PositiveIntegerField(default=0, help_text="Delay every API answer by this much.")
    rate_limit = models.PositiveIntegerField(default=0, help_text="Answer 429 past N sends per second (0 = off).")
    forced_error = models.CharField(max_length=16, choices=ForcedError.choices, blank=True, default="")
    drop_mode = models.CharField(max_length=16, choices=DropMode.choices, blank=True, default="")
    media_ttl = models.PositiveIntegerField(
        default=3600,
        help_text="Seconds a customer's media stays downloadable by the bot (content endpoint, getFile path, "
        "expiring media URL); 0 = expired at once.",
    )
    echo_mode = models.BooleanField(
        default=False, help_text="The simulator answers 'Echo: <text>' itself (also when no webhook is set)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["platform", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def echoes(self) -> bool:
        return self.echo_mode or not self.webhook_url


class SimCustomer(models.Model):
    """A person chatting with an account; `key` is the chat page tab's identity."""

    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="customers")
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    external_id = models.CharField(max_length=64, help_text="Telegram user id, PSID, LINE userId, Viber id, MSISDN.")
    blocked = models.BooleanField(default=False, help_text="The customer blocked the bot: sends to them fail.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="sim_customer_key_unique"),
            models.UniqueConstraint(fields=["account", "external_id"], name="sim_customer_external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.account.name}"

    @property
    def first_name(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def last_name(self) -> str:
        parts = self.name.split(" ", 1)
        return parts[1] if len(parts) > 1 else ""


class SimMessage(models.Model):
    """A message in a customer's chat: `in` from the customer, `out` sent by the bot/agent."""

    class Direction(models.TextChoices):
        IN = "in", "from the customer"
        OUT = "out", "to the customer"

    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey(SimCustomer, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    text = models.TextField(blank=True)
    kind = models.CharField(max_length=16, default="text", help_text="text, image, file, video, audio, location.")
    attachment = models.JSONField(default=dict, blank=True, help_text="name, size, content_type, lat/lon, error.")
    media = models.FileField(upload_to="simulator/%Y/%m/%d", max_length=500, blank=True)
    # Out: what the platform shows with the text: {"buttons": [[{"label", "payload"}, ...] rows],
    # "location": {...}}; the chat page renders the buttons and a press answers with the label.
    markup = models.JSONField(default=dict, blank=True)
    platform_message_id = models.CharField(max_length=100, blank=True)
    echo = models.BooleanField(default=False, help_text="Written by the simulator's echo mode.")
    dropped = models.BooleanField(default=False, help_text="Accepted by the API but lost (drop mode).")
    seen_at = models.DateTimeField(null=True, blank=True, help_text="Out: shown on the customer's chat page.")
    client_key = models.CharField(
        max_length=64,
        blank=True,
        help_text="In: the chat page's key of this send, so a re-sent request stores it once.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "direction", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "client_key"], condition=~models.Q(client_key=""), name="sim_message_client_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.text[:40]}"


class SimRequest(models.Model):
    """One call the fake API received, credentials masked before it was stored."""

    account = models.ForeignKey(SimAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="requests")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    status_code = models.PositiveSmallIntegerField()
    response = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status_code}"


class SimDelivery(models.Model):
    """A webhook call the fake platform makes to our product, retried until it gets a 2xx."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        DELIVERED = "delivered", "delivered"
        FAILED = "failed", "gave up"
        DROPPED = "dropped", "dropped (drop mode)"

    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="deliveries")
    customer = models.ForeignKey(SimCustomer, null=True, blank=True, on_delete=models.CASCADE)
    message = models.ForeignKey(
        "SimMessage",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
        help_text="The customer's message (kind message) or the bot's message a receipt is about.",
    )
    kind = models.CharField(max_length=32, help_text="message, delivery, read, status, webhook, test, ...")
    method = models.CharField(max_length=8, default="POST")
    url = models.CharField(max_length=500)
    event_id = models.CharField(max_length=100, blank=True)
    body = models.TextField(help_text="The exact bytes (UTF-8) of the last attempt.")
    headers = models.JSONField(default=dict, help_text="Headers of the last attempt.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    history = models.JSONField(default=list, help_text="One {at, status_code, error} per attempt.")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.url} ({self.status})"


class SimRetryKey(models.Model):
    """A LINE X-Line-Retry-Key already accepted: a repeat answers 409 with the same sentMessages."""

    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="retry_keys")
    key = models.CharField(max_length=64)
    request_id = models.CharField(max_length=64)
    sent_messages = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="sim_retry_key_unique")]

    def __str__(self) -> str:
        return self.key
