"""Agents, their states and skills, the chats offered to them, and the ACD queue.

The database is the record of who holds which chat: routing decisions are taken under row
locks on Agent rows (see routing.py), and partial unique indexes make sure a chat is never
pending with two agents at once.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class NotReadyReason(models.Model):
    """Why an agent is Not Ready: custom ones managed in the admin, system ones applied by us."""

    class System(models.TextChoices):
        MISSED_CHAT = "missed_chat", "Missed chat"
        REJECTED_CHAT = "rejected_chat", "Rejected chat"
        SUPERVISOR = "supervisor", "Set by supervisor"

    name = models.CharField(max_length=100, unique=True)
    system_code = models.CharField(
        max_length=32,
        choices=System.choices,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="Set on the reasons the system applies by itself; their name may be changed.",
    )
    counts_as_break = models.BooleanField(default=False)
    active = models.BooleanField(default=True, help_text="Offered to agents in the state selector.")

    class Meta:
        ordering = ["system_code", "name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def system(cls, code: str) -> "NotReadyReason":
        """The system reason for `code`, created on first use."""
        reason, _ = cls.objects.get_or_create(
            system_code=code, defaults={"name": cls.System(code).label, "active": False}
        )
        return reason


class Agent(models.Model):
    """A user who takes chats: team, skills, capacity and current state."""

    class State(models.TextChoices):
        LOGGED_OUT = "logged_out", "Logged out"
        NOT_READY = "not_ready", "Not Ready"
        READY = "ready", "Ready"
        BUSY = "busy", "Busy"
        AFTER_CALL_WORK = "acw", "After Call Work"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile")
    team = models.ForeignKey("scenarios.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="agents")
    chat_share = models.PositiveSmallIntegerField(
        default=25,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Share of the agent's capacity one chat takes, in percent (25 % = four chats at once).",
    )
    ready_on_login = models.BooleanField(default=False, help_text="Go Ready at once when logging in.")

    state = models.CharField(max_length=16, choices=State.choices, default=State.LOGGED_OUT)
    not_ready_reason = models.ForeignKey(
        NotReadyReason, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Not Ready was asked for (or imposed) while chats were open: applied when they end.
    pending_not_ready_reason = models.ForeignKey(
        NotReadyReason, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pending_not_ready = models.BooleanField(default=False)
    state_since = models.DateTimeField(default=timezone.now)
    # "Longest idle" for routing: moved to now when the agent goes Ready or gets a chat.
    idle_since = models.DateTimeField(default=timezone.now)
    # Agent ramp-up (Chat Settings): no further chat is offered before this time.
    ramp_up_until = models.DateTimeField(null=True, blank=True)

    # Socket presence, separate from the login state above.
    connections = models.PositiveIntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    presence_deadline = models.DateTimeField(
        null=True, blank=True, help_text="No socket since the disconnect: logged out at this time."
    )

    class Meta:
        ordering = ["user__username"]
        indexes = [
            models.Index(
                fields=["presence_deadline"], condition=Q(presence_deadline__isnull=False), name="agent_presence_due"
            ),
            models.Index(fields=["ramp_up_until"], condition=Q(ramp_up_until__isnull=False), name="agent_ramp_up_due"),
        ]

    def __str__(self) -> str:
        return self.user.get_username()

    @property
    def capacity(self) -> int:
        """How many chats the agent may hold at once."""
        return max(1, 100 // self.chat_share)

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class AgentSkill(models.Model):
    """An auxiliary or language skill given by hand. Service skills also come through the team."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey("scenarios.Skill", on_delete=models.CASCADE, related_name="agent_skills")
    level = models.PositiveSmallIntegerField(default=50, validators=[MinValueValidator(1), MaxValueValidator(100)])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "skill"], name="uniq_skill_per_agent")]

    def __str__(self) -> str:
        return f"{self.skill} {self.level}"


class AgentStateChange(models.Model):
    """One period in a state: history for supervisors and reports."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="state_changes")
    state = models.CharField(max_length=16, choices=Agent.State.choices)
    reason = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cause = models.CharField(max_length=64, blank=True, help_text="What made the change: agent, offer missed, ...")

    class Meta:
        ordering = ["agent", "started_at", "id"]
        indexes = [models.Index(fields=["agent", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.agent} {self.state} from {self.started_at:%H:%M:%S}"


class ChatAssignment(models.Model):
    """One agent's part in one chat: reserved by routing, offered, active, wrapped up."""

    class Status(models.TextChoices):
        RESERVED = "reserved", "Reserved"
        OFFERED = "offered", "Offered"
        ACTIVE = "active", "Active"
        WRAP_UP = "wrap_up", "Wrap-up"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected"
        MISSED = "missed", "Missed"
        CANCELLED = "cancelled", "Cancelled"
        TRANSFERRED = "transferred", "Transferred"

    class Origin(models.TextChoices):
        SCENARIO = "scenario", "Scenario (Find Agent)"
        TRANSFER = "transfer", "Transfer"
        OUTBOUND = "outbound", "Agent-started chat"

    # Statuses that take a share of the agent's capacity.
    HOLDING = (Status.RESERVED, Status.OFFERED, Status.ACTIVE)
    PENDING = (Status.RESERVED, Status.OFFERED)

    interaction = models.ForeignKey("conversations.Interaction", on_delete=models.CASCADE, related_name="assignments")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="assignments")
    service = models.ForeignKey("scenarios.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RESERVED)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.SCENARIO)

    reserved_at = models.DateTimeField(default=timezone.now)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_deadline = models.DateTimeField(null=True, blank=True)
    auto_answer_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_cause = models.CharField(max_length=32, blank=True)
    acw_deadline = models.DateTimeField(null=True, blank=True)
    wrapped_at = models.DateTimeField(null=True, blank=True)

    disposition = models.ForeignKey(
        "scenarios.Disposition", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(blank=True)
    transferred_from = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    transfer_note = models.TextField(blank=True)
    # The last message the agent has seen; inbound ones after it count as unread.
    last_read_message_id = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["reserved_at", "id"]
        constraints = [
            # A chat is pending (reserved or offered) with one agent at a time ...
            models.UniqueConstraint(
                fields=["interaction"],
                condition=Q(status__in=["reserved", "offered"]),
                name="one_pending_offer_per_interaction",
            ),
            # ... and connected to one agent at a time.
            models.UniqueConstraint(
                fields=["interaction"], condition=Q(status="active"), name="one_active_agent_per_interaction"
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "status"]),
            models.Index(fields=["status", "offer_deadline"], name="assignment_offer_due"),
            models.Index(fields=["status", "acw_deadline"], name="assignment_acw_due"),
        ]

    def __str__(self) -> str:
        return f"{self.agent} / interaction {self.interaction_id} ({self.status})"


class QueuedChat(models.Model):
    """A chat waiting in the ACD queue for an agent with the skills (priority, then arrival)."""

    interaction = models.OneToOneField("conversations.Interaction", on_delete=models.CASCADE, related_name="queued")
    service = models.ForeignKey("scenarios.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    skill_ids = models.JSONField(default=list, help_text="Every skill the agent needs.")
    min_level = models.PositiveSmallIntegerField(default=1)
    priority = models.IntegerField(default=0)
    origin = models.CharField(
        max_length=16, choices=ChatAssignment.Origin.choices, default=ChatAssignment.Origin.SCENARIO
    )
    transferred_from = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    transfer_note = models.TextField(blank=True)
    enqueued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-priority", "enqueued_at", "id"]
        indexes = [models.Index(fields=["-priority", "enqueued_at", "id"], name="queue_order")]

    def __str__(self) -> str:
        return f"Queued interaction {self.interaction_id} (priority {self.priority})"


class ServiceDeskSettings(models.Model):
    """Agent Desktop settings of one service: After Call Work and its time limit."""

    service = models.OneToOneField("scenarios.Service", on_delete=models.CASCADE, related_name="desk_settings")
    after_call_work = models.BooleanField(default=True, help_text="Agents go to After Call Work when a chat ends.")
    acw_time_limit = models.PositiveIntegerField(
        default=120, help_text="Seconds of After Call Work before the agent is made Ready; 0 = no limit."
    )

    class Meta:
        verbose_name = "service desk settings"
        verbose_name_plural = "service desk settings"

    def __str__(self) -> str:
        return f"Desk settings of {self.service}"


class CannedResponse(models.Model):
    """A prepared reply; %F and %L are replaced by the customer's first and last name."""

    service = models.ForeignKey(
        "scenarios.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_responses",
        help_text="Empty: offered in every service.",
    )
    title = models.CharField(max_length=100)
    text = models.TextField()
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "title"]

    def __str__(self) -> str:
        return self.title

    def fill(self, *, first_name: str, last_name: str) -> str:
        return self.text.replace("%F", first_name).replace("%L", last_name)


class PrivateNote(models.Model):
    """A note inside a chat for agents and supervisors only: never sent to the customer."""

    interaction = models.ForeignKey("conversations.Interaction", on_delete=models.CASCADE, related_name="private_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["interaction", "created_at"])]

    def __str__(self) -> str:
        return f"Note on interaction {self.interaction_id} by {self.author}"


class HandledRequest(models.Model):
    """A desktop action's request id, stored in the action's transaction: a re-sent action
    (after a reconnect) finds its id here and is answered without being applied again."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    request_id = models.CharField(max_length=64)
    action = models.CharField(max_length=32)
    handled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "request_id"], name="uniq_request_per_agent")]
        indexes = [models.Index(fields=["handled_at"])]

    def __str__(self) -> str:
        return f"{self.agent} {self.action} {self.request_id}"
