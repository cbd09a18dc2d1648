"""Accounts whose customers nobody answers: enabled, but on no enabled scenario entry.

The admin flags them in the account list and on the account's page, and a Django system
check (run by `migrate` and `check --database default`) warns about them.
"""

from __future__ import annotations

from django.core import checks
from django.db import DatabaseError
from django.db.models import Exists, OuterRef

from integrations.models import IntegrationAccount

WARNING = "On no scenario entry: its customers get no answer."
HINT = "Attach the account to an enabled scenario entry (admin: Scenarios > Scenario entries)."


def routed():
    """Accounts that reach a scenario: attached to an enabled scenario entry."""
    from scenarios.models import AccountAssignment

    return AccountAssignment.objects.filter(account=OuterRef("pk"), entry__isnull=False, entry__enabled=True)


def unrouted_accounts():
    return IntegrationAccount.objects.filter(enabled=True).exclude(Exists(routed()))


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
