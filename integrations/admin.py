"""Admin of integration accounts: a type picker, one form per type, and the seed's buttons
(Set Webhook, Test Connection, Generate random token) as POST-only views over services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from contactcenter.logging import mask_secret
from integrations import services, unrouted
from integrations.forms import FORMS, SECRET_FIELDS
from integrations.models import InboxEvent, IntegrationAccount, Messenger
from integrations.providers import get_provider

sensitive_post_parameters_m = method_decorator(sensitive_post_parameters())
require_post_m = method_decorator(require_POST)


def _yes_no_unknown(ok: bool | None, text: str) -> str:
    icon = {True: "yes", False: "no", None: "unknown"}[ok]
    return format_html('<img src="{}" alt="{}"> {}', static(f"admin/img/icon-{icon}.svg"), icon, text)


@admin.register(IntegrationAccount)
class IntegrationAccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "messenger",
        "enabled",
        "scenario_entry_display",
        "webhook_url_display",
        "webhook_health_display",
        "last_test_display",
    ]
    list_filter = ["messenger", "enabled"]
    list_select_related = ["assignment__entry"]
    search_fields = ["name", "username", "page_id", "application_id"]
    actions = ["test_connection_action", "set_webhook_action"]
    change_form_template = "admin/integrations/integrationaccount/change_form.html"

    # --- Per-type forms ---------------------------------------------------------------

    def _messenger(self, request, obj=None) -> str:
        if obj is not None:
            return obj.messenger
        value = request.GET.get("messenger", "")
        return value if value in Messenger.values else ""

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = FORMS[self._messenger(request, obj)]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        form = FORMS[self._messenger(request, obj)]
        main = [name for name in form.Meta.fields if name != "api_base_url"]
        fieldsets = [(None, {"fields": (["messenger"] if obj else []) + main})]
        if obj is not None:
            status = [
                "scenario_entry_display",
                "webhook_url_display",
                "credentials_display",
                "last_webhook_display",
                "last_test_display",
            ]
            fieldsets.append(("Webhook and connection", {"fields": status}))
        fieldsets.append(("Advanced", {"classes": ["collapse"], "fields": ["api_base_url"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "messenger",
            "scenario_entry_display",
            "webhook_url_display",
            "credentials_display",
            "last_webhook_display",
            "last_test_display",
        ]

    def add_view(self, request, form_url="", extra_context=None):
        messenger = self._messenger(request)
        if not messenger:  # the seed's "+ then select the type"
            return self.type_picker_view(request)
        label = Messenger(messenger).label
        extra_context = {**(extra_context or {}), "title": f"Add {label} integration account"}
        return super().add_view(request, form_url, extra_context)

    def type_picker_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        add_url = reverse("admin:integrations_integrationaccount_add")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Select the type of messenger integration account",
            "types": [(label, f"{add_url}?messenger={value}") for value, label in Messenger.choices],
        }
        return TemplateResponse(request, "admin/integrations/integrationaccount/type_picker.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        account = self.get_object(request, unquote(object_id))
        if account is not None:
            extra_context = {**(extra_context or {}), "account_buttons": self._buttons(account)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _buttons(self, account: IntegrationAccount) -> list[tuple[str, str]]:
        # Every messenger's API can register a webhook, so every type has both buttons.
        return [
            ("Set Webhook", self._url("set_webhook", account)),
            ("Test Connection", self._url("test_connection", account)),
        ]

    def _url(self, name: str, account: IntegrationAccount) -> str:
        return reverse(f"admin:integrations_integrationaccount_{name}", args=[account.pk])

    # --- Read-only displays -----------------------------------------------------------

    @admin.display(description="Scenario entry")
    def scenario_entry_display(self, obj: IntegrationAccount) -> str:
        assignment = getattr(obj, "assignment", None)
        entry = assignment.entry if assignment is not None else None
        if entry is not None and entry.enabled:
            return entry.name
        if not obj.enabled:
            return "—"
        return format_html(
            '<span class="unrouted"><img src="{}" alt="warning"> {}</span>',
            static("admin/img/icon-alert.svg"),
            f"{unrouted.WARNING} {unrouted.HINT}",
        )

    @admin.display(description="Webhook URL")
    def webhook_url_display(self, obj: IntegrationAccount) -> str:
        url = services.webhook_target_url(obj)
        style = "display:inline-block;max-width:26em;word-break:break-all"  # long UUID URLs wrap
        extra = get_provider(obj.messenger).extra_webhook_urls(url)
        lines = format_html_join("", "<br>{}: {}", extra.items())
        return format_html('<span style="{}">{}{}</span>', style, url, lines)

    @admin.display(description="Webhook health")
    def webhook_health_display(self, obj: IntegrationAccount) -> str:
        ok, text = services.webhook_health(account=obj)
        return _yes_no_unknown(ok, text)

    @admin.display(description="Last Set Webhook")
    def last_webhook_display(self, obj: IntegrationAccount) -> str:
        if obj.last_webhook_ok is None:
            return "never"
        return _yes_no_unknown(obj.last_webhook_ok, obj.last_webhook_message)

    @admin.display(description="Last test")
    def last_test_display(self, obj: IntegrationAccount) -> str:
        if obj.last_test_at is None:
            return "never"
        when = obj.last_test_at.strftime("%Y-%m-%d %H:%M UTC")
        return _yes_no_unknown(obj.last_test_ok, f"{obj.last_test_message} ({when})")

    @admin.display(description="Credentials")
    def credentials_display(self, obj: IntegrationAccount) -> str:
        form = FORMS[obj.messenger]
        names = [name for name in SECRET_FIELDS if name in form.Meta.fields]
        parts = [f"{form.base_fields[name].label}: {mask_secret(getattr(obj, name))}" for name in names]
        return format_html("{}", "; ".join(parts))

    # --- Buttons ----------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/set-webhook/",
                wrap(self.set_webhook_view),
                name="integrations_integrationaccount_set_webhook",
            ),
            path(
                "<path:object_id>/test-connection/",
                wrap(self.test_connection_view),
                name="integrations_integrationaccount_test_connection",
            ),
            path(
                "generate-token/",
                wrap(self.generate_token_view),
                name="integrations_integrationaccount_generate_token",
            ),
        ] + super().get_urls()

    def _account_for_button(self, request, object_id) -> IntegrationAccount:
        account = self.get_object(request, unquote(object_id))
        if account is None or not self.has_change_permission(request, account):
            raise PermissionDenied
        return account

    def _back(self, account: IntegrationAccount) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:integrations_integrationaccount_change", args=[account.pk]))

    @sensitive_post_parameters_m
    @require_post_m
    def set_webhook_view(self, request, object_id):
        account = self._account_for_button(request, object_id)
        self._set_webhook(request, account)
        return self._back(account)

    @sensitive_post_parameters_m
    @require_post_m
    def test_connection_view(self, request, object_id):
        account = self._account_for_button(request, object_id)
        self._test_connection(request, account)
        return self._back(account)

    @method_decorator(never_cache)
    @sensitive_post_parameters_m
    @require_post_m
    def generate_token_view(self, request):
        """A fresh verify token for the form being filled in; it is stored only on Save."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        return JsonResponse({"token": services.generate_verify_token()})

    def _set_webhook(self, request, account: IntegrationAccount, *, bulk: bool = False) -> None:
        outcome = services.account_set_webhook(account=account)
        prefix = f"{account}: " if bulk else ""
        self.message_user(request, prefix + outcome.message, messages.SUCCESS if outcome.ok else messages.ERROR)
        if outcome.info:
            self.message_user(request, prefix + outcome.info, messages.INFO)
        self.log_change(request, account, f"Set Webhook: {'ok' if outcome.ok else 'failed'}")

    def _test_connection(self, request, account: IntegrationAccount, *, bulk: bool = False) -> None:
        result = services.account_test_connection(account=account)
        prefix = f"{account}: " if bulk else ""
        if result.ok:
            self.message_user(request, f"{prefix}Test Connection succeeded: {result.message}", messages.SUCCESS)
        else:
            self.message_user(request, f"{prefix}Test Connection failed: {result.message}", messages.ERROR)
        self.log_change(request, account, f"Test Connection: {'ok' if result.ok else 'failed'}")

    # --- Bulk actions -----------------------------------------------------------------

    @admin.action(description="Test Connection", permissions=["change"])
    def test_connection_action(self, request, queryset):
        for account in queryset:
            self._test_connection(request, account, bulk=True)

    @admin.action(description="Set Webhook", permissions=["change"])
    def set_webhook_action(self, request, queryset):
        for account in queryset:
            self._set_webhook(request, account, bulk=True)


# Outbound messages (a proxy of conversations.Message) are administered in their own module.
from integrations import outbound_admin  # noqa: E402, F401


@admin.register(InboxEvent)
class InboxEventAdmin(admin.ModelAdmin):
    """The webhook inbox: every platform event taken in, and whether it was processed."""

    list_display = ("event_id", "kind", "account", "received_at", "processed_at", "attempts", "last_error")
    list_filter = ("kind", "account", ("processed_at", admin.EmptyFieldListFilter))
    search_fields = ("event_id", "customer_key")
    readonly_fields = [f.name for f in InboxEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
