"""Integration accounts: one row per linked bot, page, channel or Vonage application."""

import re
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from encrypted_model_fields.fields import EncryptedCharField, EncryptedTextField


class Messenger(models.TextChoices):
    FACEBOOK = "facebook", "Facebook Messenger"
    LINE = "line", "LINE"
    NEXMO = "nexmo", "Nexmo (Vonage)"
    TELEGRAM = "telegram", "Telegram"
    VIBER = "viber", "Viber"


def generate_webhook_secret() -> str:
    """A secret in the alphabet Telegram accepts for secret_token (A-Z a-z 0-9 _ -)."""
    return secrets.token_urlsafe(32)


class IntegrationAccount(models.Model):
    """A business's messenger account linked to the contact center.

    Credentials are Fernet-encrypted at rest (FIELD_ENCRYPTION_KEY) and never shown back.
    Which fields a type uses is described by the admin form of that type.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    messenger = models.CharField("type", max_length=16, choices=Messenger.choices)
    name = models.CharField(max_length=100, help_text="A name for this account, shown to administrators.")
    enabled = models.BooleanField(default=True)

    # Identity on the platform.
    username = models.CharField(
        max_length=100,
        blank=True,
        help_text="Telegram bot username, Viber public account name or Facebook page username.",
    )
    page_id = models.CharField(max_length=64, blank=True, help_text="Facebook Page ID.")
    application_id = models.CharField(max_length=64, blank=True, help_text="Vonage application ID or Facebook App ID.")
    api_key = models.CharField(max_length=64, blank=True, help_text="Vonage API key.")
    sender_id = models.CharField(max_length=64, blank=True, help_text="Vonage: our sender number (E.164, digits only).")

    # Credentials (encrypted).
    access_token = EncryptedCharField(
        max_length=1024,
        blank=True,
        help_text="Telegram bot token, Facebook page access token, LINE channel access token or Viber auth token.",
    )
    signing_secret = EncryptedCharField(
        max_length=512, blank=True, help_text="Facebook app secret, LINE channel secret or Vonage signature secret."
    )
    api_secret = EncryptedCharField(max_length=512, blank=True, help_text="Vonage API secret.")
    private_key = EncryptedTextField(
        blank=True,
        help_text="Vonage application private key (PEM): sends with an application JWT instead of Basic auth.",
    )
    webhook_secret = EncryptedCharField(
        max_length=512,
        blank=True,
        default=generate_webhook_secret,
        help_text="Telegram: the secret_token we register; Facebook: the webhook verify token.",
    )

    # Where the platform's API lives; blank means the settings default for the messenger.
    api_base_url = models.URLField(blank=True, help_text="Advanced: override the platform's API base URL.")
    # Viber's Set Webhook window asks for the public host and port of our server.
    webhook_host = models.CharField(max_length=255, blank=True, help_text="Viber: webhook host and port.")
    allow_human_agent_tag = models.BooleanField(
        default=False, help_text="Facebook: the app has the Human Agent permission (replies up to 7 days)."
    )

    # Results of the admin buttons.
    webhook_registered_url = models.URLField(max_length=500, blank=True)
    webhook_set_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.CharField(max_length=500, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_webhook_ok = models.BooleanField(null=True, blank=True)
    last_webhook_message = models.CharField(max_length=500, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["messenger", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_messenger_display()})"

    def clean_fields(self, exclude=None) -> None:
        if not self.name and self.username:  # the seed's types without a Name field
            self.name = self.username
        super().clean_fields(exclude)

    def clean(self) -> None:
        """Per-type rules from the seed and the platforms; errors name the field to fix."""
        errors: dict[str, list[str]] = {}
        for field, message in _TYPE_RULES.get(self.messenger, lambda account: [])(self):
            errors.setdefault(field, []).append(message)
        if not errors and self.messenger in _IDENTITY_FIELD:
            errors.update(self._duplicate_errors())
        if errors:
            raise ValidationError(errors)

    def _duplicate_errors(self) -> dict[str, list[str]]:
        field = _IDENTITY_FIELD[self.messenger]
        value = getattr(self, field)
        others = IntegrationAccount.objects.filter(messenger=self.messenger, **{f"{field}__iexact": value})
        if value and others.exclude(pk=self.pk).exists():
            return {field: [f"Another {self.get_messenger_display()} account already uses {value}."]}
        return {}

    @property
    def is_simulated(self) -> bool:
        """True when the API base points at the built-in messenger simulator."""
        return "/simulator/api/" in f"{self.api_base}/"

    @property
    def api_base(self) -> str:
        """The platform API base URL in force for this account."""
        if self.api_base_url:
            return self.api_base_url.rstrip("/")
        return {
            Messenger.TELEGRAM: settings.TELEGRAM_API_BASE,
            Messenger.FACEBOOK: settings.FACEBOOK_GRAPH_API_BASE,
            Messenger.LINE: settings.LINE_API_BASE,
            Messenger.VIBER: settings.VIBER_API_BASE,
            Messenger.NEXMO: settings.VONAGE_API_BASE,
        }[self.messenger].rstrip("/")

    @property
    def webhook_path(self) -> str:
        return f"/webhooks/{self.messenger}/{self.id}/"

    @property
    def webhook_url(self) -> str:
        """The full URL the platform must call, built from PUBLIC_BASE_URL."""
        return f"{settings.PUBLIC_BASE_URL}{self.webhook_path}"


# --- Per-type validation --------------------------------------------------------------

TELEGRAM_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
TELEGRAM_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")
FACEBOOK_USERNAME_RE = re.compile(r"^[A-Za-z0-9.]{5,50}$")
DIGITS_RE = re.compile(r"^\d+$")
HOST_PORT_RE = re.compile(r"^(https?://)?[A-Za-z0-9.-]+(:\d{1,5})?/?$")

# The field that names the bot or page on the platform: two accounts may not share it.
_IDENTITY_FIELD = {Messenger.TELEGRAM: "username", Messenger.VIBER: "username", Messenger.FACEBOOK: "page_id"}


def _required(account, *fields: str):
    for field in fields:
        if not getattr(account, field):
            yield field, "This field is required."


def _telegram_rules(account):
    yield from _required(account, "username", "access_token")
    username = account.username
    if username.startswith("@"):
        yield "username", "Enter the bot username without the leading @."
    elif username and not (TELEGRAM_USERNAME_RE.match(username) and username.lower().endswith("bot")):
        yield "username", "A Telegram bot username has 5-32 letters, digits or underscores and ends in 'bot'."
    if account.access_token and not TELEGRAM_TOKEN_RE.match(account.access_token):
        yield "access_token", "This is not a Telegram bot token (it looks like 123456789:AAF... from @BotFather)."


def _facebook_rules(account):
    yield from _required(account, "username", "page_id", "access_token", "webhook_secret", "signing_secret")
    if account.username.startswith("@"):
        yield "username", "Enter the page username without the leading @."
    elif account.username and not FACEBOOK_USERNAME_RE.match(account.username):
        yield "username", "A page username has at least 5 letters, digits or periods."
    if account.page_id and not DIGITS_RE.match(account.page_id):
        yield "page_id", "The Page ID is a number (Page settings > About > Page ID)."
    if account.application_id and not DIGITS_RE.match(account.application_id):
        yield "application_id", "The App ID is a number (App Dashboard > Settings > Basic)."


def _line_rules(account):
    yield from _required(account, "access_token", "signing_secret")


def _viber_rules(account):
    yield from _required(account, "username", "access_token")
    if len(account.username) > 28:
        yield "username", "Viber shows at most 28 characters of the sender name; use the public account name."
    if account.webhook_host and not HOST_PORT_RE.match(account.webhook_host):
        yield "webhook_host", "Enter a host and optional port, e.g. cc.example.com:443."


def _nexmo_rules(account):
    yield from _required(account, "api_key", "api_secret", "signing_secret", "application_id", "sender_id")
    if account.sender_id and not (DIGITS_RE.match(account.sender_id) and 6 <= len(account.sender_id) <= 15):
        yield "sender_id", "Enter the number in international format, digits only (e.g. 447700900000)."
    if account.application_id:
        try:
            uuid.UUID(account.application_id)
        except ValueError:
            yield "application_id", "A Vonage application ID looks like aaaaaaaa-bbbb-cccc-dddd-0123456789ab."


_TYPE_RULES = {
    Messenger.TELEGRAM: _telegram_rules,
    Messenger.FACEBOOK: _facebook_rules,
    Messenger.LINE: _line_rules,
    Messenger.VIBER: _viber_rules,
    Messenger.NEXMO: _nexmo_rules,
}


class InboxEvent(models.Model):
    """One platform event taken in by a webhook: its dedupe key, and the work still to do.

    The webhook inserts these (`ON CONFLICT DO NOTHING` on account + platform event id is the
    dedupe) and answers 200; the inbox processor turns them into customers, chats, messages,
    receipts and chat events, in one customer's arrival order, and marks them processed in the
    same transaction.
    """

    # No index of its own: the unique (account, event_id) serves lookups by account, and
    # every index is written by the webhook's one INSERT.
    account = models.ForeignKey(
        "integrations.IntegrationAccount", on_delete=models.CASCADE, related_name="inbox", db_index=False
    )
    event_id = models.CharField(max_length=255, help_text="The platform's event id (update_id, mid, ...).")
    kind = models.CharField(max_length=16)
    # The platform's id of the customer: one customer's events are processed in arrival order.
    customer_key = models.CharField(max_length=255, blank=True)
    event = models.JSONField(help_text="The parsed event (integrations.providers.base.InboundEvent).")
    received_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=1000, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "event_id"], name="uniq_inbox_event")]
        indexes = [
            models.Index(fields=["id"], condition=Q(processed_at__isnull=True), name="inbox_unprocessed"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"
