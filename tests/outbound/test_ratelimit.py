"""The send-rate limiter: GCRA reservations shared through Redis (and the in-process twin)."""

import time

import pytest

from integrations import ratelimit
from integrations.ratelimit import LocalLimiter, Rate, RedisLimiter


@pytest.fixture(params=["redis", "local"])
def limiter(request):
    if request.param == "local":
        yield LocalLimiter()
        return
    url = request.getfixturevalue("redis_url")
    backend = RedisLimiter(url)
    backend.reset()
    yield backend
    backend.reset()


def slots(limiter, buckets, n, max_wait=60.0):
    """Reserve n slots; the absolute times (monotonic clock) they were granted for."""
    times = []
    for _ in range(n):
        start = time.monotonic()
        reservation = limiter.reserve(buckets, int(max_wait * 1_000_000))
        assert reservation.granted
        times.append(start + reservation.wait)
    return times


def test_slots_of_one_account_are_spaced_by_the_rate(limiter):
    # Measured on this side of the wire, so allow for the scheduling noise of a busy machine.
    times = slots(limiter, [("ratelimit:test:acct", Rate(10))], 10)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.1 - 0.03  # 10/s: one slot every 100 ms, however fast they are asked for
    assert times[-1] - times[0] >= 9 * 0.1 - 0.03


def test_a_burst_is_allowed_then_the_chat_rate_applies(limiter):
    buckets = [("ratelimit:test:chat", Rate(1, burst=3))]
    reservations = [limiter.reserve(buckets, 10_000_000) for _ in range(5)]
    assert [r.wait == 0 for r in reservations] == [True, True, True, False, False]
    assert 0.5 < reservations[3].wait <= 1.0
    assert 1.5 < reservations[4].wait <= 2.0


def test_a_far_slot_is_refused_and_not_taken(limiter):
    buckets = [("ratelimit:test:far", Rate(1))]
    assert limiter.reserve(buckets, 0).granted
    refused = limiter.reserve(buckets, 100_000)  # 0.1 s is not enough
    assert not refused.granted and refused.wait > 0.5
    later = limiter.reserve(buckets, 10_000_000)  # the refused one did not push it further
    assert later.granted and later.wait <= 1.0


def test_all_buckets_of_a_send_are_checked_together(limiter):
    account, chat_a, chat_b = (
        ("ratelimit:test:a", Rate(100)),
        ("ratelimit:test:a:1", Rate(1)),
        ("ratelimit:test:a:2", Rate(1)),
    )
    assert limiter.reserve([account, chat_a], 0).granted
    assert not limiter.reserve([account, chat_a], 100_000).granted  # chat 1 is at its rate
    other = limiter.reserve([account, chat_b], 100_000)  # chat 2 only waits for the account's slot
    assert other.granted and other.wait <= 0.011


def test_a_pause_holds_the_account(limiter):
    bucket = ("ratelimit:test:paused", Rate(25))
    limiter.pause(bucket[0], bucket[1], 2_000_000)
    reservation = limiter.reserve([bucket], 10_000_000)
    assert reservation.granted and 1.5 < reservation.wait <= 2.0


def test_the_table_limits_telegram_per_bot_and_per_chat(settings, redis_url):
    ratelimit.reset()
    bot = {"messenger": "telegram", "account_id": "bot1", "max_wait": 0.1}  # the wait a worker accepts
    first = ratelimit.reserve(chat_id="7", **bot)
    again = ratelimit.reserve(chat_id="7", **bot)
    other_chat = ratelimit.reserve(chat_id="8", **bot)
    assert first.granted and first.wait == 0
    assert not again.granted and again.wait > 0.5  # one chat: about one message per second
    assert other_chat.granted and other_chat.wait <= 0.04  # another chat waits only for the bot's 25/s
    ratelimit.reset()


def test_outbound_rate_limit_off_grants_every_send_at_once(settings):
    # OUTBOUND_RATE_LIMIT=false is for capacity benchmarks: no slot spacing, no pause.
    settings.OUTBOUND_RATE_LIMIT = False
    ratelimit.pause(messenger="telegram", account_id=7, seconds=30)
    for _ in range(50):
        reservation = ratelimit.reserve(messenger="telegram", account_id=7, chat_id="1", max_wait=0.0)
        assert reservation == ratelimit.Reservation(True, 0.0)


def test_outbound_rate_limit_on_by_default_spaces_one_chat(settings):
    assert settings.OUTBOUND_RATE_LIMIT is True
    ratelimit.reset()
    first = ratelimit.reserve(messenger="telegram", account_id=8, chat_id="1", max_wait=0.0)
    second = ratelimit.reserve(messenger="telegram", account_id=8, chat_id="1", max_wait=0.0)
    ratelimit.reset()
    assert first.granted and not second.granted  # Telegram: about 1 message per second per chat


def test_a_batch_is_reserved_in_order_in_one_call(limiter):
    """The sender reserves a round's slots at once: a later send in the call sees the earlier
    ones' reservations, and a refused one takes nothing."""
    account, chat_a, chat_b = (
        ("ratelimit:test:batch", Rate(100)),
        ("ratelimit:test:batch:1", Rate(1)),
        ("ratelimit:test:batch:2", Rate(1)),
    )
    first, again, other = limiter.reserve_many([[account, chat_a], [account, chat_a], [account, chat_b]], 100_000)
    assert first.granted and first.wait == 0
    assert not again.granted and again.wait > 0.5  # chat 1 is at its rate
    assert other.granted and 0 < other.wait <= 0.011  # the account's next slot: the refused one took none


def test_reserve_many_skips_platforms_without_limits(settings, redis_url):
    ratelimit.reset()
    sends = [("telegram", "bot2", "7"), ("no-such-messenger", "x", "1"), ("telegram", "bot2", "7")]
    first, unlimited, again = ratelimit.reserve_many(sends, max_wait=0.1)
    ratelimit.reset()
    assert first.granted and unlimited == ratelimit.Reservation(True, 0.0)
    assert not again.granted  # the same Telegram chat twice in one round
