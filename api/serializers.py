"""Serializers of API v1. Writes reuse the product's own validation: the admin's per-type
account forms, model `full_clean`, the scenario validator, the desk's services."""

from __future__ import annotations

from zoneinfo import available_timezones

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.settings import api_settings

from agentdesk.models import Agent, AgentSkill, CannedResponse, NotReadyReason
from api.errors import as_drf_error
from contactcenter.logging import mask_secret
from conversations.models import Customer, Interaction, Message
from integrations.forms import FORMS, SECRET_FIELDS
from integrations.models import IntegrationAccount, Messenger
from integrations.services import webhook_target_url
from scenarios.models import (
    Block,
    Disposition,
    Holiday,
    HoursOfOperation,
    Scenario,
    ScenarioEntry,
    Service,
    Skill,
    Team,
    WeeklyHours,
)
from scenarios.services import assign_account
from scenarios.validation import BlockSpec, validate_blocks

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


class CleanModelSerializer(serializers.ModelSerializer):
    """Runs the model's own `full_clean` (the admin's rules) before saving, in one transaction."""

    def _clean(self, instance):
        try:
            instance.full_clean(validate_unique=True)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc

    def create(self, validated_data):
        many = {k: validated_data.pop(k) for k in list(validated_data) if self._is_many(k)}
        instance = self.Meta.model(**validated_data)
        self._clean(instance)
        with transaction.atomic():
            instance.save()
            for name, value in many.items():
                getattr(instance, name).set(value)
        return instance

    def update(self, instance, validated_data):
        many = {k: validated_data.pop(k) for k in list(validated_data) if self._is_many(k)}
        for name, value in validated_data.items():
            setattr(instance, name, value)
        self._clean(instance)
        with transaction.atomic():
            instance.save()
            for name, value in many.items():
                getattr(instance, name).set(value)
        return instance

    def _is_many(self, name: str) -> bool:
        field = self.fields.get(name)
        return isinstance(field, serializers.ManyRelatedField)


# --- Integration accounts -----------------------------------------------------------------


@extend_schema_serializer(component_name="Account")
class IntegrationAccountSerializer(serializers.ModelSerializer):
    """An account; credentials are write-only (never returned): the output shows "set, ends in …1234".

    Writes go through the admin's form of the account's type, so the API accepts exactly what
    the admin accepts; a blank credential on update keeps the stored one.
    """

    messenger = serializers.ChoiceField(choices=Messenger.choices)
    webhook_url = serializers.SerializerMethodField()
    credentials = serializers.SerializerMethodField(help_text='Each credential of the type: "set, ends in …1234".')
    # Blank when unset, so not "format: uri" (the account's form validates the URL).
    api_base_url = serializers.CharField(required=False, allow_blank=True, max_length=200)
    webhook_registered_url = serializers.CharField(read_only=True)
    access_token = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=1024)
    signing_secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=512)
    api_secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=512)
    webhook_secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=512)
    private_key = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=10000)

    class Meta:
        model = IntegrationAccount
        fields = [
            "id",
            "messenger",
            "name",
            "enabled",
            "username",
            "page_id",
            "application_id",
            "api_key",
            "sender_id",
            "webhook_host",
            "api_base_url",
            "allow_human_agent_tag",
            "access_token",
            "signing_secret",
            "api_secret",
            "webhook_secret",
            "private_key",
            "webhook_url",
            "credentials",
            "webhook_registered_url",
            "webhook_set_at",
            "last_webhook_ok",
            "last_webhook_message",
            "last_test_ok",
            "last_test_message",
            "last_test_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "webhook_registered_url",
            "webhook_set_at",
            "last_webhook_ok",
            "last_webhook_message",
            "last_test_ok",
            "last_test_message",
            "last_test_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"name": {"required": False}}

    def get_webhook_url(self, account: IntegrationAccount) -> str:
        return webhook_target_url(account)

    def get_credentials(self, account: IntegrationAccount) -> dict[str, str]:
        form = FORMS.get(account.messenger)
        names = [name for name in SECRET_FIELDS if form and name in form.Meta.fields]
        return {name: mask_secret(getattr(account, name)) for name in names}

    def validate(self, attrs):
        messenger = self.instance.messenger if self.instance else attrs.get("messenger")
        if self.instance and attrs.get("messenger", messenger) != messenger:
            raise serializers.ValidationError({"messenger": ["The type of an account cannot change."]})
        form_class = FORMS[messenger]
        used = set(form_class.base_fields)
        unused = [name for name in attrs if name not in used and name != "messenger" and attrs[name] not in ("", None)]
        if unused:
            label = Messenger(messenger).label
            raise serializers.ValidationError({name: [f"A {label} account has no such field."] for name in unused})
        data = {}
        for name in used:
            if name in attrs:
                data[name] = attrs[name]
            elif self.instance is not None and name not in SECRET_FIELDS:
                data[name] = getattr(self.instance, name)
        form = form_class(data=data, instance=self.instance)
        if not form.is_valid():
            raise serializers.ValidationError(
                {(NON_FIELD if k == "__all__" else k): list(v) for k, v in form.errors.items()}
            )
        self._form = form
        return attrs

    def create(self, validated_data):
        return self._form.save()

    def update(self, instance, validated_data):
        return self._form.save()


class AccountActionResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    info = serializers.CharField(allow_blank=True)


# --- Organisation -------------------------------------------------------------------------


class SkillSerializer(CleanModelSerializer):
    class Meta:
        model = Skill
        fields = ["id", "name", "kind", "description"]


class TeamSerializer(CleanModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "description"]


class ServiceSerializer(CleanModelSerializer):
    skill = serializers.PrimaryKeyRelatedField(read_only=True, help_text="The same-named service skill.")

    class Meta:
        model = Service
        fields = ["id", "name", "skill", "hours_of_operation", "use_dispositions"]


class WeeklyHoursSerializer(serializers.ModelSerializer):
    class Meta:
        model = WeeklyHours
        fields = ["weekday", "opens_at", "closes_at"]


class HolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Holiday
        fields = ["date", "name"]


class HoursOfOperationSerializer(serializers.ModelSerializer):
    """A weekly schedule with holidays; writing `weekly` or `holidays` replaces the whole list."""

    weekly = WeeklyHoursSerializer(many=True, required=False)
    holidays = HolidaySerializer(many=True, required=False)

    class Meta:
        model = HoursOfOperation
        fields = ["id", "name", "time_zone", "weekly", "holidays"]

    def validate_time_zone(self, zone: str) -> str:
        if zone not in available_timezones():
            raise serializers.ValidationError(f'"{zone}" is not a known time zone (e.g. Europe/Berlin).')
        return zone

    def validate_holidays(self, holidays: list[dict]) -> list[dict]:
        dates = [h["date"] for h in holidays]
        if len(dates) != len(set(dates)):
            raise serializers.ValidationError("Each holiday date may appear once.")
        return holidays

    @transaction.atomic
    def create(self, validated_data):
        weekly, holidays = validated_data.pop("weekly", []), validated_data.pop("holidays", [])
        hours = HoursOfOperation.objects.create(**validated_data)
        self._replace(hours, weekly, holidays)
        return hours

    @transaction.atomic
    def update(self, instance, validated_data):
        weekly, holidays = validated_data.pop("weekly", None), validated_data.pop("holidays", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        instance.save()
        self._replace(instance, weekly, holidays)
        return instance

    @staticmethod
    def _replace(hours, weekly, holidays) -> None:
        if weekly is not None:
            hours.weekly.all().delete()
            WeeklyHours.objects.bulk_create([WeeklyHours(hours=hours, **row) for row in weekly])
        if holidays is not None:
            hours.holidays.all().delete()
            Holiday.objects.bulk_create([Holiday(hours=hours, **row) for row in holidays])


class DispositionSerializer(CleanModelSerializer):
    class Meta:
        model = Disposition
        fields = ["id", "service", "name", "order"]


class NotReadyReasonSerializer(CleanModelSerializer):
    class Meta:
        model = NotReadyReason
        fields = ["id", "name", "system_code", "counts_as_break", "active"]
        read_only_fields = ["system_code"]


class CannedResponseSerializer(CleanModelSerializer):
    class Meta:
        model = CannedResponse
        fields = ["id", "service", "title", "text", "order"]


# --- Scenarios ----------------------------------------------------------------------------


class BlockSerializer(serializers.ModelSerializer):
    settings = serializers.JSONField(required=False)
    exits = serializers.JSONField(required=False, help_text='Exit name to block key, e.g. {"next": "greet"}.')

    class Meta:
        model = Block
        fields = ["key", "title", "type", "settings", "exits"]


class ScenarioSerializer(serializers.ModelSerializer):
    """A scenario with its blocks in run order (the first is where a run starts).

    Saving validates like the admin (`scenarios.validation.validate_blocks`); problems are
    reported per block and field: `{"blocks": [{}, {"settings": ["..."]}]}`; problems of the
    scenario as a whole (unreachable blocks, duplicate keys) under `non_field_errors`.
    """

    blocks = BlockSerializer(many=True)

    class Meta:
        model = Scenario
        fields = ["id", "name", "description", "blocks", "updated_at"]
        read_only_fields = ["updated_at"]

    def validate(self, attrs):
        blocks = attrs.get("blocks")
        if blocks is None:
            return attrs
        specs = [
            BlockSpec(b["key"], b.get("title", ""), b["type"], b.get("settings", {}), b.get("exits", {}))
            for b in blocks
        ]
        problems = validate_blocks(specs)
        if not problems:
            return attrs
        per_block: list[dict[str, list[str]]] = [{} for _ in blocks]
        whole: list[str] = []
        for problem in problems:
            index = _block_named(specs, problem)
            if index is None:
                whole.append(problem)
            else:
                per_block[index].setdefault(_problem_field(problem), []).append(problem)
        errors: dict = {}
        if any(per_block):
            errors["blocks"] = per_block
        if whole:
            errors[NON_FIELD] = whole
        raise serializers.ValidationError(errors)

    @transaction.atomic
    def create(self, validated_data):
        blocks = validated_data.pop("blocks")
        scenario = Scenario.objects.create(**validated_data)
        self._replace_blocks(scenario, blocks)
        return scenario

    @transaction.atomic
    def update(self, instance, validated_data):
        blocks = validated_data.pop("blocks", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        instance.save()
        if blocks is not None:
            instance.blocks.all().delete()
            self._replace_blocks(instance, blocks)
        return instance

    @staticmethod
    def _replace_blocks(scenario: Scenario, blocks: list[dict]) -> None:
        Block.objects.bulk_create(
            [
                Block(scenario=scenario, order=order, **{"settings": {}, "exits": {}, **block})
                for order, block in enumerate(blocks)
            ]
        )


def _problem_field(problem: str) -> str:
    """Which field of a block a validator message is about."""
    if "unknown type" in problem:
        return "type"
    if "cannot be reached" in problem:
        return NON_FIELD
    if 'exit "' in problem or "Goto" in problem or "exits must" in problem:
        return "exits"
    return "settings"


def _block_named(specs: list[BlockSpec], problem: str) -> int | None:
    """The index of the block a validator message names ('Block "Greet": ...')."""
    for index, spec in enumerate(specs):
        if problem.startswith(f'Block "{spec.title or spec.key}"'):
            return index
    return None


class ScenarioEntrySerializer(CleanModelSerializer):
    """A chat entry; `accounts` lists the integration accounts whose messages start its scenario."""

    accounts = serializers.PrimaryKeyRelatedField(
        many=True, required=False, write_only=True, queryset=IntegrationAccount.objects.all(), source="_accounts"
    )

    class Meta:
        model = ScenarioEntry
        fields = ["id", "name", "scenario", "service", "hours_of_operation", "error_message", "enabled", "accounts"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["accounts"] = [str(a.account_id) for a in instance.account_assignments.all()]
        return data

    def _save(self, instance, validated_data):
        accounts = validated_data.pop("_accounts", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        self._clean(instance)
        with transaction.atomic():
            instance.save()
            if accounts is not None:
                instance.account_assignments.exclude(account__in=accounts).delete()
                errors = []
                for account in accounts:
                    try:
                        assign_account(account=account, entry=instance)
                    except DjangoValidationError as exc:
                        errors += exc.messages
                if errors:
                    raise serializers.ValidationError({"accounts": errors})
        return instance

    def create(self, validated_data):
        return self._save(ScenarioEntry(), validated_data)

    def update(self, instance, validated_data):
        return self._save(instance, validated_data)


# --- Agents -------------------------------------------------------------------------------


class AgentSkillSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgentSkill
        fields = ["skill", "level"]


class AgentSerializer(CleanModelSerializer):
    """An agent profile: team, capacity, skills given by hand; the state is read-only here."""

    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all())
    username = serializers.CharField(source="user.username", read_only=True)
    skills = AgentSkillSerializer(many=True, required=False)

    class Meta:
        model = Agent
        fields = [
            "id",
            "user",
            "username",
            "team",
            "chat_share",
            "ready_on_login",
            "skills",
            "state",
            "not_ready_reason",
            "state_since",
        ]
        read_only_fields = ["state", "not_ready_reason", "state_since"]

    def validate_skills(self, skills):
        ids = [row["skill"].pk for row in skills]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("Each skill may appear once.")
        return skills

    def validate_user(self, user):
        if self.instance is not None and self.instance.user_id != user.pk:
            raise serializers.ValidationError("An agent profile cannot move to another user.")
        if self.instance is None and Agent.objects.filter(user=user).exists():
            raise serializers.ValidationError("This user already has an agent profile.")
        return user

    @transaction.atomic
    def create(self, validated_data):
        skills = validated_data.pop("skills", None)
        agent = super().create(validated_data)
        self._replace_skills(agent, skills)
        return agent

    @transaction.atomic
    def update(self, instance, validated_data):
        skills = validated_data.pop("skills", None)
        agent = super().update(instance, validated_data)
        self._replace_skills(agent, skills)
        return agent

    @staticmethod
    def _replace_skills(agent, skills) -> None:
        if skills is None:
            return
        agent.skills.all().delete()
        AgentSkill.objects.bulk_create([AgentSkill(agent=agent, **row) for row in skills])


class AgentStateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=[Agent.State.READY, Agent.State.NOT_READY, Agent.State.LOGGED_OUT])
    reason = serializers.PrimaryKeyRelatedField(
        queryset=NotReadyReason.objects.all(), required=False, allow_null=True, help_text="Not Ready reason id."
    )


# --- Conversations ------------------------------------------------------------------------


class CustomerSerializer(serializers.ModelSerializer):
    messenger = serializers.CharField(source="account.messenger", read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "account",
            "messenger",
            "external_id",
            "display_name",
            "first_name",
            "last_name",
            "username",
            "language",
            "unreachable_at",
            "unreachable_reason",
            "created_at",
        ]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = [
            "id",
            "interaction",
            "direction",
            "sender",
            "sender_user",
            "kind",
            "text",
            "status",
            "error_code",
            "error_text",
            "created_at",
            "sent_at",
            "delivered_at",
            "read_at",
        ]
        read_only_fields = fields


class InteractionSerializer(serializers.ModelSerializer):
    messenger = serializers.CharField(source="account.messenger", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    service = serializers.SerializerMethodField()

    class Meta:
        model = Interaction
        fields = [
            "id",
            "global_id",
            "status",
            "account",
            "messenger",
            "customer",
            "customer_name",
            "agent",
            "service",
            "opened_at",
            "closed_at",
            "closed_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_service(self, interaction) -> int | None:
        services = [a.service_id for a in interaction.assignments.all() if a.service_id]
        return services[-1] if services else None


class SendMessageSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000, help_text="Longer than the platform's limit: sent in parts.")


class StartOutboundChatSerializer(serializers.Serializer):
    """An agent-started chat: an outbound account of the agent's service, a customer it knows, the first message."""

    account = serializers.PrimaryKeyRelatedField(
        queryset=IntegrationAccount.objects.all(),
        pk_field=serializers.UUIDField(),
        help_text="An outbound chat account of one of your services (the service's account assignment).",
    )
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(),
        help_text="A customer who has written to this account before: the platforms allow no other.",
    )
    text = serializers.CharField(max_length=20000, help_text="The first message; over the platform's limit: in parts.")

    def validate(self, data):
        if data["customer"].account_id != data["account"].pk:
            raise serializers.ValidationError(
                {"customer": ["This customer has not written to this account; pick one who has."]}
            )
        return data
