"""A proxy of conversations.Message for the outbound admin (same table, no columns of its own)."""

from conversations.models import Message


class OutboundMessage(Message):
    class Meta:
        proxy = True
        app_label = "integrations"
        verbose_name = "outbound message"
        verbose_name_plural = "outbound messages"
