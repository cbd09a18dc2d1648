"""API tokens (stored hashed), event webhook subscriptions and their delivery log."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from encrypted_model_fields.fields import EncryptedCharField

TOKEN_PREFIX = "cc_"  # noqa: S105 (a marker that makes leaked tokens easy to spot, not a secret)


def hash_token(raw: str) -> str:
    """Tokens are long random strings, so one SHA-256 (no salt, no stretching) is enough to
    make a stolen database useless while keeping the per-request look-up a single index hit."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A per-user API token. Only its hash is stored; the token itself is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'CRM sync'.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters, to tell tokens apart in the admin without revealing them.
    prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, *, user, name: str) -> tuple[ApiToken, str]:
        """Create a token for `user`; returns the row and the raw token (never stored)."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, key_hash=hash_token(raw), prefix=raw[:10])
        return token, raw

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class EventKind(models.TextChoices):
    INTERACTION_CREATED = "interaction.created", "Interaction created"
    INTERACTION_ASSIGNED = "interaction.assigned", "Interaction assigned"
    INTERACTION_ENDED = "interaction.ended", "Interaction ended"
    MESSAGE_CREATED = "message.created", "Message created"
    MESSAGE_STATUS_CHANGED = "message.status_changed", "Message status changed"
    AGENT_STATE_CHANGED = "agent.state_changed", "Agent state changed"


def generate_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookSubscription(models.Model):
    """An integrator's endpoint that receives the chosen event kinds, signed with its secret."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text="Receives a POST with a JSON body per event.")
    # Encrypted at rest like the integration credentials; never shown back.
    secret = EncryptedCharField(max_length=200, default=generate_webhook_secret)
    event_kinds = models.JSONField(default=list, help_text="The event kinds sent to this endpoint.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "event webhook"

    def __str__(self) -> str:
        return self.name

    def wants(self, kind: str) -> bool:
        return self.enabled and kind in (self.event_kinds or [])


class WebhookDelivery(models.Model):
    """One event for one subscription: the body signed and sent, retried until it is taken."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    # The exact bytes sent on every attempt (the signature covers them).
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # publish() may be called twice for one event: the receiver still gets it once.
            models.UniqueConstraint(fields=["subscription", "event_id"], name="uniq_delivery_per_event")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id} -> {self.subscription}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, the response code (or the network error), how long."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    ok = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error}"
