"""The flow: scenarios and their blocks, entries and account assignment, runs and timers.

Account assignment: an integration account belongs to one scenario entry or one service
only. AccountAssignment is the single join table for both; `account` is unique and a check
constraint says exactly one of entry/service is set, so the database itself refuses a second
owner. The per-messenger rule (at most one account of each messenger type per entry/service)
is a unique constraint on (entry, messenger) and (service, messenger), with `messenger`
copied from the account on save.
"""

import uuid

from django.db import models
from django.db.models import Q

from integrations.models import Messenger
from scenarios.models.org import ChatSettings, HoursOfOperation, Service, check_system_messages


class Scenario(models.Model):
    """A named flow of blocks; the first block (lowest order) is where a run starts."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Block(models.Model):
    """One step of a scenario. `exits` maps exit name ("next", "No Agents", ...) to a block key."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="blocks")
    key = models.SlugField(max_length=50, help_text="Stable id of the block inside its scenario.")
    order = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=100)
    type = models.CharField(max_length=32)
    settings = models.JSONField(default=dict, blank=True)
    exits = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["scenario", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["scenario", "key"], name="uniq_block_key_per_scenario")]

    def __str__(self) -> str:
        return f"{self.title} ({self.type})"


class ScenarioEntry(models.Model):
    """A chat entry: messages arriving on its accounts start its scenario."""

    name = models.CharField(max_length=100, unique=True)
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="entries")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries")
    hours_of_operation = models.ForeignKey(
        HoursOfOperation, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries"
    )
    error_message = models.CharField(
        max_length=500,
        default="Sorry, something went wrong on our side. An agent will get back to you.",
        help_text="Sent to the customer when a scenario block fails.",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "scenario entries"

    def __str__(self) -> str:
        return self.name


class AccountAssignment(models.Model):
    """An integration account attached to exactly one scenario entry or one service."""

    account = models.OneToOneField(
        "integrations.IntegrationAccount", on_delete=models.CASCADE, related_name="assignment"
    )
    messenger = models.CharField(max_length=16, choices=Messenger.choices, editable=False)
    entry = models.ForeignKey(
        ScenarioEntry, null=True, blank=True, on_delete=models.CASCADE, related_name="account_assignments"
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="account_assignments"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(entry__isnull=False, service__isnull=True) | Q(entry__isnull=True, service__isnull=False)),
                name="assignment_entry_xor_service",
            ),
            models.UniqueConstraint(
                fields=["entry", "messenger"], condition=Q(entry__isnull=False), name="one_account_per_messenger_entry"
            ),
            models.UniqueConstraint(
                fields=["service", "messenger"],
                condition=Q(service__isnull=False),
                name="one_account_per_messenger_service",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} -> {self.entry or self.service}"

    def save(self, *args, **kwargs):
        self.messenger = self.account.messenger
        super().save(*args, **kwargs)


class ScenarioRun(models.Model):
    """The state of one interaction's scenario: where it is, its variables, what it waits for."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    interaction = models.OneToOneField(
        "conversations.Interaction", on_delete=models.CASCADE, related_name="scenario_run"
    )
    entry = models.ForeignKey(ScenarioEntry, null=True, on_delete=models.SET_NULL, related_name="runs")
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="runs")
    current_block = models.CharField(max_length=50, blank=True, help_text="Key of the block being run.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    # Event kinds the current block waits for (e.g. ["customer_message", "timer"]).
    waiting_for = models.JSONField(default=list, blank=True)
    # Per-block scratch state (e.g. the id of the pending timer, the escalation step).
    block_state = models.JSONField(default=dict, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    steps = models.PositiveIntegerField(default=0, help_text="Blocks run so far.")
    # Customer messages are handed over at least once; ids at or below this one are seen.
    last_message_id = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"Run of {self.scenario} for interaction {self.interaction_id}"


class ScenarioTimer(models.Model):
    """A persisted deadline of a run, fired by the beat sweeper or a countdown task."""

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    run = models.ForeignKey(ScenarioRun, on_delete=models.CASCADE, related_name="timers")
    kind = models.CharField(max_length=32, help_text="What the timer is for: wait, input_timeout, queue_message, ...")
    block = models.CharField(max_length=50, help_text="Block key that set the timer.")
    due_at = models.DateTimeField()
    # fired_at: handed to the engine; handled_at: the engine consumed it (or it was stale).
    fired_at = models.DateTimeField(null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(handled_at__isnull=True, cancelled_at__isnull=True),
                name="timer_pending_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} timer of run {self.run_id} due {self.due_at:%Y-%m-%d %H:%M:%S}"


class HandledChatEvent(models.Model):
    """A chat event the engine has handled: written in the same transaction as its effects,
    so a second dispatch of the same event finds it and changes nothing."""

    event = models.OneToOneField(
        "conversations.ChatEvent", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    handled_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"chat event {self.event_id} handled"


class ChatSettingsOverride(models.Model):
    """The system chat messages an entry or an account may override: each blank field takes
    the value of the level above (account > entry > tenant-wide)."""

    Mode = ChatSettings.Mode
    INHERIT = "Blank: the value of the level above."

    inactivity_warning_mode = models.CharField(max_length=16, choices=Mode.choices, blank=True, help_text=INHERIT)
    inactivity_warning_text = models.CharField(max_length=500, blank=True)
    inactivity_timeout_mode = models.CharField(max_length=16, choices=Mode.choices, blank=True, help_text=INHERIT)
    inactivity_timeout_text = models.CharField(max_length=500, blank=True)
    agent_joined_mode = models.CharField(max_length=16, choices=Mode.choices, blank=True, help_text=INHERIT)
    agent_joined_text = models.CharField(max_length=500, blank=True, help_text="{agent}: the agent's first name.")
    agent_left_mode = models.CharField(max_length=16, choices=Mode.choices, blank=True, help_text=INHERIT)
    agent_left_text = models.CharField(max_length=500, blank=True, help_text="{agent}: the agent's first name.")
    chat_transferred_mode = models.CharField(max_length=16, choices=Mode.choices, blank=True, help_text=INHERIT)
    chat_transferred_text = models.CharField(
        max_length=500, blank=True, help_text="{agent}: the transferring agent's first name."
    )
    chat_ended_mode = models.CharField(max_length=16, choices=Mode.choices, blank=True, help_text=INHERIT)
    chat_ended_text = models.CharField(max_length=500, blank=True, help_text="{agent}: the agent's first name.")

    class Meta:
        abstract = True

    def clean(self):
        check_system_messages(self)


class EntryChatSettings(ChatSettingsOverride):
    """Chat settings of one scenario entry: each blank field takes the tenant-wide value."""

    entry = models.OneToOneField(ScenarioEntry, on_delete=models.CASCADE, related_name="chat_settings")
    inactivity_timeout = models.PositiveIntegerField(null=True, blank=True, help_text="Blank: the tenant-wide value.")

    class Meta:
        verbose_name = "chat settings override"
        verbose_name_plural = "chat settings overrides"

    def __str__(self) -> str:
        return f"Chat settings of {self.entry}"


class AccountChatSettings(ChatSettingsOverride):
    """System chat messages of one integration account: over its entry's and the tenant's.

    Lives here, not in integrations, because the integrations app sits below scenarios."""

    account = models.OneToOneField(
        "integrations.IntegrationAccount", on_delete=models.CASCADE, related_name="chat_settings"
    )

    class Meta:
        verbose_name = "account chat settings"
        verbose_name_plural = "account chat settings"

    def __str__(self) -> str:
        return f"Chat settings of {self.account}"


class SystemMessageEvent(models.Model):
    """A chat event the system-message listener has handled (scenarios.system_messages):
    written with the message it queued, so a second dispatch sends nothing more."""

    event = models.OneToOneField(
        "conversations.ChatEvent", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    handled_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"system message of chat event {self.event_id}"


class ChatInactivity(models.Model):
    """The inactivity deadline of one open chat: warn at half the timeout, close at the timeout.

    Counted from `base_at`, the last customer or agent message the deadline knows of; a
    newer message moves it forward when the deadline is next looked at. Fired by a countdown
    task and by the beat sweeper, so it survives restarts.
    """

    interaction = models.OneToOneField("conversations.Interaction", on_delete=models.CASCADE, related_name="inactivity")
    timeout = models.PositiveIntegerField(help_text="Seconds.")
    warning_text = models.CharField(max_length=500, blank=True, help_text="Empty: no warning.")
    closing_text = models.CharField(max_length=500, blank=True, help_text="Empty: closed without a message.")
    base_at = models.DateTimeField()
    warn_at = models.DateTimeField(null=True, blank=True)
    close_at = models.DateTimeField()
    warned_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "chat inactivity deadlines"
        indexes = [models.Index(fields=["close_at"], condition=Q(done_at__isnull=True), name="inactivity_pending")]

    def __str__(self) -> str:
        return f"Inactivity of interaction {self.interaction_id}"
