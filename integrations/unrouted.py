"""Accounts whose customers nobody answers: enabled, but on no enabled scenario entry.

The admin flags them in the account list and on the account's page, and a Django system
check (run by `migrate` and `check --database default`) warns about them.
"""

from __future__ import annotations

from django.core import checks
from django.db import DatabaseError

from integrations.models import IntegrationAccount

WARNING = "On no scenario entry: its customers get no answer."
HINT = "Attach the account to an enabled scenario entry (admin: Scenarios > Scenario entries)."


def unrouted_accounts():
    """Enabled accounts not attached to an enabled scenario entry (the scenarios app's
    assignment, reached by its reverse relation: integrations does not import scenarios)."""
    return IntegrationAccount.objects.filter(enabled=True).exclude(
        assignment__entry__isnull=False, assignment__entry__enabled=True
    )


@checks.register(checks.Tags.database)
def check_accounts_on_an_entry(app_configs=None, databases=None, **kwargs):
    if not databases:
        return []
    try:
        accounts = list(unrouted_accounts().order_by("name"))
    except DatabaseError:  # not migrated yet
        return []
    return [
        checks.Warning(
            f'Integration account "{a.name}" ({a.get_messenger_display()}) is on no scenario entry: '
            "its customers get no answer.",
            hint=HINT,
            obj=a,
            id="integrations.W001",
        )
        for a in accounts
    ]
