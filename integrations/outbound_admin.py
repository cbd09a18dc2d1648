"""Admin of outbound messages: by status, account and messenger; failures with the platform's
reason; a Retry action; send statistics per account above the list."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone

from conversations.models import Message
from integrations import delivery
from integrations.outbound_models import OutboundMessage

STATUSES = [value for value, _ in Message.Status.choices if value != Message.Status.RECEIVED]


def send_statistics(*, since: dt.datetime) -> list[dict]:
    """Per account: outbound messages written since `since`, by status."""
    counts = {f"n_{status}": Count("id", filter=Q(status=status)) for status in STATUSES}
    rows = (
        Message.objects.filter(direction=Message.Direction.OUTBOUND, created_at__gte=since)
        .values("account_id", "account__name", "account__messenger")
        .annotate(total=Count("id"), **counts)
        .order_by("account__messenger", "account__name")
    )
    return [
        {
            "account": row["account__name"],
            "messenger": row["account__messenger"],
            "total": row["total"],
            "by_status": [row[f"n_{status}"] for status in STATUSES],
        }
        for row in rows
    ]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "account", "customer", "sender", "short_text", "status", "attempts", "reason"]
    list_filter = ["status", "account__messenger", "account", "sender"]
    search_fields = ["text", "platform_message_id", "customer__external_id", "error_text"]
    date_hierarchy = "created_at"
    list_select_related = ["account", "customer"]
    actions = ["retry"]
    readonly_fields = [
        "interaction",
        "account",
        "customer",
        "sender",
        "sender_user",
        "text",
        "status",
        "platform_message_id",
        "error_code",
        "error_text",
        "attempts",
        "idempotency_key",
        "next_attempt_at",
        "sending_started_at",
        "sent_at",
        "delivered_at",
        "read_at",
        "created_at",
    ]
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(direction=Message.Direction.OUTBOUND)

    def has_add_permission(self, request):
        return False  # messages are written by scenarios and agents

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 60 else obj.text[:59] + "…"

    @admin.display(description="failure reason")
    def reason(self, obj):
        if not obj.error_text and not obj.error_code:
            return ""
        return f"{obj.error_code}: {obj.error_text}" if obj.error_code else obj.error_text

    def has_retry_permission(self, request):
        return request.user.has_perm("conversations.change_message")

    @admin.action(description="Retry the selected failed messages", permissions=["retry"])
    def retry(self, request, queryset):
        requeued = delivery.retry_failed(message_ids=list(queryset.values_list("pk", flat=True)))
        skipped = queryset.count() - requeued
        self.message_user(request, f"{requeued} message(s) queued again.", messages.SUCCESS)
        if skipped > 0:
            self.message_user(request, f"{skipped} message(s) were not failed and were left alone.", messages.WARNING)

    def changelist_view(self, request, extra_context=None):
        since = timezone.now() - dt.timedelta(hours=24)
        extra_context = {
            **(extra_context or {}),
            "send_statistics": send_statistics(since=since),
            "statistics_statuses": [label for value, label in Message.Status.choices if value in STATUSES],
        }
        return super().changelist_view(request, extra_context=extra_context)
