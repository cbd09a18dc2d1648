"""The scenarios admin over HTTP: validation errors, Save as, the flowchart, the account rule."""

import json

import pytest

from scenarios.models import AccountAssignment, Block, Scenario, ScenarioEntry, Service, Skill
from tests.scenarios.conftest import make_account, make_entry

EXIT = ("end", "exit", {}, {})


def management(prefix, total, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


BRANCH_TYPES = ("if", "switch")


def setting_value(kind, name, value):
    """What an administrator types into the per-type field of one setting."""
    if kind == "switch" and name == "branches":
        return "\n".join(f"{b['value']} = {b['exit']}" for b in value)
    if name == "extra_skills":
        return list(value)  # a multi-select posts each chosen skill name
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return "on" if value else ""
    return str(value)


def block_rows(rows, prefix="blocks"):
    """rows: (key, title, type, settings, exits) with exits a dict, or raw "Branch exits" text."""
    data = management(prefix, len(rows))
    for i, (key, title, kind, settings, exits) in enumerate(rows):
        row = f"{prefix}-{i}"
        data.update({f"{row}-order": str(i), f"{row}-key": key, f"{row}-title": title, f"{row}-type": kind})
        for name, value in settings.items():
            data[f"{row}-{kind}__{name}"] = setting_value(kind, name, value)
        if isinstance(exits, str):
            data[f"{row}-other_exits"] = exits
            continue
        branch_lines = []
        for name, target in exits.items():
            if name == "next":
                data[f"{row}-next_block"] = target
            elif kind in BRANCH_TYPES and name != "Default":
                branch_lines.append(f"{name} = {target}")
            else:
                data[f"{row}-{kind}__exit__{name.lower().replace(' ', '_')}"] = target
        data[f"{row}-other_exits"] = "\n".join(branch_lines)
    return data


def test_a_valid_scenario_is_saved_with_its_exits(admin_client):
    data = {"name": "Greeter", "description": "", "_save": "Save"}
    data.update(
        block_rows(
            [
                (
                    "hi",
                    "Hello",
                    "send_message",
                    {"message": "Hi $(item.firstName)"},
                    {"next": "end", "Send error": "end"},
                ),
                ("end", "Bye", "exit", {}, {}),
            ]
        )
    )
    response = admin_client.post("/admin/scenarios/scenario/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    scenario = Scenario.objects.get(name="Greeter")
    assert scenario.blocks.get(key="hi").exits == {"next": "end", "Send error": "end"}


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([("a", "A", "send_message", {"message": "x"}, {"next": "nowhere"})], "points to a missing block"),
        ([("a", "A", "send_message", {}, {})], "is required"),
        ([("a", "A", "send_message", {"message": "x"}, {}), ("b", "B", "exit", {}, {})], "cannot be reached"),
        ([("a", "A", "if", {"branches": [{"exit": "X", "conditions": []}]}, "Broken line")], "Exit name = block key"),
    ],
)
def test_an_invalid_scenario_is_refused_and_nothing_is_stored(admin_client, rows, problem):
    data = {"name": "Broken", "description": "", "_save": "Save"}
    data.update(block_rows(rows))
    response = admin_client.post("/admin/scenarios/scenario/add/", data)
    assert response.status_code == 200
    assert problem in response.content.decode()
    assert not Scenario.objects.filter(name="Broken").exists()
    assert not Block.objects.filter(scenario__name="Broken").exists()


def test_the_change_page_shows_the_flowchart(admin_client, mobile_chat):
    scenario = mobile_chat
    page = admin_client.get(f"/admin/scenarios/scenario/{scenario.pk}/change/").content.decode()
    assert "<svg" in page and "Find Agent" in page and "Connect Chat" in page
    assert ">Closed<" in page  # the If block's conditional exit is labelled
    assert "Block types" in page and "find_agent" in page


def test_save_as_copies_the_scenario_with_its_blocks(admin_client, mobile_chat):
    original = mobile_chat
    blocks = list(original.blocks.order_by("order"))
    data = {"name": "Messenger Chat", "description": "", "_saveasnew": "Save as new"}
    data.update(block_rows([(b.key, b.title, b.type, b.settings, b.exits) for b in blocks]))
    response = admin_client.post(f"/admin/scenarios/scenario/{original.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    copy = Scenario.objects.get(name="Messenger Chat")
    assert [(b.key, b.type, b.settings, b.exits) for b in copy.blocks.order_by("order")] == [
        (b.key, b.type, b.settings, b.exits) for b in blocks
    ]
    assert original.blocks.count() == len(blocks)


def entry_form(name, scenario, accounts, prefix="account_assignments"):
    data = {"name": name, "enabled": "on", "scenario": str(scenario.pk), "error_message": "Sorry", "_save": "Save"}
    data.update(management(prefix, len(accounts)))
    data.update(management("chat_settings", 0))  # the entry's chat settings inline, left empty
    for i, account in enumerate(accounts):
        data[f"{prefix}-{i}-account"] = str(account.pk)
    return data


def test_the_entry_admin_enforces_the_account_rule(admin_client, mobile_chat):
    taken = make_account("telegram")
    other = make_entry([EXIT], account=taken)
    scenario = mobile_chat

    response = admin_client.post("/admin/scenarios/scenarioentry/add/", entry_form("New entry", scenario, [taken]))
    assert response.status_code == 200
    assert f"is already assigned to scenario entry &quot;{other}&quot;" in response.content.decode()

    two = [make_account("telegram"), make_account("telegram")]
    response = admin_client.post("/admin/scenarios/scenarioentry/add/", entry_form("New entry", scenario, two))
    assert response.status_code == 200
    assert "Only one Telegram account here" in response.content.decode()
    assert not ScenarioEntry.objects.filter(name="New entry").exists()

    ok = [two[0], make_account("viber")]
    response = admin_client.post("/admin/scenarios/scenarioentry/add/", entry_form("New entry", scenario, ok))
    assert response.status_code == 302
    entry = ScenarioEntry.objects.get(name="New entry")
    assert set(AccountAssignment.objects.filter(entry=entry).values_list("account", flat=True)) == {a.pk for a in ok}


def test_an_entry_cannot_use_a_scenario_that_does_not_validate(admin_client):
    broken = Scenario.objects.create(name="Broken")
    Block.objects.create(scenario=broken, key="a", title="A", type="send_message", settings={}, exits={})
    response = admin_client.post("/admin/scenarios/scenarioentry/add/", entry_form("E", broken, []))
    assert response.status_code == 200
    assert "does not validate" in response.content.decode()


def test_the_service_admin_creates_the_service_skill_and_refuses_a_clash(admin_client):
    Skill.objects.create(name="French", kind=Skill.Kind.LANGUAGE)
    base = {"use_dispositions": "on", "_save": "Save"}
    for prefix in ("team_assignments", "dispositions", "account_assignments"):
        base.update(management(prefix, 0))
    response = admin_client.post("/admin/scenarios/service/add/", {**base, "name": "French"})
    assert response.status_code == 200 and "language skill" in response.content.decode()
    response = admin_client.post("/admin/scenarios/service/add/", {**base, "name": "Returns"})
    assert response.status_code == 302
    assert Service.objects.get(name="Returns").skill.kind == Skill.Kind.SERVICE
