"""The simulator's own admin: the fake platforms' accounts, their webhooks and failure injection."""

from django.contrib import admin, messages

from simulator import delivery
from simulator.models import SimAccount, SimCustomer, SimDelivery, SimMessage, SimRequest


@admin.register(SimAccount)
class SimAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "platform", "username", "webhook_url", "echo_mode", "forced_error", "drop_mode"]
    list_filter = ["platform"]
    search_fields = ["name", "username", "platform_id"]
    actions = ["verify_facebook_callback", "retry_due_deliveries"]
    fieldsets = [
        (None, {"fields": ["platform", "name", "username", "platform_id"]}),
        (
            "Credentials (the platform's copy; fake sandbox credentials)",
            {"fields": ["token", "secret", "app_id", "api_key", "api_secret", "public_key"]},
        ),
        (
            "Webhook registered by the contact center (Vonage: paste the inbound and status URLs)",
            {
                "fields": [
                    "webhook_url",
                    "webhook_secret",
                    "webhook_events",
                    "webhook_active",
                    "status_url",
                    "last_error_at",
                    "last_error_message",
                ]
            },
        ),
        ("Failure injection", {"fields": ["latency_ms", "rate_limit", "forced_error", "drop_mode", "echo_mode"]}),
    ]
    readonly_fields = ["last_error_at", "last_error_message"]

    @admin.action(description="Facebook: verify the callback URL (hub.challenge handshake)")
    def verify_facebook_callback(self, request, queryset):
        for account in queryset.filter(platform="facebook"):
            ok, reason = delivery.verify_facebook_callback(
                account=account, url=account.webhook_url, verify_token=account.webhook_secret
            )
            level = messages.SUCCESS if ok else messages.ERROR
            self.message_user(request, f"{account.name}: {'verified' if ok else reason}", level)

    @admin.action(description="Retry due webhook deliveries now")
    def retry_due_deliveries(self, request, queryset):
        done = sum(delivery.deliver_due(account=account) for account in queryset)
        self.message_user(request, f"{done} deliveries attempted.")


@admin.register(SimCustomer)
class SimCustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "key", "external_id", "created_at"]
    list_filter = ["account"]


@admin.register(SimMessage)
class SimMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "customer", "direction", "text", "echo", "dropped", "created_at"]
    list_filter = ["account", "direction"]


@admin.register(SimRequest)
class SimRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "platform", "method", "path", "status_code", "created_at"]
    list_filter = ["platform", "status_code"]
    readonly_fields = [f.name for f in SimRequest._meta.fields]


@admin.register(SimDelivery)
class SimDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "kind", "url", "status", "attempts", "last_status_code", "next_attempt_at"]
    list_filter = ["status", "kind"]
