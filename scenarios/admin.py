"""Admin of skills, teams, hours, services, scenario entries, scenarios and their runs."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from scenarios.admin_forms import (
    AccountAssignmentForm,
    AccountAssignmentFormSet,
    BlockForm,
    BlockFormSet,
    HoursOfOperationForm,
    ScenarioEntryForm,
    block_form_fieldsets,
    block_types_reference,
)
from scenarios.blocks import REGISTRY
from scenarios.diagram import render_svg
from scenarios.models import (
    SYSTEM_MESSAGES,
    AccountAssignment,
    AccountChatSettings,
    Block,
    ChatSettings,
    Disposition,
    EntryChatSettings,
    Holiday,
    HoursOfOperation,
    Scenario,
    ScenarioEntry,
    ScenarioRun,
    Service,
    ServiceTeam,
    Skill,
    Team,
    WeeklyHours,
)
from scenarios.validation import validate_scenario


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "description"]
    list_filter = ["kind"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        # A service skill follows its service: renamed with it, never edited by hand.
        return ["name", "kind"] if obj is not None and obj.kind == Skill.Kind.SERVICE else []

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "kind":
            kwargs["choices"] = [(k, label) for k, label in Skill.Kind.choices if k != Skill.Kind.SERVICE]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]


class WeeklyHoursInline(admin.TabularInline):
    model = WeeklyHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(HoursOfOperation)
class HoursOfOperationAdmin(admin.ModelAdmin):
    form = HoursOfOperationForm
    list_display = ["name", "time_zone"]
    inlines = [WeeklyHoursInline, HolidayInline]


class AccountAssignmentInline(admin.TabularInline):
    model = AccountAssignment
    form = AccountAssignmentForm
    formset = AccountAssignmentFormSet
    fields = ["account"]
    extra = 0
    verbose_name = "messenger account"
    verbose_name_plural = "messenger accounts (at most one per messenger type)"


class ServiceAccountInline(AccountAssignmentInline):
    fk_name = "service"
    verbose_name_plural = "outbound messenger accounts (at most one per messenger type)"


class EntryAccountInline(AccountAssignmentInline):
    fk_name = "entry"


class DispositionInline(admin.TabularInline):
    model = Disposition
    extra = 0


class ServiceTeamInline(admin.TabularInline):
    model = ServiceTeam
    extra = 0
    verbose_name_plural = "assigned teams (members get the service skill at this level)"


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "skill", "hours_of_operation", "use_dispositions"]
    fields = ["name", "skill", "hours_of_operation", "use_dispositions"]
    readonly_fields = ["skill"]
    inlines = [ServiceTeamInline, DispositionInline, ServiceAccountInline]


# Each system message as one row: its mode (Custom / Disabled) beside its text.
SYSTEM_MESSAGE_ROWS = [(f"{prefix}_mode", f"{prefix}_text") for prefix, _ in SYSTEM_MESSAGES]


class EntryChatSettingsInline(admin.StackedInline):
    model = EntryChatSettings
    extra = 0
    max_num = 1
    verbose_name_plural = "chat settings overrides (blank fields take the tenant-wide chat settings)"
    fieldsets = [
        (None, {"fields": ["inactivity_timeout"]}),
        ("System chat messages", {"fields": SYSTEM_MESSAGE_ROWS}),
    ]


@admin.register(AccountChatSettings)
class AccountChatSettingsAdmin(admin.ModelAdmin):
    """Per integration account: its system chat messages over its entry's and the tenant's."""

    list_display = ["account", "overridden"]
    list_select_related = ["account"]
    search_fields = ["account__name"]
    fieldsets = [
        (None, {"fields": ["account"]}),
        ("System chat messages (blank: the entry's, else the tenant-wide value)", {"fields": SYSTEM_MESSAGE_ROWS}),
    ]

    @admin.display(description="Overrides")
    def overridden(self, obj):
        return ", ".join(label for prefix, label in SYSTEM_MESSAGES if getattr(obj, f"{prefix}_mode")) or "-"


@admin.register(ChatSettings)
class ChatSettingsAdmin(admin.ModelAdmin):
    """One tenant-wide set: the list opens the one row (or the add form the first time)."""

    fieldsets = [
        ("Inactivity timeout (messenger chats)", {"fields": ["inactivity_timeout"]}),
        ("System chat messages", {"fields": SYSTEM_MESSAGE_ROWS}),
        ("Agents", {"fields": ["ramp_up_interval", "outbound_no_response_timeout"]}),
    ]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ChatSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ScenarioEntry)
class ScenarioEntryAdmin(admin.ModelAdmin):
    form = ScenarioEntryForm
    list_display = ["name", "scenario", "service", "hours_of_operation", "enabled", "accounts"]
    list_filter = ["enabled"]
    fields = ["name", "enabled", "scenario", "service", "hours_of_operation", "error_message"]
    inlines = [EntryAccountInline, EntryChatSettingsInline]

    @admin.display(description="Accounts")
    def accounts(self, obj):
        return ", ".join(str(a.account) for a in obj.account_assignments.select_related("account"))


class BlockInline(admin.StackedInline):
    model = Block
    form = BlockForm
    formset = BlockFormSet
    extra = 0
    ordering = ["order", "id"]
    # Every type's settings and exits; the change form's script shows the selected type's.
    fieldsets = block_form_fieldsets()


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "block_count", "status"]
    fieldsets = [
        (None, {"fields": ["name", "description", "diagram"]}),
        ("Block types: settings and exits", {"classes": ["collapse"], "fields": ["block_types"]}),
    ]
    readonly_fields = ["diagram", "block_types"]
    inlines = [BlockInline]
    # "Save as new" copies the scenario with its blocks under a new name (the product's Save As).
    save_as = True
    save_as_continue = True

    def render_change_form(self, request, context, *args, **kwargs):
        context["block_types"] = {
            t: {
                "label": b.label,
                "help": b.help,
                "settings": b.settings_help,
                "example": b.example,
                "exits": (["next"] if b.has_next else []) + list(b.fixed_exits),
                "has_next": b.has_next,
            }
            for t, b in REGISTRY.items()
        }
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description="Blocks")
    def block_count(self, obj):
        return obj.blocks.count()

    @admin.display(description="Validation")
    def status(self, obj):
        errors = validate_scenario(obj)
        return "OK" if not errors else f"{len(errors)} problem(s)"

    @admin.display(description="Flowchart")
    def diagram(self, obj):
        if obj is None or obj.pk is None:
            return "Save the scenario to see its flowchart."
        blocks = list(obj.blocks.order_by("order", "id"))
        svg = render_svg(blocks, type_labels={t: b.label for t, b in REGISTRY.items()})
        errors = validate_scenario(obj)
        notes = format_html_join("", '<p class="errornote">{}</p>', ((e,) for e in errors))
        # render_svg escapes every text it draws.
        return format_html("{}{}", mark_safe(svg), notes)  # noqa: S308

    @admin.display(description="Block types")
    def block_types(self, obj):
        return block_types_reference()


@admin.register(ScenarioRun)
class ScenarioRunAdmin(admin.ModelAdmin):
    list_display = ["interaction", "scenario", "entry", "state", "current_block", "steps", "started_at", "short_error"]
    list_filter = ["state", "scenario"]
    search_fields = ["interaction__id", "error"]
    readonly_fields = [f.name for f in ScenarioRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Error")
    def short_error(self, obj):
        return obj.error[:80]
