"""Services and their skills, the account assignment rule, scenario validation, Mobile Chat."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from scenarios.models import AccountAssignment, Skill
from scenarios.models import Service as ServiceModel
from scenarios.services import assign_account
from scenarios.validation import BlockSpec, validate_blocks, validate_scenario
from tests.scenarios.conftest import make_account, make_entry

EXIT = ("end", "exit", {}, {})


def test_a_service_creates_and_renames_its_service_skill(db):
    service = ServiceModel(name="Billing")
    service.save()
    assert service.skill.name == "Billing" and service.skill.kind == Skill.Kind.SERVICE
    service.name = "Billing and payments"
    service.save()
    assert Skill.objects.get(pk=service.skill_id).name == "Billing and payments"
    assert Skill.objects.count() == 1


def test_a_service_name_may_not_clash_with_an_auxiliary_skill(db):
    Skill.objects.create(name="Spanish", kind=Skill.Kind.LANGUAGE)
    with pytest.raises(ValidationError, match="language skill"):
        ServiceModel(name="Spanish").save()
    assert not ServiceModel.objects.exists()


def test_an_account_belongs_to_one_entry_or_service_only(db):
    account = make_account()
    entry = make_entry([EXIT], account=account)
    service = ServiceModel(name="Sales")
    service.save()
    with pytest.raises(ValidationError, match="already assigned to scenario entry"):
        assign_account(account=account, entry=make_entry([EXIT]))
    with pytest.raises(ValidationError, match="already assigned"):
        assign_account(account=account, service=service)
    # Assigning again to its own entry is fine (idempotent).
    assert assign_account(account=account, entry=entry).entry == entry


def test_at_most_one_account_per_messenger_type(db):
    entry = make_entry([EXIT])
    with pytest.raises(ValidationError, match="at most one account per messenger type"):
        assign_account(account=make_account("telegram"), entry=entry)
    assign_account(account=make_account("viber"), entry=entry)
    assert entry.account_assignments.count() == 2


def test_the_database_refuses_a_second_owner_and_double_types(db):
    account = make_account()
    entry = make_entry([EXIT], account=account)
    service = ServiceModel(name="Support")
    service.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountAssignment.objects.create(account=account, service=service)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountAssignment.objects.create(account=make_account(), entry=entry, service=service)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountAssignment.objects.create(account=make_account(), entry=None, service=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountAssignment.objects.create(account=make_account("telegram"), entry=entry)
    AccountAssignment.objects.create(account=make_account("telegram"), service=service)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountAssignment.objects.create(account=make_account("telegram"), service=service)


def spec(key, kind, settings=None, exits=None):
    return BlockSpec(key, key.title(), kind, settings or {}, exits or {})


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([], "at least one block"),
        ([spec("a", "play_prompt")], 'unknown type "play_prompt"'),
        ([spec("a", "send_message")], '"message" is required'),
        ([spec("a", "send_message", {"message": "x", "colour": 1})], 'Unknown setting "colour"'),
        ([spec("a", "send_message", {"message": "x"}, {"next": "zz"})], 'points to a missing block "zz"'),
        ([spec("a", "send_message", {"message": "x"}, {"No Agents": "a"})], 'has no exit "No Agents"'),
        ([spec("a", "exit"), spec("b", "exit")], 'Block "B" cannot be reached'),
        ([spec("a", "goto")], "Goto needs a target"),
        ([spec("a", "wait", {"seconds": "ten"})], '"seconds" must be a number'),
        ([spec("a", "set_variable", {"variable": "item.message", "value": "x"})], "set by the system"),
        (
            [spec("a", "if", {"branches": [{"exit": "X", "conditions": [{"type": "colour"}]}]})],
            "Unknown condition type",
        ),
        (
            [
                spec(
                    "a",
                    "if",
                    {
                        "branches": [
                            {
                                "exit": "X",
                                "conditions": [{"type": "string", "variable": "v", "op": "matches", "value": "("}],
                            }
                        ]
                    },
                )
            ],
            "Invalid regular expression",
        ),
        ([spec("a", "find_agent", {"extra_skills": ["Klingon"]})], 'No skill named "Klingon"'),
        ([spec("a", "find_agent", {"periodic_message": "x"})], '"periodic_every" is needed'),
        (
            [spec("a", "switch", {"variable": "v", "branches": [{"value": "1", "exit": "Default"}]})],
            '"Default" is the exit',
        ),
        ([spec("a", "exit"), spec("a", "exit")], 'Two blocks have the key "a"'),
    ],
)
def test_validation_names_the_problem(db, blocks, problem):
    errors = validate_blocks(blocks)
    assert any(problem in error for error in errors), errors


def test_the_stock_mobile_chat_scenario_is_installed_in_the_seed_order(mobile_chat):
    scenario = mobile_chat
    assert validate_scenario(scenario) == []
    main_path, key = [], scenario.blocks.order_by("order").first().key
    blocks = {b.key: b for b in scenario.blocks.all()}
    while key:
        main_path.append(blocks[key].type)
        key = blocks[key].exits.get("next")
    # A greeting by name first (an If picks the text), then the seed's order.
    assert main_path == [
        "if",
        "send_message",
        "send_message",
        "if",
        "find_agent",
        "send_message",
        "connect_chat",
        "send_message",
        "exit",
    ]
    closed = blocks[blocks["check_hours"].exits["Closed"]]
    assert closed.type == "send_message" and blocks[closed.exits["next"]].type == "exit"
