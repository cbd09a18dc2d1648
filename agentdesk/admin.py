"""Admin of agents, Not Ready reasons, canned responses and per-service desk settings."""

from django.contrib import admin

from agentdesk.models import (
    Agent,
    AgentSkill,
    AgentStateChange,
    CannedResponse,
    ChatAssignment,
    NotReadyReason,
    QueuedChat,
    ServiceDeskSettings,
)


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    extra = 1


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "state", "not_ready_reason", "state_since", "chat_share", "connections"]
    list_filter = ["state", "team"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    readonly_fields = [
        "state",
        "not_ready_reason",
        "pending_not_ready",
        "pending_not_ready_reason",
        "state_since",
        "idle_since",
        "connections",
        "last_seen_at",
        "presence_deadline",
    ]
    inlines = [AgentSkillInline]
    raw_id_fields = ["user"]


@admin.register(NotReadyReason)
class NotReadyReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "system_code", "counts_as_break", "active"]
    list_filter = ["counts_as_break", "active"]


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "service", "order"]
    list_filter = ["service"]
    search_fields = ["title", "text"]


@admin.register(ServiceDeskSettings)
class ServiceDeskSettingsAdmin(admin.ModelAdmin):
    list_display = ["service", "after_call_work", "acw_time_limit"]


@admin.register(AgentStateChange)
class AgentStateChangeAdmin(admin.ModelAdmin):
    list_display = ["agent", "state", "reason", "started_at", "ended_at", "cause", "changed_by"]
    list_filter = ["state"]
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ChatAssignment)
class ChatAssignmentAdmin(admin.ModelAdmin):
    list_display = ["interaction", "agent", "status", "origin", "service", "offered_at", "accepted_at", "ended_at"]
    list_filter = ["status", "origin", "service"]
    raw_id_fields = ["interaction", "agent", "transferred_from", "disposition"]

    def has_add_permission(self, request):
        return False


@admin.register(QueuedChat)
class QueuedChatAdmin(admin.ModelAdmin):
    list_display = ["interaction", "service", "priority", "enqueued_at", "origin"]
    raw_id_fields = ["interaction", "transferred_from"]

    def has_add_permission(self, request):
        return False
