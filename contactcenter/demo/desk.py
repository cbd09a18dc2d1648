"""Demo data: agent1 and agent2 in team Support (service skill through the team, level 50),
a couple of Not Ready reasons, canned responses and ACW settings for Customer Support."""

from django.contrib.auth import get_user_model

from agentdesk.models import Agent, CannedResponse, NotReadyReason, ServiceDeskSettings
from scenarios.models import Disposition, Service, ServiceTeam, Team

DEMO_AGENTS = ["agent1", "agent2"]


def load(stdout) -> None:
    team, _ = Team.objects.get_or_create(name="Support")
    service = Service.objects.filter(name="Customer Support").first()
    if service is not None:
        ServiceTeam.objects.get_or_create(service=service, team=team, defaults={"level": 50})
        ServiceDeskSettings.objects.get_or_create(service=service, defaults={"acw_time_limit": 120})
        for order, name in enumerate(["Question answered", "Problem solved", "Follow-up needed"]):
            Disposition.objects.get_or_create(service=service, name=name, defaults={"order": order})
        for order, (title, text) in enumerate(
            [
                ("Greeting", "Hello %F, thanks for writing to us. How can I help?"),
                ("One moment", "One moment please, %F, I am checking that for you."),
                ("Goodbye", "Thank you %F %L, have a nice day!"),
            ]
        ):
            CannedResponse.objects.get_or_create(service=service, title=title, defaults={"text": text, "order": order})
    for name in ["Lunch", "Meeting", "Training"]:
        NotReadyReason.objects.get_or_create(name=name, defaults={"counts_as_break": name == "Lunch"})
    created = []
    for user in get_user_model().objects.filter(username__in=DEMO_AGENTS):
        _, new = Agent.objects.get_or_create(user=user, defaults={"team": team})
        if new:
            created.append(user.username)
    stdout.write(
        f'Agent desk: agents {", ".join(DEMO_AGENTS)} in team "{team}"'
        + (f" (created {', '.join(created)})" if created else "")
    )
