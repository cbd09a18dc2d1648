"""The simulator's own admin: the fake platforms' accounts, their webhooks and failure injection."""

from django import forms
from django.contrib import admin, messages

from contactcenter.logging import mask_secret
from simulator import delivery
from simulator.factories import fresh_credentials
from simulator.models import SimAccount, SimCustomer, SimDelivery, SimMessage, SimRequest

SECRET_FIELDS = ["token", "secret", "api_secret"]


class SimAccountForm(forms.ModelForm):
    """Credentials are write-only: blank keeps the stored one, or on a new account generates
    one in the platform's shape."""

    class Meta:
        model = SimAccount
        fields = "__all__"  # noqa: DJ007 (the fieldsets choose what is shown)
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            self.fields[name].required = False
            stored = getattr(self.instance, name, "")
            self.fields[
                name
            ].help_text = f"{self.fields[name].help_text} Currently: {mask_secret(stored)}; blank keeps it."

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            for name in SECRET_FIELDS:
                if not cleaned.get(name):
                    cleaned[name] = getattr(self.instance, name)
            return cleaned
        # A new account: whatever identity or credential is left blank is generated.
        for name, value in fresh_credentials(cleaned.get("platform") or "telegram").items():
            if not cleaned.get(name):
                cleaned[name] = value
        return cleaned


@admin.register(SimAccount)
class SimAccountAdmin(admin.ModelAdmin):
    form = SimAccountForm
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
