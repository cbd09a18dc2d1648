"""The database side of the load runs, run as a child process on the run's own DATABASE_URL.

    python -m reliability.dbtool agents N PASSWORD   # agent1..agentN in team Support, that password
    python -m reliability.dbtool api-base OLD NEW     # simulated accounts call the fake APIs at NEW
    python -m reliability.dbtool explain TEXT...     # the story of the chats holding these texts
    python -m reliability.dbtool tally PREFIX         # JSON counts of the chats whose texts start PREFIX
    python -m reliability.dbtool sending              # how many outbound messages are marked sending

The load driver itself never imports Django: one driver process runs several shapes, each on
its own database, so every look at a database is a short child process with that shape's env.
"""

from __future__ import annotations

import json
import os
import sys


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
    import django

    django.setup()


def agents(count: int, password: str) -> None:
    """agent1..agentN exist, are agents of team Support and log in with `password`."""
    from django.contrib.auth import get_user_model

    from agentdesk.models import Agent
    from scenarios.models import Team

    team = Team.objects.get(name="Support")
    user_model = get_user_model()
    for n in range(1, count + 1):
        user, _ = user_model.objects.get_or_create(username=f"agent{n}", defaults={"first_name": f"Agent{n}"})
        user.set_password(password)
        user.save(update_fields=["password"])
        Agent.objects.get_or_create(user=user, defaults={"team": team})


def api_base(old: str, new: str) -> None:
    """Simulated accounts call the fake platform APIs at `new` instead of `old`."""
    from integrations.models import IntegrationAccount

    for account in IntegrationAccount.objects.filter(api_base_url__startswith=old):
        account.api_base_url = new + account.api_base_url[len(old) :]
        account.save(update_fields=["api_base_url"])


def sending() -> int:
    """Outbound messages marked sending: on the wire, or left by a dead worker."""
    from conversations.models import Message

    return Message.objects.filter(direction=Message.Direction.OUTBOUND, status=Message.Status.SENDING).count()


def tally(prefix: str) -> dict:
    """What the product holds of the run's chats (customer texts start with `prefix`)."""
    from django.utils import timezone

    from agentdesk.models import ChatAssignment
    from conversations.models import ChatEvent, Interaction, Message

    inbound = Message.objects.filter(direction=Message.Direction.INBOUND, text__startswith=prefix)
    interactions = Interaction.objects.filter(messages__in=inbound).distinct()
    ids = list(interactions.values_list("pk", flat=True))
    out = Message.objects.filter(interaction_id__in=ids, direction=Message.Direction.OUTBOUND)
    greeted = out.filter(sender=Message.Sender.BOT).values("interaction_id").distinct().count()
    assignments = ChatAssignment.objects.filter(interaction_id__in=ids)
    unsent = out.filter(status__in=[Message.Status.QUEUED, Message.Status.SENDING])
    now = timezone.now()
    # Chats the scenario closed telling the customer no agent could take them (queue timeout).
    turned_away = ChatEvent.objects.filter(interaction_id__in=ids, kind=ChatEvent.Kind.NO_AGENTS).values(
        "interaction_id"
    )
    return {
        "turned_away_texts": sorted(set(inbound.filter(interaction_id__in=turned_away).values_list("text", flat=True))),
        "stored_texts": sorted(set(inbound.values_list("text", flat=True))),
        "stored_rows": inbound.count(),
        "interactions": len(ids),
        "greeted": greeted,
        "offered": assignments.values("interaction_id").distinct().count(),
        "accepted": assignments.filter(accepted_at__isnull=False).values("interaction_id").distinct().count(),
        "open_interactions": interactions.filter(status=Interaction.Status.OPEN).count(),
        "outbound_unsent": unsent.count(),
        "outbound_unsent_oldest_s": max(
            ((now - m.created_at).total_seconds() for m in unsent.only("created_at")), default=0.0
        ),
        "outbound_failed": out.filter(status=Message.Status.FAILED).count(),
        "agent_replies_stored": out.filter(sender=Message.Sender.AGENT).count(),
        "events_undispatched": ChatEvent.objects.filter(interaction_id__in=ids, dispatched_at__isnull=True).count(),
    }


def explain(texts: list[str]) -> str:
    """The story of the chats holding these customer texts: messages, events, assignments."""
    from agentdesk.models import ChatAssignment
    from conversations.models import ChatEvent, Interaction, Message

    lines = []
    for interaction in Interaction.objects.filter(messages__text__in=texts).distinct().order_by("pk"):
        lines.append(f"interaction {interaction.pk} {interaction.status} {interaction.closed_reason}")
        rows = [
            (m.created_at, f"message {m.pk} {m.direction} {m.sender} {m.status} {m.text[:60]!r}")
            for m in Message.objects.filter(interaction=interaction)
        ]
        rows += [
            (
                e.created_at,
                f"event {e.pk} {e.kind} dispatched={e.dispatched_at} attempts={e.attempts} {e.last_error[:80]}",
            )
            for e in ChatEvent.objects.filter(interaction=interaction)
        ]
        rows += [
            (
                a.reserved_at,
                f"assignment {a.pk} agent={a.agent_id} {a.status} offered={a.offered_at} "
                f"accepted={a.accepted_at} ended={a.ended_at} {a.end_cause}",
            )
            for a in ChatAssignment.objects.filter(interaction=interaction)
        ]
        lines += [f"  {at:%H:%M:%S.%f} {text}" for at, text in sorted(rows, key=lambda r: r[0])]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    _setup()
    if argv[:1] == ["explain"]:
        sys.stdout.write(explain(argv[1:]) + "\n")
        return 0
    if argv[:1] == ["agents"]:
        agents(int(argv[1]), argv[2])
        return 0
    if argv[:1] == ["api-base"]:
        api_base(argv[1], argv[2])
        return 0
    if argv[:1] == ["sending"]:
        sys.stdout.write(f"{sending()}\n")
        return 0
    if argv[:1] == ["tally"]:
        sys.stdout.write(json.dumps(tally(argv[1])) + "\n")
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
