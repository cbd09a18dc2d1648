"""Admin forms: blocks edited inline with per-type settings and exits, and the account rule.

Block settings: every setting a block type declares (its `settings_help`) becomes a form field
named `<type>__<setting>`; SETTING_KINDS picks the widget (text by default), so adding a
setting to a block type adds its field. Only the selected type's fields are read on save; the
change form's script hides the other types' fields (without JavaScript every field shows,
labelled with its type). Errors from the block type's own check land on the field they name.

Exits: one input per exit of the type (`next`, and each fixed exit such as "No Agents") with
the scenario's block keys to pick from. These are text inputs backed by a datalist rather than
plain selects, because a new scenario is built in one save: the blocks an exit points to may
be typed in the same submission and have no stored key yet. The script keeps the lists in step
with the keys typed on the page, and the formset refuses any key that names no block. Exits
whose names come from the settings (If and Switch branch labels) are posted as lines
"Exit label = block key" in "Branch exits"; the script replaces that box with one key input
per branch label, rebuilt as the branches are typed.
"""

import json
from zoneinfo import available_timezones

from django import forms
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify

from scenarios.blocks import REGISTRY
from scenarios.models import AccountAssignment, Block, HoursOfOperation, ScenarioEntry, Skill
from scenarios.validation import BlockSpec, validate_blocks, validate_scenario

# Widget of each setting that is not a one-line text; (type, setting) -> kind.
SETTING_KINDS = {
    ("send_message", "message"): "textarea",
    ("if", "branches"): "json",
    ("switch", "branches"): "pairs",
    ("switch", "ignore_case"): "bool",
    ("find_agent", "extra_skills"): "skills",
    ("find_agent", "priority"): "number",
    ("find_agent", "intervals"): "json",
    ("find_agent", "queue_limit"): "number",
    ("find_agent", "initial_message"): "textarea",
    ("find_agent", "periodic_message"): "textarea",
    ("find_agent", "periodic_every"): "number",
    ("connect_chat", "no_answer_timeout"): "number",
    ("connect_chat", "auto_answer_after"): "number",
    ("wait", "seconds"): "number",
    ("request_input", "message"): "textarea",
    ("request_input", "timeout"): "number",
}
BRANCH_EXIT_TYPES = ("if", "switch")


class PairsField(forms.CharField):
    """Switch branches as lines "value = Exit label" <-> [{"value": ..., "exit": ...}]."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(f"{b.get('value', '')} = {b.get('exit', '')}" for b in value if isinstance(b, dict))
        return value

    def to_python(self, value):
        pairs = []
        for number, line in enumerate((value or "").splitlines(), 1):
            if not line.strip():
                continue
            text, sep, label = line.rpartition("=")
            if not sep or not label.strip():
                raise forms.ValidationError(f'Line {number}: write "value = Exit label".')
            pairs.append({"value": text.strip(), "exit": label.strip()})
        return pairs


class NumberField(forms.FloatField):
    """A number stored as an int when it is whole (5, not 5.0)."""

    def to_python(self, value):
        number = super().to_python(value)
        return int(number) if number is not None and number.is_integer() else number


def setting_field(block_type, name: str) -> forms.Field:
    kind = SETTING_KINDS.get((block_type.type, name), "text")
    options = {
        "required": False,
        "label": f"{block_type.label}: {name.replace('_', ' ')}",
        "help_text": block_type.settings_help[name],
    }
    if kind == "textarea":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), strip=False, **options)
    if kind == "number":
        return NumberField(**options)
    if kind == "bool":
        return forms.BooleanField(**options)
    if kind == "skills":
        return forms.ModelMultipleChoiceField(queryset=Skill.objects.order_by("name"), to_field_name="name", **options)
    if kind == "pairs":
        return PairsField(**{**options, "help_text": 'One per line: "value = Exit label", e.g. "1 = Sales".'})
    if kind == "json":
        example = json.dumps(block_type.example.get(name))
        return forms.JSONField(
            widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "class": "vLargeTextField"}),
            **{**options, "help_text": f"JSON. {options['help_text']} Example: {example}"},
        )
    return forms.CharField(**options)


def fixed_exits(block_type) -> list[str]:
    """Exits a type always has (Switch's Default included); branch labels come on top."""
    return [] if block_type.type == "if" else block_type.exit_names({})


def exit_field_name(type_: str, exit_name: str) -> str:
    return f"{type_}__exit__{slugify(exit_name).replace('-', '_')}"


SETTING_FIELDS = {t: {f"{t}__{name}": name for name in b.settings_help} for t, b in REGISTRY.items()}
EXIT_FIELDS = {t: {exit_field_name(t, e): e for e in fixed_exits(b)} for t, b in REGISTRY.items()}


class BlockKeyInput(forms.TextInput):
    """A text input offering the scenario's block keys (a datalist), still free to type a new one."""

    def __init__(self, keys=(), attrs=None):
        super().__init__({"class": "block-key-input", **(attrs or {})})
        self.keys = list(keys)

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id', name)}-keys"
        attrs = {**(attrs or {}), "list": list_id}
        options = format_html_join("", '<option value="{}">', ((key,) for key in self.keys))
        return format_html(
            '{}<datalist id="{}">{}</datalist>', super().render(name, value, attrs, renderer), list_id, options
        )


class BaseBlockForm(forms.ModelForm):
    type = forms.ChoiceField(choices=[(t, b.label) for t, b in REGISTRY.items()])
    next_block = forms.CharField(
        required=False, label="Next block", help_text="Key of the block that follows (blank: the flow ends)."
    )
    other_exits = forms.CharField(
        required=False,
        label="Branch exits (If, Switch)",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text='One per line: branch exit label = block key, e.g. "Closed = closed".',
    )

    class Meta:
        model = Block
        fields = ["order", "key", "title", "type", "next_block", "other_exits"]

    def __init__(self, *args, block_keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].required = False
        self.fields["key"].help_text = "Short id used by exits; made from the title when blank."
        for name in ["next_block", *(n for fields in EXIT_FIELDS.values() for n in fields)]:
            self.fields[name].widget = BlockKeyInput(block_keys)
        exits = dict(self.instance.exits or {})
        settings = self.instance.settings if isinstance(self.instance.settings, dict) else {}
        self.initial.setdefault("next_block", exits.pop("next", ""))
        for field, setting in SETTING_FIELDS.get(self.instance.type, {}).items():
            self.initial.setdefault(field, settings.get(setting))
        for field, exit_name in EXIT_FIELDS.get(self.instance.type, {}).items():
            self.initial.setdefault(field, exits.pop(exit_name, ""))
        self.initial.setdefault("other_exits", "\n".join(f"{name} = {key}" for name, key in exits.items()))

    def clean_other_exits(self):
        exits = {}
        for number, line in enumerate((self.cleaned_data.get("other_exits") or "").splitlines(), 1):
            if not line.strip():
                continue
            name, sep, key = line.rpartition("=")
            if not sep or not name.strip() or not key.strip():
                raise forms.ValidationError(f'Line {number}: write "Exit name = block key".')
            exits[name.strip()] = key.strip()
        return exits

    def clean(self):
        data = super().clean()
        if not data.get("key") and data.get("title"):
            data["key"] = slugify(data["title"])[:50] or "block"
            self.instance.key = data["key"]
        type_ = data.get("type")
        if type_ not in REGISTRY:
            return data
        settings = {}
        for field, setting in SETTING_FIELDS[type_].items():
            value = data.get(field)
            if hasattr(value, "values_list"):  # chosen skills -> their names
                value = [skill.name for skill in value]
            if not (value is None or value is False or (isinstance(value, str | list) and not value)):
                settings[setting] = value
        for problem in REGISTRY[type_].clean_settings(settings):
            self.add_error(self._field_for(type_, problem, settings), problem)
        data["settings"] = self.instance.settings = settings
        exits = dict(data.get("other_exits") or {})
        for field, exit_name in EXIT_FIELDS[type_].items():
            if (data.get(field) or "").strip():
                exits[exit_name] = data[field].strip()
        if (data.get("next_block") or "").strip():
            exits["next"] = data["next_block"].strip()
        self.instance.exits = exits
        return data

    @staticmethod
    def _field_for(type_: str, problem: str, settings: dict) -> str | None:
        """The settings field a problem names ('"seconds" must be ...', '"item.x" is set by ...')."""
        for field, setting in SETTING_FIELDS[type_].items():
            value = settings.get(setting)
            if f'"{setting}"' in problem or (isinstance(value, str) and value and f'"{value}"' in problem):
                return field
        if problem.startswith(("Interval", "Branch", "No skill named", "At most")):
            wanted = {"Interval": "intervals", "Branch": "branches", "No skill": "extra_skills", "At most": "branches"}
            for prefix, setting in wanted.items():
                if problem.startswith(prefix) and f"{type_}__{setting}" in SETTING_FIELDS[type_]:
                    return f"{type_}__{setting}"
        return None


# One declared field per setting and per fixed exit of every block type.
BlockForm = type(
    "BlockForm",
    (BaseBlockForm,),
    {
        **{
            field: setting_field(REGISTRY[t], name)
            for t, fields in SETTING_FIELDS.items()
            for field, name in fields.items()
        },
        **{
            field: forms.CharField(required=False, label=f"{REGISTRY[t].label}: exit {exit_name}")
            for t, fields in EXIT_FIELDS.items()
            for field, exit_name in fields.items()
        },
        "__module__": __name__,
    },
)


def block_form_fieldsets() -> list[tuple]:
    """The inline's layout: the block, its settings, its exits (all types; the script hides)."""
    return [
        (None, {"fields": ["order", "key", "title", "type"]}),
        ("Settings", {"fields": [f for fields in SETTING_FIELDS.values() for f in fields]}),
        (
            "Exits",
            {"fields": ["next_block", *(f for fields in EXIT_FIELDS.values() for f in fields), "other_exits"]},
        ),
    ]


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


class ScenarioEntryForm(forms.ModelForm):
    """An entry refuses a scenario that does not validate (the scenario editor's own checks)."""

    class Meta:
        model = ScenarioEntry
        fields = ["name", "enabled", "scenario", "service", "hours_of_operation", "error_message"]

    def clean_scenario(self):
        scenario = self.cleaned_data.get("scenario")
        if scenario is not None:
            errors = validate_scenario(scenario)
            if errors:
                raise forms.ValidationError([f'"{scenario}" does not validate: {e}' for e in errors[:5]])
        return scenario
