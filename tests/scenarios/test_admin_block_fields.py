"""The block editor over HTTP: per-type settings fields, errors on the field, exits as picked."""

import re
from html.parser import HTMLParser

from scenarios.models import Block, Scenario, Skill
from tests.scenarios.test_admin import management


def post_blocks(admin_client, name, rows, url="/admin/scenarios/scenario/add/"):
    """rows: dicts of one block's form fields, without the "blocks-<i>-" prefix."""
    data = {"name": name, "description": "", "_save": "Save", **management("blocks", len(rows))}
    for i, row in enumerate(rows):
        data.update({f"blocks-{i}-order": str(i), **{f"blocks-{i}-{k}": v for k, v in row.items()}})
    return admin_client.post(url, data)


def field_row(page: str, index: int, field: str) -> str:
    """The HTML of block <index>'s row holding a field (from its form-row div to the next one)."""
    pattern = rf'<div class="form-row[^"]*field-{field}[ "].*?(?=<div class="form-row|</fieldset>)'
    rows = [row for row in re.findall(pattern, page, re.S) if f'name="blocks-{index}-{field}"' in row]
    assert len(rows) == 1, f"no row for block {index}'s {field}"
    return rows[0]


def test_a_scenario_is_built_from_per_type_fields_with_exits_as_picked(admin_client):
    Skill.objects.create(name="French", kind=Skill.Kind.LANGUAGE)
    rows = [
        {
            "key": "ask",
            "title": "Ask",
            "type": "request_input",
            "request_input__message": "Which language?",
            "request_input__variable": "lang",
            "request_input__timeout": "60",
            "next_block": "route",
            "request_input__exit__timeout": "bye",
        },
        {
            "key": "route",
            "title": "Route",
            "type": "switch",
            "switch__variable": "lang",
            "switch__branches": "fr = French\n2 = Other",
            "switch__ignore_case": "on",
            "other_exits": "French = note\nOther = find",
            "switch__exit__default": "find",
        },
        {
            "key": "note",
            "title": "Note",
            "type": "set_variable",
            "set_variable__variable": "greeting",
            "set_variable__value": '="Bonjour " + $(item.firstName)',
            "next_block": "find",
        },
        {
            "key": "find",
            "title": "Find",
            "type": "find_agent",
            "find_agent__extra_skills": ["French"],
            "find_agent__priority": "5",
            "find_agent__intervals": '[{"seconds": 30, "min_level": 50}]',
            "find_agent__initial_message": "You are number $(queue.position).",
            "find_agent__periodic_every": "30",
            "next_block": "talk",
            "find_agent__exit__no_agents": "pause",
            "find_agent__exit__timeout": "bye",
        },
        {
            "key": "talk",
            "title": "Talk",
            "type": "connect_chat",
            "connect_chat__no_answer_timeout": "15",
            "connect_chat__auto_answer_after": "2.5",
            "next_block": "bye",
            "connect_chat__exit__no_answer": "find",
        },
        {"key": "pause", "title": "Pause", "type": "wait", "wait__seconds": "0", "next_block": "sorry"},
        {
            "key": "sorry",
            "title": "Sorry",
            "type": "send_message",
            "send_message__message": "Nobody is here.",
            "next_block": "bye",
            "send_message__exit__send_error": "bye",
        },
        # Fields of other types left filled in are ignored: only the chosen type's settings count.
        {"key": "bye", "title": "Bye", "type": "exit", "wait__seconds": "9"},
    ]
    response = post_blocks(admin_client, "Languages", rows)
    assert response.status_code == 302, response.content.decode()[:3000]

    blocks = {b.key: (b.type, b.settings, b.exits) for b in Scenario.objects.get(name="Languages").blocks.all()}
    assert blocks == {
        "ask": (
            "request_input",
            {"message": "Which language?", "variable": "lang", "timeout": 60},
            {"next": "route", "Timeout": "bye"},
        ),
        "route": (
            "switch",
            {
                "variable": "lang",
                "ignore_case": True,
                "branches": [{"value": "fr", "exit": "French"}, {"value": "2", "exit": "Other"}],
            },
            {"French": "note", "Other": "find", "Default": "find"},
        ),
        "note": (
            "set_variable",
            {"variable": "greeting", "value": '="Bonjour " + $(item.firstName)'},
            {"next": "find"},
        ),
        "find": (
            "find_agent",
            {
                "extra_skills": ["French"],
                "priority": 5,
                "intervals": [{"seconds": 30, "min_level": 50}],
                "initial_message": "You are number $(queue.position).",
                "periodic_every": 30,
            },
            {"next": "talk", "No Agents": "pause", "Timeout": "bye"},
        ),
        "talk": (
            "connect_chat",
            {"no_answer_timeout": 15, "auto_answer_after": 2.5},
            {"next": "bye", "No Answer": "find"},
        ),
        "pause": ("wait", {"seconds": 0}, {"next": "sorry"}),
        "sorry": ("send_message", {"message": "Nobody is here."}, {"next": "bye", "Send error": "bye"}),
        "bye": ("exit", {}, {}),
    }

    # Editing shows each block's settings in its own fields and offers the keys for every exit.
    scenario = Scenario.objects.get(name="Languages")
    page = admin_client.get(f"/admin/scenarios/scenario/{scenario.pk}/change/").content.decode()
    find = next(i for i, b in enumerate(scenario.blocks.order_by("order")) if b.key == "find")
    assert 'value="French" selected' in field_row(page, find, "find_agent__extra_skills")
    no_agents = field_row(page, find, "find_agent__exit__no_agents")
    assert f'name="blocks-{find}-find_agent__exit__no_agents" value="pause"' in no_agents
    assert all(f'<option value="{key}">' in no_agents for key in blocks)
    assert "Find Agent: priority" in page  # labelled with its type for a page without scripts


def test_a_bad_setting_is_shown_on_its_field_and_nothing_is_stored(admin_client):
    rows = [
        {"key": "hold", "title": "Hold", "type": "wait", "wait__seconds": "-3", "next_block": "name"},
        {
            "key": "name",
            "title": "Name",
            "type": "set_variable",
            "set_variable__variable": "item.from",
            "next_block": "route",
        },
        {
            "key": "route",
            "title": "Route",
            "type": "switch",
            "switch__variable": "x",
            "switch__branches": "no label here",
            "switch__exit__default": "end",
        },
        {"key": "find", "title": "Find", "type": "find_agent", "find_agent__extra_skills": ["Klingon"]},
        {"key": "end", "title": "End", "type": "exit"},
    ]
    response = post_blocks(admin_client, "Broken", rows)
    assert response.status_code == 200
    page = response.content.decode()
    assert "errorlist" in field_row(page, 0, "wait__seconds")
    assert "&quot;seconds&quot; must be between 0 and 86400" in field_row(page, 0, "wait__seconds")
    assert "is set by the system" in field_row(page, 1, "set_variable__variable")
    assert "write &quot;value = Exit label&quot;" in field_row(page, 2, "switch__branches")
    assert "Klingon is not one of the available choices" in field_row(page, 3, "find_agent__extra_skills")
    assert not Scenario.objects.filter(name="Broken").exists()
    assert not Block.objects.filter(scenario__name="Broken").exists()


def test_an_exit_the_type_does_not_have_or_to_no_block_is_refused(admin_client):
    rows = [
        {
            "key": "hi",
            "title": "Hi",
            "type": "send_message",
            "send_message__message": "Hi",
            "send_message__exit__send_error": "missing",
        },
    ]
    response = post_blocks(admin_client, "Lost", rows)
    assert response.status_code == 200
    assert "exit &quot;Send error&quot; points to a missing block &quot;missing&quot;" in response.content.decode()
    assert not Scenario.objects.filter(name="Lost").exists()


class FormValues(HTMLParser):
    """The values a browser would submit from the page's change form (no script needed)."""

    def __init__(self):
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.values.append((name, a.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values.append((self._select, a.get("value") or ""))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            self.values.append((self._textarea[0], self._textarea[1].removeprefix("\n")))
            self._textarea = None
        elif tag == "select":
            self._select = None


def test_the_stock_scenario_saves_back_unchanged_from_its_own_form(admin_client, mobile_chat):
    url = f"/admin/scenarios/scenario/{mobile_chat.pk}/change/"
    parser = FormValues()
    parser.feed(admin_client.get(url).content.decode())
    data = {}
    for name, value in parser.values:
        if "__prefix__" not in name:
            data.setdefault(name, []).append(value)
    assert data["blocks-TOTAL_FORMS"] == [str(mobile_chat.blocks.count())]
    before = [(b.key, b.type, b.settings, b.exits) for b in mobile_chat.blocks.order_by("order")]

    response = admin_client.post(url, {**data, "_save": ["Save"]})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert [(b.key, b.type, b.settings, b.exits) for b in mobile_chat.blocks.order_by("order")] == before
