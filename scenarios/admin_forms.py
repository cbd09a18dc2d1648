"""Admin forms: blocks edited inline with their exits, and the account assignment rule."""

import json
from zoneinfo import available_timezones

from django import forms
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify

from scenarios.blocks import REGISTRY
from scenarios.models import AccountAssignment, Block, HoursOfOperation
from scenarios.validation import BlockSpec, allowed_exits, validate_blocks


class BlockKeyInput(forms.TextInput):
    """A text input offering the scenario's block keys (a datalist), still free to type a new one."""

    def __init__(self, keys=(), attrs=None):
        super().__init__(attrs)
        self.keys = list(keys)

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id', name)}-keys"
        self.attrs["list"] = list_id
        options = format_html_join("", '<option value="{}">', ((key,) for key in self.keys))
        return format_html(
            '{}<datalist id="{}">{}</datalist>', super().render(name, value, attrs, renderer), list_id, options
        )


class BlockForm(forms.ModelForm):
    type = forms.ChoiceField(choices=[(t, b.label) for t, b in REGISTRY.items()])
    settings = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "class": "vLargeTextField"}),
        help_text='Settings of this block type as JSON (see "Block types: settings and exits" above).',
    )
    next_block = forms.CharField(
        required=False, label="Next block", help_text="Key of the block that follows (blank: the flow ends)."
    )
    other_exits = forms.CharField(
        required=False,
        label="Conditional exits",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text='One per line: Exit name = block key, e.g. "No Agents = sorry".',
    )

    class Meta:
        model = Block
        fields = ["order", "key", "title", "type", "settings", "next_block", "other_exits"]

    def __init__(self, *args, block_keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].required = False
        self.fields["key"].help_text = "Short id used by exits; made from the title when blank."
        self.fields["next_block"].widget = BlockKeyInput(block_keys)
        exits = dict(self.instance.exits or {})
        self.initial.setdefault("next_block", exits.pop("next", ""))
        self.initial.setdefault("other_exits", "\n".join(f"{name} = {key}" for name, key in exits.items()))
        if self.instance.pk:
            names = ", ".join(
                allowed_exits(BlockSpec(self.instance.key, "", self.instance.type, self.instance.settings))
            )
            self.fields["other_exits"].help_text += f" This block's exits: {names or 'none'}."

    def clean_settings(self):
        value = self.cleaned_data.get("settings")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError('Settings must be a JSON object, e.g. {"message": "Hello"}.')
        return value

    def clean_other_exits(self):
        exits = {}
        for number, line in enumerate((self.cleaned_data.get("other_exits") or "").splitlines(), 1):
            if not line.strip():
                continue
            name, sep, key = line.partition("=")
            if not sep or not name.strip() or not key.strip():
                raise forms.ValidationError(f'Line {number}: write "Exit name = block key".')
            exits[name.strip()] = key.strip()
        return exits

    def clean(self):
        data = super().clean()
        if not data.get("key") and data.get("title"):
            data["key"] = slugify(data["title"])[:50] or "block"
            self.instance.key = data["key"]
        exits = dict(data.get("other_exits") or {})
        if data.get("next_block"):
            exits["next"] = data["next_block"].strip()
        self.instance.exits = exits
        return data


class BlockFormSet(BaseInlineFormSet):
    """Validates the scenario as a whole: types, settings, exits, reachability."""

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if self.instance.pk:
            kwargs["block_keys"] = list(self.instance.blocks.values_list("key", flat=True))
        return kwargs

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            rows.append((data.get("order") or 0, form))
        rows.sort(key=lambda row: row[0])
        specs = [
            BlockSpec(
                form.cleaned_data["key"],
                form.cleaned_data["title"],
                form.cleaned_data["type"],
                form.cleaned_data["settings"],
                form.instance.exits,
            )
            for _, form in rows
        ]
        errors = validate_blocks(specs)
        if errors:
            raise forms.ValidationError(errors)


def block_types_reference() -> str:
    """HTML: each block type with its settings, exits and an example."""
    rows = format_html_join(
        "",
        "<tr><td><b>{}</b><br><code>{}</code></td><td>{}<ul>{}</ul>Example: <code>{}</code></td><td>{}</td></tr>",
        (
            (
                block.label,
                block.type,
                block.help,
                format_html_join("", "<li><code>{}</code>: {}</li>", block.settings_help.items()),
                json.dumps(block.example),
                ", ".join((["next"] if block.has_next else []) + list(block.fixed_exits)) or "none",
            )
            for block in REGISTRY.values()
        ),
    )
    return format_html(
        "<table><thead><tr><th>Type</th><th>Settings</th><th>Exits</th></tr></thead><tbody>{}</tbody></table>", rows
    )


class AccountAssignmentForm(forms.ModelForm):
    class Meta:
        model = AccountAssignment
        fields = ["account"]

    def clean_account(self):
        account = self.cleaned_data["account"]
        owner = (
            AccountAssignment.objects.filter(account=account)
            .exclude(pk=self.instance.pk)
            .select_related("entry", "service")
            .first()
        )
        if owner is not None:
            where = f'scenario entry "{owner.entry}"' if owner.entry_id else f'service "{owner.service}"'
            raise forms.ValidationError(
                f'"{account}" is already assigned to {where}. An account belongs to one entry or service only.'
            )
        return account


class AccountAssignmentFormSet(BaseInlineFormSet):
    """At most one account per messenger type on one entry or service."""

    def clean(self):
        super().clean()
        seen = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("account"):
                continue
            account = data["account"]
            if account.messenger in seen:
                kind = account.get_messenger_display()
                form.add_error("account", f'Only one {kind} account here ("{seen[account.messenger]}" is one already).')
            seen[account.messenger] = account


class HoursOfOperationForm(forms.ModelForm):
    class Meta:
        model = HoursOfOperation
        fields = ["name", "time_zone"]

    def clean_time_zone(self):
        zone = self.cleaned_data["time_zone"]
        if zone not in available_timezones():
            raise forms.ValidationError(f'"{zone}" is not a known time zone (e.g. Europe/Berlin, America/New_York).')
        return zone
