"""One admin form per messenger type, with the seed's labels and help texts.

Credentials are write-only: a password input that never renders the stored value, a blank
field keeps it, and the help text shows only "set, ends in …1234".
"""

from __future__ import annotations

import json

from django import forms
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from contactcenter.logging import mask_secret
from integrations.apibase import ApiBaseRefused, check_api_base_url
from integrations.models import IntegrationAccount, Messenger

SECRET_FIELDS = ("access_token", "signing_secret", "api_secret", "webhook_secret", "private_key")
# The credentials the platform calls carry: sent to wherever the API base URL points.
API_CREDENTIAL_FIELDS = ("access_token", "api_secret", "private_key")


class VerifyTokenInput(forms.PasswordInput):
    """The Facebook verify token input with its "Generate random token" button: the button
    fetches a fresh token from the admin and shows it in the field, to copy into the Facebook
    app's Webhooks > Verify Token; it is stored when the form is saved."""

    def __init__(self, attrs=None):
        super().__init__(attrs, render_value=False)

    def value_omitted_from_data(self, data, files, name):
        # Never fall back to the model's random default: a verify token nobody knows is useless.
        return False

    def render(self, name, value, attrs=None, renderer=None):
        field = super().render(name, None, attrs, renderer)
        try:
            url = reverse("admin:integrations_integrationaccount_generate_token")
        except NoReverseMatch:  # the form used outside the admin
            return field
        input_id = (attrs or {}).get("id") or f"id_{name}"
        return format_html(
            '{}<button type="button" class="button" id="{}_generate" data-url="{}">Generate random token</button>'
            "<script>{}</script>",
            field,
            input_id,
            url,
            mark_safe(_GENERATE_SCRIPT % {"id": json.dumps(input_id)}),  # noqa: S308 (our constant, JSON-quoted id)
        )


_GENERATE_SCRIPT = """
(function () {
  const input = document.getElementById(%(id)s);
  const button = document.getElementById(%(id)s + "_generate");
  button.addEventListener("click", async function () {
    const csrf = button.form.querySelector("input[name=csrfmiddlewaretoken]").value;
    const response = await fetch(button.dataset.url, {
      method: "POST", headers: {"X-CSRFToken": csrf}, credentials: "same-origin"});
    if (!response.ok) { button.textContent = "Generate random token (failed, try again)"; return; }
    input.type = "text";
    input.value = (await response.json()).token;
    input.select();
  });
})();
"""


class WriteOnlyTextarea(forms.Textarea):
    """A textarea for multi-line secrets (a PEM key) that never renders the stored value."""

    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


class AccountForm(forms.ModelForm):
    """Shared behaviour; a subclass per messenger names its fields, labels and help texts."""

    messenger: str = ""
    labels: dict[str, tuple[str, str]] = {}
    api_base_url = forms.URLField(
        label="API base URL",
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text="Leave blank for the platform's address from the settings. Point it at the messenger "
        "simulator (…/simulator/api/<messenger>) to try the account without the real platform.",
    )

    class Meta:
        model = IntegrationAccount
        fields = ["name", "enabled", "api_base_url"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.messenger = self.messenger
        for name, (label, help_text) in self.labels.items():
            field = self.fields[name]
            field.label, field.help_text = label, help_text
        for name in self.secret_field_names:
            self._make_write_only(name)
        if "username" in self.fields and "name" in self.fields:
            self.fields["name"].required = False
            self.fields["name"].help_text = "A name for this account; leave blank to use the username."

    @property
    def _adding(self) -> bool:
        # A new account already has its UUID (and a generated webhook secret): ask the state.
        return self.instance._state.adding

    @property
    def secret_field_names(self) -> list[str]:
        return [name for name in SECRET_FIELDS if name in self.fields]

    def _make_write_only(self, name: str) -> None:
        field = self.fields[name]
        stored = "" if self._adding else getattr(self.instance, name)
        if not isinstance(field.widget, forms.PasswordInput | WriteOnlyTextarea):
            field.widget = forms.PasswordInput()
        if isinstance(field.widget, forms.PasswordInput):
            field.widget.render_value = False
        field.widget.attrs.update(autocomplete="new-password", spellcheck="false")
        if isinstance(field.widget, forms.PasswordInput):
            field.widget.attrs.setdefault("class", "vTextField")
        field.required = False  # required on create is checked by the model, after the blank-keeps rule
        field.strip = True
        current = f"Currently {mask_secret(stored)}; leave blank to keep it." if stored else ""
        field.help_text = " ".join(filter(None, [field.help_text, current]))

    def clean_api_base_url(self):
        url = self.cleaned_data.get("api_base_url") or ""
        if not self._adding and url == (self.instance.api_base_url or ""):
            return url  # unchanged: other edits of an account keep working
        try:
            check_api_base_url(url)
        except ApiBaseRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url

    def _base_url_changed_without_credentials(self) -> list[str]:
        """Stored API credentials the admin did not type again while moving the API base URL:
        whoever changes where the token goes must know the token."""
        if self._adding or "api_base_url" not in self.changed_data:
            return []
        return [
            name
            for name in API_CREDENTIAL_FIELDS
            if name in self.fields and getattr(self.instance, name) and not self.cleaned_data.get(name)
        ]

    def clean(self):
        cleaned = super().clean()
        for name in self._base_url_changed_without_credentials():
            self.add_error(name, "Enter this credential again to change the API base URL.")
        for name in self.secret_field_names:
            if not cleaned.get(name) and not self._adding:
                cleaned[name] = getattr(self.instance, name)  # blank keeps the stored value
        if "name" in self.fields and not cleaned.get("name") and cleaned.get("username"):
            cleaned["name"] = cleaned["username"]
        return cleaned


def _secret(label: str, help_text: str, *, widget=None) -> forms.CharField:
    return forms.CharField(label=label, help_text=help_text, required=False, widget=widget or forms.PasswordInput)


class TelegramAccountForm(AccountForm):
    messenger = Messenger.TELEGRAM
    labels = {"username": ("Bot Username", "The exact username of your Telegram bot, e.g. acme_support_bot.")}
    access_token = _secret(
        "Token",
        "The API token for your Telegram bot. You must get the token from Telegram (@BotFather); "
        "you cannot generate one here.",
    )

    class Meta(AccountForm.Meta):
        fields = ["name", "username", "access_token", "enabled", "api_base_url"]


class FacebookAccountForm(AccountForm):
    messenger = Messenger.FACEBOOK
    labels = {
        "username": ("Page Username", "The exact username of your Facebook Page, without the @."),
        "page_id": ("Page ID", "The exact page ID for your Facebook Page."),
        "application_id": (
            "App ID",
            "Optional: your Facebook app's ID. With it, Set Webhook also registers the app's Callback URL and "
            "Verify Token; without it, enter them in the App Dashboard (Webhooks) yourself.",
        ),
        "allow_human_agent_tag": (
            "Human Agent tag",
            "The app has the Human Agent permission: agents may reply up to 7 days after the customer's last message.",
        ),
    }
    access_token = _secret("Access Token", "The Page Access Token for your Facebook Page.")
    webhook_secret = _secret(
        "Webhook Verify Token",
        "The token used to confirm that Facebook is the real server, which is needed for Facebook to send you "
        "a message from the customer. If you do not have a token, click Generate random token, then copy and "
        "paste it into your Facebook App management page in Webhooks > Edit Page Subscription > Verify Token.",
        widget=VerifyTokenInput,
    )
    signing_secret = _secret(
        "App Secret",
        "Your Facebook app's secret (App Dashboard > Settings > Basic); it verifies the signature of every webhook.",
    )

    class Meta(AccountForm.Meta):
        fields = [
            "name",
            "username",
            "page_id",
            "access_token",
            "webhook_secret",
            "signing_secret",
            "application_id",
            "allow_human_agent_tag",
            "enabled",
            "api_base_url",
        ]


class LineAccountForm(AccountForm):
    messenger = Messenger.LINE
    labels = {
        "name": ("Name", "The name of your integration account (this does not need to be your LINE@ account name).")
    }
    access_token = _secret("Access Token", "The access token for your LINE@ account (channel access token).")
    signing_secret = _secret(
        "Channel Secret", "The channel secret (LINE Developers console > Basic settings); it verifies every webhook."
    )

    class Meta(AccountForm.Meta):
        fields = ["name", "access_token", "signing_secret", "enabled", "api_base_url"]


class NexmoAccountForm(AccountForm):
    messenger = Messenger.NEXMO
    labels = {
        "name": ("Name", "The name of your integration account (can be any name of your choosing)."),
        "api_key": (
            "API Key",
            "The API key that was created when you created a Nexmo account. You can find the API key and "
            "secret in your Nexmo Dashboard account settings.",
        ),
        "application_id": ("Application ID", "The Vonage application (with the Messages capability) of this number."),
        "sender_id": ("Sender Number", "The number customers write to, in international format, digits only."),
    }
    api_secret = _secret(
        "API Secret",
        "The API secret that was created when you created a Nexmo account. You can find the API key and "
        "secret in your Nexmo Dashboard account settings.",
    )
    signing_secret = _secret(
        "Signature Secret", "Dashboard > Settings > Signature secret; it verifies the signed webhooks."
    )
    private_key = _secret(
        "Private Key",
        "Optional: the application's private key (PEM). When set, messages are sent with an application JWT.",
        widget=WriteOnlyTextarea(attrs={"rows": 4}),
    )

    class Meta(AccountForm.Meta):
        fields = [
            "name",
            "api_key",
            "api_secret",
            "signing_secret",
            "application_id",
            "sender_id",
            "private_key",
            "enabled",
            "api_base_url",
        ]


class ViberAccountForm(AccountForm):
    messenger = Messenger.VIBER
    labels = {
        "username": ("Bot Username", "The exact name of your Viber Public Account username."),
        "webhook_host": (
            "Webhook URL (host and port)",
            "The address of your server and port number (e.g., “cc.example.com:443”), used by Set Webhook. "
            "Leave blank to use PUBLIC_BASE_URL. If you do not know the server URL or port number, ask your "
            "system administrator.",
        ),
    }
    access_token = _secret(
        "Token", "The password that is given to you after your Public Account application is approved."
    )

    class Meta(AccountForm.Meta):
        fields = ["name", "username", "access_token", "webhook_host", "enabled", "api_base_url"]


FORMS: dict[str, type[AccountForm]] = {
    Messenger.TELEGRAM: TelegramAccountForm,
    Messenger.FACEBOOK: FacebookAccountForm,
    Messenger.LINE: LineAccountForm,
    Messenger.NEXMO: NexmoAccountForm,
    Messenger.VIBER: ViberAccountForm,
}
