"""Interaction records: one filter used by the API, the supervisor's records page and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from agentdesk.models import ChatAssignment
from conversations.models import Customer, Interaction, Message
from integrations.models import IntegrationAccount, Messenger
from scenarios.models import Service


class InteractionFilter(forms.Form):
    """Filters of the interaction records; dates are inclusive days in the server's time zone."""

    status = forms.ChoiceField(choices=[("", "any"), *Interaction.Status.choices], required=False)
    service = forms.ModelChoiceField(queryset=Service.objects.all(), required=False)
    agent = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(agent_profile__isnull=False).order_by("username"), required=False
    )
    messenger = forms.ChoiceField(choices=[("", "any"), *Messenger.choices], required=False)
    account = forms.ModelChoiceField(queryset=IntegrationAccount.objects.all(), required=False)
    customer = forms.ModelChoiceField(queryset=Customer.objects.all(), required=False, widget=forms.NumberInput)
    date_from = forms.DateField(required=False, help_text="Opened on or after this day (YYYY-MM-DD).")
    date_to = forms.DateField(required=False, help_text="Opened on or before this day (YYYY-MM-DD).")

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end day is before the start day.")
        return data

    def apply(self, queryset: QuerySet[Interaction]) -> QuerySet[Interaction]:
        """The queryset narrowed by the cleaned filters (call after is_valid())."""
        data = self.cleaned_data
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("service"):
            queryset = queryset.filter(assignments__service=data["service"])
        if data.get("agent"):
            queryset = queryset.filter(assignments__agent__user=data["agent"])
        if data.get("messenger"):
            queryset = queryset.filter(account__messenger=data["messenger"])
        if data.get("account"):
            queryset = queryset.filter(account=data["account"])
        if data.get("customer"):
            queryset = queryset.filter(customer=data["customer"])
        if data.get("date_from"):
            queryset = queryset.filter(opened_at__gte=_start_of(data["date_from"]))
        if data.get("date_to"):
            queryset = queryset.filter(opened_at__lt=_start_of(data["date_to"] + dt.timedelta(days=1)))
        if data.get("service") or data.get("agent"):
            queryset = queryset.distinct()
        return queryset


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def base_queryset() -> QuerySet[Interaction]:
    return Interaction.objects.select_related("account", "customer", "agent").prefetch_related(
        Prefetch("assignments", queryset=ChatAssignment.objects.select_related("service", "agent__user"))
    )


def visible_to(user, queryset: QuerySet[Interaction]) -> QuerySet[Interaction]:
    """Staff with the view permission see every record; an agent sees the chats it took part in."""
    if user.is_staff and user.has_perm("conversations.view_interaction"):
        return queryset
    return queryset.filter(assignments__agent__user=user).distinct()


CSV_COLUMNS = [
    "id",
    "global_id",
    "opened_at",
    "closed_at",
    "status",
    "messenger",
    "account",
    "customer",
    "agents",
    "services",
    "closed_reason",
    "messages",
    "attachments",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(queryset: QuerySet[Interaction]) -> Iterator[str]:
    """CSV lines, streamed: the rows are read from the database in chunks, never all at once."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    rows = base_queryset().filter(pk__in=queryset.values("pk")).annotate(message_count=Count("messages"))
    for interaction in rows.order_by("-opened_at", "-id").iterator(chunk_size=500):
        assignments = list(interaction.assignments.all())
        yield writer.writerow(
            [
                interaction.pk,
                interaction.global_id,
                interaction.opened_at.isoformat(),
                interaction.closed_at.isoformat() if interaction.closed_at else "",
                interaction.status,
                interaction.account.messenger,
                _safe(interaction.account.name),
                _safe(interaction.customer.name or interaction.customer.external_id),
                _safe("; ".join(sorted({str(a.agent) for a in assignments}))),
                _safe("; ".join(sorted({a.service.name for a in assignments if a.service}))),
                interaction.closed_reason,
                interaction.message_count,
                _safe("; ".join(_attachment_names(interaction))),
            ]
        )


def _attachment_names(interaction: Interaction) -> list[str]:
    """The chat's files by name (pictures, documents, voice), in order."""
    rows = interaction.messages.exclude(media_status="").order_by("id").values_list("kind", "attachment")
    return [(attachment or {}).get("name") or (attachment or {}).get("file_name") or kind for kind, attachment in rows]


def _safe(value: str) -> str:
    """Customer-controlled text must not run as a formula when the CSV is opened in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def transcript(interaction: Interaction) -> QuerySet[Message]:
    return interaction.messages.select_related("sender_user").order_by("id")
