"""The organisation: skills, teams, services with their dispositions, hours of operation.

Team membership: a Team lives here, and the agent-desk app's Agent profile carries
`team = ForeignKey("scenarios.Team")` (one profile per user, so each user is in exactly one
team). Teams are assigned to services with a skill level through ServiceTeam.

These are the only scenarios models the agent desk may read (architecture.md, section 1).
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction


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


AGENT_PLACEHOLDER = "{agent}"
# The system chat messages: (field prefix, label). Each has a `<prefix>_mode` and a `<prefix>_text`.
SYSTEM_MESSAGES = (
    ("inactivity_warning", "Inactivity warning"),
    ("inactivity_timeout", "Inactivity timeout"),
    ("agent_joined", "Agent joined the chat"),
    ("agent_left", "Agent left the chat"),
    ("chat_transferred", "Chat transferred"),
    ("chat_ended", "Chat ended by the agent"),
)
# The ones that may name the agent with {agent}; the inactivity texts name nobody.
AGENT_MESSAGES = ("agent_joined", "agent_left", "chat_transferred", "chat_ended")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def check_system_messages(settings) -> None:
    """Clear form errors for the mode/text pairs: Custom with no text, an unknown {placeholder}."""
    errors = {}
    for prefix, label in SYSTEM_MESSAGES:
        mode, text = getattr(settings, f"{prefix}_mode"), getattr(settings, f"{prefix}_text").strip()
        if mode == ChatSettings.Mode.CUSTOM and not text:
            errors[f"{prefix}_text"] = f"{label}: Custom needs a text (or choose Disabled)."
            continue
        allowed = {AGENT_PLACEHOLDER} if prefix in AGENT_MESSAGES else set()
        unknown = sorted(set(_PLACEHOLDER.findall(text)) - allowed)
        if unknown:
            hint = f"the only placeholder here is {AGENT_PLACEHOLDER}" if allowed else "this text takes no placeholders"
            errors[f"{prefix}_text"] = f"{label}: unknown placeholder {', '.join(unknown)}; {hint}."
    if errors:
        raise ValidationError(errors)


class ChatSettings(models.Model):
    """The tenant-wide Chat Settings (one row): inactivity timeout and its messages, the agent
    ramp-up interval, the no-response timeout of agent-started chats, the system chat
    messages. Scenario entries and integration accounts may override the timeout and the
    messages (scenarios.models.flow: EntryChatSettings, AccountChatSettings).

    Lives with the organisation models because the agent desk reads the ramp-up interval.
    """

    class Mode(models.TextChoices):
        CUSTOM = "custom", "Custom"
        DISABLED = "disabled", "Disabled"

    inactivity_timeout = models.PositiveIntegerField(
        default=600,
        help_text="Seconds without a customer or agent message after which a messenger chat is closed; 0 = never.",
    )
    inactivity_warning_mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.CUSTOM)
    inactivity_warning_text = models.CharField(
        max_length=500,
        default="Are you still there? This chat will close soon if we do not hear from you.",
        blank=True,
        help_text="Sent at half the inactivity timeout.",
    )
    inactivity_timeout_mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.CUSTOM)
    inactivity_timeout_text = models.CharField(
        max_length=500,
        default="This chat was closed because there was no activity. Write again any time.",
        blank=True,
        help_text="Sent when the chat is closed by the inactivity timeout.",
    )
    # Defaults: on only where the stock Mobile Chat scenario says nothing itself. It already
    # tells the customer "We are connecting you to <agent>" and says goodbye after the agent
    # ends the chat, so "joined" and "ended" would repeat it; transfers it does not announce.
    agent_joined_mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.DISABLED)
    agent_joined_text = models.CharField(
        max_length=500,
        default="{agent} has joined the chat.",
        blank=True,
        help_text="Sent when an agent accepts the chat (also after a transfer). {agent}: the agent's first name.",
    )
    agent_left_mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.CUSTOM)
    agent_left_text = models.CharField(
        max_length=500,
        default="{agent} has left the chat.",
        blank=True,
        help_text="Sent when an agent leaves a chat that goes on: transferred to another agent or a queue, "
        "or the agent logged out. {agent}: the agent's first name.",
    )
    chat_transferred_mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.CUSTOM)
    chat_transferred_text = models.CharField(
        max_length=500,
        default="We are transferring your chat to another agent. Please wait a moment.",
        blank=True,
        help_text="Sent when an agent transfers the chat to another agent or a service queue. "
        "{agent}: the transferring agent's first name.",
    )
    chat_ended_mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.DISABLED)
    chat_ended_text = models.CharField(
        max_length=500,
        default="{agent} has ended the chat.",
        blank=True,
        help_text="Sent when the agent clicks End Chat. {agent}: the agent's first name.",
    )
    ramp_up_interval = models.PositiveIntegerField(
        default=0, help_text="Agent ramp-up: seconds between successive chats offered to one agent; 0 = no spacing."
    )
    outbound_no_response_timeout = models.PositiveIntegerField(
        default=600,
        help_text="Agent-started chats: seconds without an answer after which the chat is closed; 0 = never.",
    )

    class Meta:
        verbose_name = "chat settings"
        verbose_name_plural = "chat settings"

    def __str__(self) -> str:
        return "Chat settings"

    def save(self, *args, **kwargs):
        self.pk = 1  # one tenant-wide set
        super().save(*args, **kwargs)

    def clean(self):
        check_system_messages(self)

    @classmethod
    def current(cls) -> "ChatSettings":
        """The saved settings, or the defaults when none were saved."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)
