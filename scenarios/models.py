"""Organisation and scenario models: skills, teams, services, hours, entries, scenarios, runs.

Team membership: a Team lives here, and the agent-desk app's Agent profile carries
`team = ForeignKey("scenarios.Team")` (one profile per user, so each user is in exactly one
team). Teams are assigned to services with a skill level through ServiceTeam.

Account assignment: an integration account belongs to one scenario entry or one service
only. AccountAssignment is the single join table for both; `account` is unique and a check
constraint says exactly one of entry/service is set, so the database itself refuses a second
owner. The per-messenger rule (at most one account of each messenger type per entry/service)
is a unique constraint on (entry, messenger) and (service, messenger), with `messenger`
copied from the account on save.
"""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q

from integrations.models import Messenger


class Skill(models.Model):
    class Kind(models.TextChoices):
        SERVICE = "service", "Service skill"
        AUXILIARY = "auxiliary", "Auxiliary skill"
        LANGUAGE = "language", "Language skill"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.AUXILIARY)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A group of agents. Agent profiles (agentdesk) point here: one team per user."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HoursOfOperation(models.Model):
    """A weekly schedule in a time zone, with holiday dates when it is closed all day."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA time zone, e.g. Europe/Berlin.")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "hours of operation"

    def __str__(self) -> str:
        return self.name


class WeeklyHours(models.Model):
    """One open interval on one weekday; several rows per day are allowed."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    hours = models.ForeignKey(HoursOfOperation, on_delete=models.CASCADE, related_name="weekly")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField(help_text="00:00 means the end of the day.")

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name_plural = "weekly hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class Holiday(models.Model):
    hours = models.ForeignKey(HoursOfOperation, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["hours", "date"], name="uniq_holiday_per_hours")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class Service(models.Model):
    """A chat service. Its same-named service skill is created with it (services.create_service)."""

    name = models.CharField(max_length=100, unique=True)
    skill = models.OneToOneField(Skill, on_delete=models.PROTECT, related_name="service", null=True, editable=False)
    hours_of_operation = models.ForeignKey(
        HoursOfOperation, null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    use_dispositions = models.BooleanField(default=False)
    teams = models.ManyToManyField(Team, through="ServiceTeam", related_name="services", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # The service skill follows the service: created with it, renamed with it. Local only.
        with transaction.atomic():
            self.clean()
            if self.skill_id is None:
                self.skill, _ = Skill.objects.get_or_create(name=self.name, defaults={"kind": Skill.Kind.SERVICE})
            elif self.skill.name != self.name:
                self.skill.name = self.name
                self.skill.save(update_fields=["name"])
            super().save(*args, **kwargs)

    def clean(self):
        clash = Skill.objects.filter(name=self.name).exclude(kind=Skill.Kind.SERVICE)
        if clash.exists():
            raise ValidationError(
                {
                    "name": f'A {clash[0].get_kind_display().lower()} named "{self.name}" exists; '
                    "a service's skill takes the service's name, so pick another name."
                }
            )


class Disposition(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="dispositions")
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["service", "name"], name="uniq_disposition_per_service")]

    def __str__(self) -> str:
        return self.name


class ServiceTeam(models.Model):
    """A team assigned to a service; its members get the service skill at this level."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="team_assignments")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="service_assignments")
    level = models.PositiveSmallIntegerField(default=50, validators=[MinValueValidator(1), MaxValueValidator(100)])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "team"], name="uniq_team_per_service")]

    def __str__(self) -> str:
        return f"{self.team} in {self.service} ({self.level})"


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

    def clean(self):
        from scenarios.validation import validate_scenario

        if self.scenario_id:
            errors = validate_scenario(self.scenario)
            if errors:
                raise ValidationError({"scenario": [f'"{self.scenario}" does not validate: {e}' for e in errors[:5]]})


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
