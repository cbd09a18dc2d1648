"""Read-only admin of customers, chat sessions and their transcripts.

These rows are written by webhooks, scenarios and agents only; the admin shows them.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from conversations.models import Customer, Interaction, MediaStatus, Message, PendingReceipt


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class InteractionInline(admin.TabularInline):
    model = Interaction
    fields = ("global_id", "status", "agent", "opened_at", "closed_at", "closed_reason")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class TranscriptInline(admin.TabularInline):
    """The chat transcript of an interaction, oldest first."""

    model = Message
    fields = (
        "created_at",
        "direction",
        "sender",
        "sender_user",
        "kind",
        "text",
        "attachment_shown",
        "status",
        "error_text",
    )
    readonly_fields = fields
    ordering = ("id",)

    @admin.display(description="Attachment")
    def attachment_shown(self, message: Message) -> str:
        """The file by name and size (a link to it once stored), a location, or why it is missing."""
        a = message.attachment or {}
        if message.kind == "location" and "latitude" in a:
            return f"📍 {a['latitude']}, {a['longitude']}"
        name = a.get("name") or a.get("file_name") or ""
        if message.media_status == MediaStatus.STORED and message.media:
            size = a.get("size") or 0
            return format_html(
                '<a href="{}">{}</a> ({} bytes)', reverse("agentdesk:media", args=[message.pk]), name, size
            )
        if message.media_status == MediaStatus.FAILED:
            return f"{name or message.kind}: not available ({a.get('error', '')})"
        if message.media_status:
            return f"{name or message.kind}: {message.get_media_status_display().lower()}"
        return ""

    extra = 0
    can_delete = False
    verbose_name_plural = "transcript"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "account", "external_id", "username", "language", "unreachable_at", "last_inbound_at")
    list_filter = ("account__messenger", "account")
    search_fields = ("external_id", "display_name", "first_name", "last_name", "username")
    readonly_fields = [f.name for f in Customer._meta.fields]
    inlines = [InteractionInline]


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdmin):
    list_display = ("pk", "customer", "account", "status", "agent", "opened_at", "closed_at")
    list_filter = ("status", "account__messenger", "account", "agent", "assignments__service")
    search_fields = ("global_id", "customer__external_id", "customer__display_name", "customer__username")
    list_select_related = ("customer", "account", "agent")
    readonly_fields = [f.name for f in Interaction._meta.fields]
    date_hierarchy = "opened_at"
    inlines = [TranscriptInline]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("pk", "created_at", "interaction", "direction", "sender", "kind", "short_text", "status")
    list_filter = ("direction", "kind", "status", "account__messenger")
    search_fields = ("text", "platform_message_id", "platform_event_id")
    list_select_related = ("interaction",)
    readonly_fields = [f.name for f in Message._meta.fields]

    @admin.display(description="text")
    def short_text(self, obj: Message) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"


@admin.register(PendingReceipt)
class PendingReceiptAdmin(ReadOnlyAdmin):
    """Receipts that arrived before the send call that they confirm had returned."""

    list_display = ("platform_message_id", "status", "account", "received_at")
    list_filter = ("status", "account")
    search_fields = ("platform_message_id",)
