"""Admin: API tokens (shown once, stored hashed), event webhooks and their delivery log."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from api import event_webhooks
from api.models import ApiToken, EventKind, WebhookAttempt, WebhookDelivery, WebhookSubscription, hash_token


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ["user", "name"] if obj is None else ["user", "name", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "user") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        _, raw = ApiToken.issue(user=obj.user, name=obj.name)
        issued = ApiToken.objects.get(key_hash=hash_token(raw))
        obj.pk, obj.key_hash, obj.prefix, obj.created_at = issued.pk, issued.key_hash, issued.prefix, issued.created_at
        obj._state.adding = False
        self.message_user(
            request,
            f"The new token is {raw} : copy it now, it is shown only this once (only its hash is stored).",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)


class WebhookSubscriptionForm(forms.ModelForm):
    event_kinds = forms.MultipleChoiceField(choices=EventKind.choices, widget=forms.CheckboxSelectMultiple)
    secret = forms.CharField(
        required=False,
        strip=True,
        min_length=16,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Signs every request (HMAC-SHA256). Leave blank to keep the current one; on a new "
        "webhook, blank generates one that is shown once.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "event_kinds", "enabled", "secret"]

    def clean_secret(self):
        value = self.cleaned_data.get("secret")
        if not value and not self.instance._state.adding:
            return self.instance.secret
        return value


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ("name", "url", "enabled", "kinds")
    list_filter = ("enabled",)

    @admin.display(description="events")
    def kinds(self, obj) -> str:
        return ", ".join(obj.event_kinds or [])

    def save_model(self, request, obj, form, change):
        generated = not change and not form.cleaned_data.get("secret")
        if generated:
            obj.secret = WebhookSubscription._meta.get_field("secret").get_default()
        super().save_model(request, obj, form, change)
        if generated:
            self.message_user(
                request,
                f"The signing secret is {obj.secret} : copy it into the receiver now, it is not shown again.",
                messages.WARNING,
            )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "status_code", "error", "duration_ms", "ok")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "subscription", "kind", "event_id", "status", "attempts", "last_status_code")
    list_filter = ("status", "kind", "subscription")
    search_fields = ("event_id",)
    readonly_fields = (
        "subscription",
        "event_id",
        "kind",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    )
    fields = readonly_fields
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_redeliver_permission(self, request) -> bool:
        return request.user.has_perm("api.change_webhookdelivery")

    @admin.action(description="Redeliver now", permissions=["redeliver"])
    def redeliver(self, request, queryset):
        count = event_webhooks.redeliver(list(queryset))
        self.message_user(request, f"{count} deliver(y/ies) queued again.", messages.SUCCESS)
