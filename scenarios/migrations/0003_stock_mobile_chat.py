"""Installs the stock "Mobile Chat" scenario, the template the messenger guides tell you to copy.

The seed's blocks in the seed's order (Send Message, Send Message, If, Find Agent, Send
Message, Connect Chat, Send Message, Exit), plus the closed-hours and no-agents messages the
If and Find Agent exits lead to. The data is written out here, not imported, so the
migration stays as it is when the code changes.
"""

from django.db import migrations

NAME = "Mobile Chat"
QUEUE = "All our agents are busy. You are number $(queue.position) in the queue; the wait is about $(queue.ewt)."
BLOCKS = [
    ("welcome", "Welcome", "send_message", {"message": "Hello $(item.firstName)! Thank you for contacting us."},
     {"next": "please_wait"}),
    ("please_wait", "Please wait", "send_message", {"message": "Please wait while we connect you to an agent."},
     {"next": "check_hours"}),
    ("check_hours", "Open?", "if",
     {"branches": [{"exit": "Closed", "join": "and", "conditions": [{"type": "hours", "op": "outside"}]}]},
     {"next": "find_agent", "Closed": "closed"}),
    ("find_agent", "Find Agent", "find_agent",
     {"intervals": [{"seconds": 0, "min_level": 1}], "initial_message": QUEUE,
      "periodic_message": "Thank you for waiting. You are number $(queue.position) in the queue.",
      "periodic_every": 30},
     {"next": "connected", "No Agents": "no_agents", "Queue Limit": "no_agents", "Timeout": "no_agents"}),
    ("connected", "Connected", "send_message", {"message": "You are now connected to $(destination)."},
     {"next": "connect_chat"}),
    ("connect_chat", "Connect Chat", "connect_chat", {"no_answer_timeout": 10},
     {"next": "thanks", "No Answer": "find_agent"}),
    ("thanks", "Thanks", "send_message", {"message": "Thank you for chatting with us. Goodbye!"}, {"next": "exit"}),
    ("exit", "Exit", "exit", {}, {}),
    ("closed", "Closed message", "send_message",
     {"message": "We are closed now. Please write to us again during our opening hours."}, {"next": "exit"}),
    ("no_agents", "No agents message", "send_message",
     {"message": "Sorry, no agent can take your chat right now. Please try again later."}, {"next": "exit"}),
]


def install(apps, schema_editor):
    Scenario = apps.get_model("scenarios", "Scenario")
    Block = apps.get_model("scenarios", "Block")
    scenario, created = Scenario.objects.get_or_create(
        name=NAME, defaults={"description": "Stock messenger chat scenario; use Save as to make your own."}
    )
    if not created:
        return
    for order, (key, title, kind, settings, exits) in enumerate(BLOCKS, 1):
        Block.objects.create(
            scenario=scenario, key=key, order=order * 10, title=title, type=kind, settings=settings, exits=exits
        )


def uninstall(apps, schema_editor):
    apps.get_model("scenarios", "Scenario").objects.filter(name=NAME, entries__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("scenarios", "0002_run_last_message_timer_handled")]

    operations = [migrations.RunPython(install, uninstall)]
