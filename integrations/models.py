"""Integration accounts: one row per linked bot, page, channel or Vonage application."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from encrypted_model_fields.fields import EncryptedCharField


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
    messenger = models.CharField(max_length=16, choices=Messenger.choices)
    name = models.CharField(max_length=100, help_text="A name for this account, shown to administrators.")
    enabled = models.BooleanField(default=True)

    # Identity on the platform.
    username = models.CharField(
        max_length=100,
        blank=True,
        help_text="Telegram bot username, Viber public account name or Facebook page username.",
    )
    page_id = models.CharField(max_length=64, blank=True, help_text="Facebook Page ID.")
    application_id = models.CharField(max_length=64, blank=True, help_text="Vonage application ID.")
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

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["messenger", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_messenger_display()})"

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
