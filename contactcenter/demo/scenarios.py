"""Demo data: the Customer Support service, the Support team, 24/7 hours, the Mobile Chat entry."""

from datetime import time

from integrations.models import IntegrationAccount
from scenarios.models import (
    AccountAssignment,
    HoursOfOperation,
    Scenario,
    ScenarioEntry,
    Service,
    ServiceTeam,
    Team,
    WeeklyHours,
)
from scenarios.services import assign_account, assignment_problem


def load(stdout) -> None:
    hours, created = HoursOfOperation.objects.get_or_create(name="Always open", defaults={"time_zone": "UTC"})
    if created:
        WeeklyHours.objects.bulk_create(
            WeeklyHours(hours=hours, weekday=day, opens_at=time(0, 0), closes_at=time(0, 0)) for day in range(7)
        )
    service = Service.objects.filter(name="Customer Support").first()
    if service is None:
        service = Service(name="Customer Support", hours_of_operation=hours)
        service.save()
    team, _ = Team.objects.get_or_create(name="Support")
    ServiceTeam.objects.get_or_create(service=service, team=team, defaults={"level": 50})
    entry, _ = ScenarioEntry.objects.get_or_create(
        name="Mobile Chat",
        defaults={
            "scenario": Scenario.objects.get(name="Mobile Chat"),
            "service": service,
            "hours_of_operation": hours,
        },
    )
    attached = []
    for account in IntegrationAccount.objects.order_by("created_at"):
        if AccountAssignment.objects.filter(account=account).exists():
            continue
        if assignment_problem(account=account, entry=entry):
            continue  # the entry holds another account of this messenger already
        assign_account(account=account, entry=entry)
        attached.append(account.name)
    stdout.write(
        f'Scenarios: service "{service}", team "{team}", entry "{entry}"'
        + (f" with accounts {', '.join(attached)}" if attached else "")
    )
