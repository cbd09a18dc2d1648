"""Stock "Mobile Chat": a greeting that reads naturally with or without a name, and an
honest message after Find Agent.

Before: "Hello $(item.firstName)!" read "Hello !" for customers whose platform gives no
first name (LINE, Viber, Vonage), and "You are now connected to $(destination)." came
before the agent accepted, with the agent's login name. Now an If block picks the greeting
(first name, else the platform's display name, else none), and the customer reads that they
are being connected to the agent's first name, which Find Agent sets as $(destination.name).

Only a stock scenario whose blocks still hold the old texts is changed: a scenario someone
edited keeps their edits. The data is written out here, not imported.
"""

import importlib

from django.db import migrations

NAME = "Mobile Chat"
OLD_WELCOME = "Hello $(item.firstName)! Thank you for contacting us."
OLD_CONNECTED = "You are now connected to $(destination)."
WELCOME = "Hello! Thank you for contacting us."
WELCOME_FIRST_NAME = "Hello $(item.firstName)! Thank you for contacting us."
WELCOME_DISPLAY_NAME = "Hello $(item.externalChatData.displayName)! Thank you for contacting us."
CONNECTING = "We are connecting you to $(destination.name)."
GREET = {
    "branches": [
        {
            "exit": "First name",
            "join": "and",
            "conditions": [{"type": "string", "variable": "item.firstName", "op": "is_not_empty"}],
        },
        {
            "exit": "Display name",
            "join": "and",
            "conditions": [{"type": "string", "variable": "item.externalChatData.displayName", "op": "is_not_empty"}],
        },
    ]
}


def update(apps, schema_editor):
    Scenario = apps.get_model("scenarios", "Scenario")
    Block = apps.get_model("scenarios", "Block")
    scenario = Scenario.objects.filter(name=NAME).first()
    if scenario is None:
        return
    blocks = {b.key: b for b in Block.objects.filter(scenario=scenario)}
    welcome, connected = blocks.get("welcome"), blocks.get("connected")
    if welcome and welcome.settings.get("message") == OLD_WELCOME and "greet" not in blocks:
        first = min(b.order for b in blocks.values())
        Block.objects.create(
            scenario=scenario,
            key="greet",
            order=first - 3,
            title="Name known?",
            type="if",
            settings=GREET,
            exits={"next": "welcome", "First name": "welcome_first_name", "Display name": "welcome_display_name"},
        )
        for key, title, text, order in (
            ("welcome_first_name", "Welcome (first name)", WELCOME_FIRST_NAME, first - 2),
            ("welcome_display_name", "Welcome (display name)", WELCOME_DISPLAY_NAME, first - 1),
        ):
            Block.objects.create(
                scenario=scenario,
                key=key,
                order=order,
                title=title,
                type="send_message",
                settings={"message": text},
                exits=dict(welcome.exits),
            )
        welcome.settings = {**welcome.settings, "message": WELCOME}
        welcome.save(update_fields=["settings"])
    if connected and connected.settings.get("message") == OLD_CONNECTED:
        connected.title = "Connecting"
        connected.settings = {**connected.settings, "message": CONNECTING}
        connected.save(update_fields=["title", "settings"])


def install(apps, schema_editor):
    """The stock scenario as of this migration (tests re-install it after a flush)."""
    importlib.import_module("scenarios.migrations.0003_stock_mobile_chat").install(apps, schema_editor)
    update(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("scenarios", "0003_stock_mobile_chat")]

    operations = [migrations.RunPython(update, migrations.RunPython.noop)]
