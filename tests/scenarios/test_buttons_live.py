"""Chat directives through the simulator: a Send Message with `/buttons` shows the platform's
quick replies or keyboard on Telegram, Facebook, LINE and Viber; pressing one sends the label
back as the customer's text and an If on it continues the scenario. Vonage gets a text list."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from agentdesk import services as desk
from conversations.models import Message
from integrations.models import IntegrationAccount
from scenarios.models import ScenarioEntry
from simulator.models import SimAccount, SimMessage, SimRequest
from simulator.services import customer_presses, customer_says, get_customer
from tests.agentdesk.conftest import demo_center  # noqa: F401 (fixture)
from tests.outbound.conftest import wait_until
from tests.scenarios.conftest import make_scenario
from tests.scenarios.test_end_to_end import logged_in_agent, setup_chat
from tests.scenarios.test_inactivity_live import customer_writes_and_agent_accepts

pytestmark = [pytest.mark.postgres]

ASK = 'Do you agree? /buttons [Yes] [No]\n/location : 52.52, 13.405, "Office", "Main St 1"'
BLOCKS = [
    ("ask", "send_message", {"message": ASK}, {"next": "answer"}),
    ("answer", "request_input", {"variable": "answer"}, {"next": "check"}),
    (
        "check",
        "if",
        {
            "branches": [
                {
                    "exit": "Agreed",
                    "join": "and",
                    "conditions": [{"type": "string", "variable": "answer", "op": "equals", "value": "Yes"}],
                }
            ]
        },
        {"Agreed": "yes", "next": "no"},
    ),
    ("yes", "send_message", {"message": "Great, you said yes."}, {"next": "end"}),
    ("no", "send_message", {"message": "You said: $(answer)"}, {"next": "end"}),
    ("end", "exit", {}, {}),
]


def out(sim) -> list[SimMessage]:
    return list(SimMessage.objects.filter(account=sim, direction="out").order_by("id"))


@pytest.mark.parametrize(
    ("platform", "rows"),
    [
        ("telegram", [["Yes", "No"]]),
        ("facebook", [["Yes", "No"]]),
        ("line", [["Yes", "No"]]),
        ("viber", [["Yes", "No"]]),
    ],
)
def test_buttons_show_and_a_press_continues_the_scenario(demo_center, platform, rows):  # noqa: F811
    ScenarioEntry.objects.update(scenario=make_scenario(BLOCKS))
    sim = SimAccount.objects.get(platform=platform)
    ann = get_customer(account=sim, key=f"ann-{platform}", name="Ann Lee")
    customer_says(account=sim, customer=ann, text="Hi")
    wait_until(lambda: len(out(sim)) >= 2, what="the question and the location", timeout=30)
    question, pin = out(sim)[:2]
    assert question.text == "Do you agree?"
    assert [[b["label"] for b in row] for row in question.markup["buttons"]] == rows
    if platform == "facebook":  # no location message on Messenger: a map link
        assert "Office, Main St 1 https://maps.google.com/?q=52.52,13.405" in pin.text
    else:
        assert pin.markup["location"]

    customer_presses(account=sim, customer=ann, message_id=question.id, label="Yes")
    wait_until(lambda: any(m.text == "Great, you said yes." for m in out(sim)), what="the If's Agreed branch")
    if platform == "facebook":  # the quick reply's payload came back with the text
        account = IntegrationAccount.objects.get(messenger="facebook")
        pressed = account.messages.filter(direction="in", text="Yes").get()
        assert pressed.attachment == {"type": "quick_reply", "payload": "Yes"}


def test_buttons_column_and_vonage_text_list(demo_center):  # noqa: F811
    ScenarioEntry.objects.update(
        scenario=make_scenario(
            [
                ("ask", "send_message", {"message": "Pick one /buttons-column [Sales] [Support]"}, {"next": "end"}),
                ("end", "exit", {}, {}),
            ]
        )
    )
    telegram = SimAccount.objects.get(platform="telegram")
    customer_says(account=telegram, customer=get_customer(account=telegram, key="col"), text="Hi")
    wait_until(lambda: out(telegram), what="the telegram question", timeout=30)
    assert [[b["label"] for b in row] for row in out(telegram)[0].markup["buttons"]] == [["Sales"], ["Support"]]
    sent = SimRequest.objects.filter(account=telegram, path__endswith="/sendMessage").last()
    assert json.loads(sent.body)["reply_markup"]["one_time_keyboard"] is True

    vonage = SimAccount.objects.get(platform="nexmo")
    customer_says(account=vonage, customer=get_customer(account=vonage, key="sms"), text="Hi")
    wait_until(lambda: out(vonage), what="the SMS question", timeout=30)
    assert out(vonage)[0].text == "Pick one\n- Sales\n- Support"


def test_the_simulator_page_renders_buttons_and_a_click_answers(demo_center, page):  # noqa: F811
    from playwright.sync_api import expect

    ScenarioEntry.objects.update(scenario=make_scenario(BLOCKS))
    page.goto(f"{demo_center}/simulator/")
    page.select_option("#account", str(SimAccount.objects.get(platform="telegram").pk))
    page.fill("#text", "Hi")
    page.press("#text", "Enter")
    key = page.get_by_role("button", name="No", exact=True)
    expect(key).to_be_visible()
    key.click()
    expect(page.locator("#messages li.out", has_text="You said: No")).to_be_visible()


@pytest.mark.celery_worker
def test_worker_an_agents_buttons_go_out_from_the_worker_and_a_press_comes_back(
    live_daphne, celery_processes, mobile_chat
):
    """The production shape's side: the agent's `/buttons` reply is sent by a Celery worker
    (the keyboard built by the provider there), and the pressed label lands in the chat."""
    account, sim, team = setup_chat(live_daphne.url, mobile_chat)
    agent = logged_in_agent("alice", team)
    with transaction.atomic():
        desk.set_state(agent_user=agent.user, state="ready")
    celery_processes.worker()
    interaction = customer_writes_and_agent_accepts(account, sim, agent)
    desk.send_reply(agent_user=agent.user, interaction_id=interaction.pk, text="Which size? /buttons [S] [M] [L]")
    wait_until(lambda: any(m.text == "Which size?" for m in out(sim)), what="the question from the worker", timeout=30)
    question = next(m for m in out(sim) if m.text == "Which size?")
    assert [[b["label"] for b in row] for row in question.markup["buttons"]] == [["S", "M", "L"]]
    ann = get_customer(account=sim, key="ann")
    customer_presses(account=sim, customer=ann, message_id=question.id, label="M")
    wait_until(
        lambda: Message.objects.filter(interaction=interaction, direction="in", text="M").exists(),
        what="the pressed button as the customer's text in the same chat",
        timeout=30,
    )


@pytest.mark.celery_worker
@pytest.mark.production_shape
def test_production_shape_send_message_buttons_and_a_press_continues_the_scenario(
    live_daphne, celery_processes, mobile_chat
):
    """No eager task anywhere: the webhook's inbox processing, the scenario's Send Message with
    `/buttons`, its send and the If on the pressed text all run in Celery workers."""
    account, sim, _team = setup_chat(live_daphne.url, mobile_chat)
    ScenarioEntry.objects.update(scenario=make_scenario(BLOCKS))
    worker = celery_processes.worker()
    celery_processes.beat()
    ann = get_customer(account=sim, key="ann", name="Ann Lee")
    customer_says(account=sim, customer=ann, text="Hi")
    wait_until(lambda: any(m.text == "Do you agree?" for m in out(sim)), what="the question", timeout=40)
    question = next(m for m in out(sim) if m.text == "Do you agree?")
    assert [[b["label"] for b in row] for row in question.markup["buttons"]] == [["Yes", "No"]]
    customer_presses(account=sim, customer=ann, message_id=question.id, label="Yes")
    wait_until(lambda: any(m.text == "Great, you said yes." for m in out(sim)), what="the If's branch", timeout=40)
    assert Message.objects.filter(interaction__account=account, direction="in", text="Yes").count() == 1
    ran = open(worker.log_path, errors="replace").read()
    for task in ("process_inbox", "dispatch_chat_events", "send_outbound"):  # the worker did the work
        assert f"integrations.tasks.{task}" in ran or f"conversations.tasks.{task}" in ran, task
