"""Splitting long text at word boundaries within each platform's limit."""

import pytest

from conversations.models import Customer, Interaction, Message
from integrations.models import IntegrationAccount
from integrations.outbound import EmptyMessage, MessageTooLong, queue_text, split_text, text_length, text_limit

WORDS = [f"word{n}" for n in range(3000)]


@pytest.mark.parametrize(
    ("messenger", "limit"), [("telegram", 4096), ("facebook", 1999), ("line", 5000), ("viber", 7000), ("nexmo", 1000)]
)
def test_parts_respect_the_platform_limit_and_keep_every_word(messenger, limit):
    text = " ".join(WORDS)
    parts = split_text(text, messenger=messenger)

    assert text_limit(messenger) == limit
    assert len(parts) > 1
    assert all(text_length(part, messenger) <= limit for part in parts)
    assert " ".join(parts).split() == WORDS  # no word was cut or lost


def test_a_text_exactly_at_facebooks_2000_is_split_because_facebook_wants_fewer():
    text = ("a" * 9 + " ") * 199 + "b" * 10  # 2000 characters
    parts = split_text(text, messenger="facebook")
    assert len(text) == 2000
    assert [len(p) for p in parts] == [1989, 10]


def test_paragraph_and_line_breaks_are_preferred_cut_points():
    first = "First paragraph " * 150  # ~2400 characters
    text = first.strip() + "\n\nSecond paragraph that follows. " + "x " * 1000
    parts = split_text(text, messenger="telegram")
    assert parts[0] == first.strip()
    assert parts[1].startswith("Second paragraph that follows.")


def test_line_counts_utf16_units_and_never_splits_a_surrogate_pair():
    text = "😀" * 3000  # 6000 UTF-16 units, no whitespace at all
    parts = split_text(text, messenger="line")
    assert [text_length(p, "line") for p in parts] == [5000, 1000]
    assert "".join(parts) == text


def test_a_word_longer_than_the_limit_is_cut_hard():
    url = "https://example.com/" + "p" * 1500
    parts = split_text(f"see {url} thanks", messenger="nexmo")
    assert all(len(p) <= 1000 for p in parts)
    assert "".join(parts).replace(" ", "") == f"see{url}thanks"


@pytest.fixture
def interaction(db):
    account = IntegrationAccount.objects.create(messenger="telegram", name="Bot", access_token="1:a")
    customer = Customer.objects.create(account=account, external_id="42")
    return Interaction.objects.create(account=account, customer=customer)


def test_queue_text_stores_parts_in_order_as_queued(interaction, django_capture_on_commit_callbacks):
    text = " ".join(WORDS[:1500])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        messages = queue_text(interaction=interaction, text=text, sender=Message.Sender.AGENT)

    stored = list(Message.objects.filter(interaction=interaction).order_by("id"))
    assert [m.pk for m in messages] == [m.pk for m in stored]
    assert " ".join(m.text for m in stored).split() == WORDS[:1500]
    assert {(m.status, m.direction, m.sender) for m in stored} == {("queued", "out", "agent")}
    assert len(callbacks) == 1  # sending starts only once the transaction commits


def test_queue_text_refuses_an_over_long_text_when_splitting_is_off(interaction):
    with pytest.raises(MessageTooLong, match="4096") as error:
        queue_text(interaction=interaction, text="x" * 5000, sender=Message.Sender.AGENT, split=False)
    assert (error.value.length, error.value.limit) == (5000, 4096)
    assert not Message.objects.exists()


def test_queue_text_refuses_empty_text(interaction):
    with pytest.raises(EmptyMessage, match="needs text"):
        queue_text(interaction=interaction, text="   ", sender=Message.Sender.BOT)
    assert not Message.objects.exists()
