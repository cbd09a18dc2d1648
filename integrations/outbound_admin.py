"""Admin of outbound messages: by status, account and messenger; failures with the platform's
reason; stuck messages (past the sweeper's window) with their age and why they wait; a Retry
action for failed and stuck ones; send statistics per account above the list."""

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


class StuckFilter(admin.SimpleListFilter):
    """Queued longer than OUTBOUND_QUEUED_GRACE, or sending longer than OUTBOUND_SENDING_TIMEOUT."""

    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [("yes", "Stuck (past the sweeper's window)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(delivery.stuck_q(now=timezone.now())).order_by("pk")
        return queryset


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "account",
        "customer",
        "sender",
        "short_text",
        "status",
        "attempts",
        "waiting",
        "reason",
    ]
    list_filter = [StuckFilter, "status", "account__messenger", "account", "sender"]
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
        queryset = super().get_queryset(request).filter(direction=Message.Direction.OUTBOUND)
        return delivery.with_older_pending(queryset)

    def has_add_permission(self, request):
        return False  # messages are written by scenarios and agents

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 60 else obj.text[:59] + "…"

    @admin.display(description="waiting")
    def waiting(self, obj):
        """Age of a message not sent yet (queued or sending)."""
        if obj.status not in delivery.PENDING:
            return ""
        return delivery.format_duration(delivery.age(obj, now=timezone.now()))

    @admin.display(description="reason")
    def reason(self, obj):
        """Why a pending message waits, or the platform's reason for a failure."""
        if obj.status in delivery.PENDING:
            # older_pending_id comes annotated by get_queryset (0: none), so no query per row.
            older = getattr(obj, "older_pending_id", None) or 0
            return delivery.stuck_reason(obj, now=timezone.now(), older_pending_id=older)
        if not obj.error_text and not obj.error_code:
            return ""
        return f"{obj.error_code}: {obj.error_text}" if obj.error_code else obj.error_text

    def has_retry_permission(self, request):
        return request.user.has_perm("conversations.change_message")

    @admin.action(description="Retry the selected failed or stuck messages", permissions=["retry"])
    def retry(self, request, queryset):
        result = delivery.retry(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{len(result.requeued)} message(s) queued again.", messages.SUCCESS)
        if result.behind:
            ids = ", ".join(f"#{pk}" for pk in result.behind)
            self.message_user(
                request,
                f"{ids} will go after an older pending message of the same customer (messages go in order).",
                messages.WARNING,
            )
        if result.in_flight:
            ids = ", ".join(f"#{pk}" for pk in result.in_flight)
            self.message_user(
                request, f"{ids} are being sent right now and were left alone (no second send).", messages.WARNING
            )
        if result.skipped:
            self.message_user(
                request,
                f"{len(result.skipped)} message(s) were already sent and were left alone.",
                messages.WARNING,
            )

    def changelist_view(self, request, extra_context=None):
        since = timezone.now() - dt.timedelta(hours=24)
        extra_context = {
            **(extra_context or {}),
            "send_statistics": send_statistics(since=since),
            "statistics_statuses": [label for value, label in Message.Status.choices if value in STATUSES],
        }
        return super().changelist_view(request, extra_context=extra_context)
