"""Send-rate limits shared by every worker: GCRA buckets in Redis, per account and per chat.

A send reserves the next free slot in all its buckets at once (one Lua script, Redis's
clock). A near slot is taken and the worker waits for it; a far one is not taken and the
caller requeues the message for later. So bursts are spread out instead of answered with
429s, and a platform's `retry_after` pauses the whole account for every worker.

Without REDIS_URL (the embedded default, one process) an in-process limiter does the same.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int = 1

    @property
    def interval_us(self) -> int:
        return int(1_000_000 / self.per_second)

    @property
    def tolerance_us(self) -> int:
        return (self.burst - 1) * self.interval_us


# Kept a little under the platforms' published figures (performance.md section 3) so that
# scheduling jitter between workers cannot push a 1-second window over the platform's cap.
LIMITS: dict[str, dict[str, Rate]] = {
    # ~30/s per bot, ~1/s per chat; the chat's gap has a fifth to spare: Telegram measures it at
    # arrival, and a send can reach the platform later than its turn was granted (make bench
    # saw 2 of 3,000 sends refused at exactly 1/s on a busy machine).
    "telegram": {"account": Rate(25, burst=1), "chat": Rate(0.8, burst=1)},
    "facebook": {"account": Rate(250, burst=10), "chat": Rate(5, burst=5)},  # 300 calls/s per page
    "line": {"account": Rate(1500, burst=50)},  # ~2,000 req/s per channel
    "viber": {"account": Rate(50, burst=10)},  # no published per-second cap; 100/h per user is the platform's
    "nexmo": {"account": Rate(25, burst=1)},  # 30 requests/s per API key
}


@dataclass(frozen=True)
class Reservation:
    """`wait` seconds until the slot; `granted` False means nothing was reserved."""

    granted: bool
    wait: float


def _buckets(*, messenger: str, account_id, chat_id: str) -> list[tuple[str, Rate]]:
    limits = LIMITS.get(messenger, {})
    buckets = []
    if "account" in limits:
        buckets.append((f"ratelimit:{messenger}:{account_id}", limits["account"]))
    if "chat" in limits:
        buckets.append((f"ratelimit:{messenger}:{account_id}:{chat_id}", limits["chat"]))
    return buckets


def reserve(*, messenger: str, account_id, chat_id: str, max_wait: float) -> Reservation:
    """Reserve a send slot for one chat of an account if it comes within `max_wait` seconds.

    With OUTBOUND_RATE_LIMIT off (capacity benchmarks only) every send goes at once.
    """
    [reservation] = reserve_many([(messenger, account_id, chat_id)], max_wait=max_wait)
    return reservation


def reserve_many(sends: list[tuple[str, object, str]], *, max_wait: float) -> list[Reservation]:
    """`reserve` for each (messenger, account id, chat id), in order, in one Redis round trip:
    the sender reserves a whole batch's slots at once, just before the calls go."""
    if not settings.OUTBOUND_RATE_LIMIT:
        return [Reservation(True, 0.0) for _ in sends]
    groups = [_buckets(messenger=messenger, account_id=account, chat_id=chat) for messenger, account, chat in sends]
    limited = [buckets for buckets in groups if buckets]
    reserved = iter(_backend().reserve_many(limited, int(max_wait * 1_000_000)) if limited else [])
    return [next(reserved) if buckets else Reservation(True, 0.0) for buckets in groups]


def account_interval(messenger: str) -> float:
    """Seconds between two sends of one account at the platform's steady rate (0: no limit)."""
    rate = LIMITS.get(messenger, {}).get("account")
    return 1 / rate.per_second if rate and settings.OUTBOUND_RATE_LIMIT else 0.0


def pause(*, messenger: str, account_id, seconds: float) -> None:
    """The platform said "retry after": hold every send of the account for `seconds`."""
    if not settings.OUTBOUND_RATE_LIMIT:
        return
    buckets = _buckets(messenger=messenger, account_id=account_id, chat_id="")
    if buckets:
        key, rate = buckets[0]
        _backend().pause(key, rate, int(seconds * 1_000_000))


def account_wait(*, messenger: str, account_id) -> float:
    """Seconds until the account's bucket has a free slot (0 when free); reserves nothing."""
    buckets = _buckets(messenger=messenger, account_id=account_id, chat_id="")
    if not buckets:
        return 0.0
    key, rate = buckets[0]
    return _backend().wait(key, rate)


def reset() -> None:
    """Forget all buckets (tests, benchmarks)."""
    _backend().reset()


# --- Backends -------------------------------------------------------------------------

# One or more sends, each with its buckets, reserved in order (a later send sees the earlier
# ones' reservations). KEYS: every send's bucket keys, send after send. ARGV: max_wait_us, then
# per send its number of buckets n followed by n pairs (interval_us, tolerance_us).
# Returns {granted 0/1, wait_us} per send. The stored value is the bucket's theoretical arrival time.
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_wait = tonumber(ARGV[1])
local out = {}
local k = 0
local a = 2
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  local slot = now
  local tats = {}
  for i = 1, n do
    local tat = tonumber(redis.call('GET', KEYS[k + i]) or '0')
    if tat < now then tat = now end
    tats[i] = tat
    local allowed = tat - tonumber(ARGV[a + i * 2])
    if allowed > slot then slot = allowed end
  end
  local wait = slot - now
  if wait > max_wait then
    table.insert(out, 0)
  else
    for i = 1, n do
      local tat = tats[i]
      if slot > tat then tat = slot end
      local new_tat = tat + tonumber(ARGV[a + i * 2 - 1])
      redis.call('SET', KEYS[k + i], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
    end
    table.insert(out, 1)
  end
  table.insert(out, wait)
  k = k + n
  a = a + 1 + n * 2
end
return out
"""

# KEYS[1]: the account bucket. ARGV: pause_us. Moves the arrival time past the pause.
_PAUSE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < until_ then
  redis.call('SET', KEYS[1], string.format('%d', until_), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
"""


class RedisLimiter:
    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)
        self._reserve = self.client.register_script(_RESERVE_LUA)
        self._pause = self.client.register_script(_PAUSE_LUA)

    def reserve(self, buckets: list[tuple[str, Rate]], max_wait_us: int) -> Reservation:
        return self.reserve_many([buckets], max_wait_us)[0]

    def reserve_many(self, groups: list[list[tuple[str, Rate]]], max_wait_us: int) -> list[Reservation]:
        keys, args = [], [max_wait_us]
        for buckets in groups:
            args.append(len(buckets))
            for key, rate in buckets:
                keys.append(key)
                args += [rate.interval_us, rate.tolerance_us]
        flat = self._reserve(keys=keys, args=args)
        return [Reservation(bool(flat[i]), int(flat[i + 1]) / 1_000_000) for i in range(0, len(flat), 2)]

    def pause(self, key: str, rate: Rate, pause_us: int) -> None:
        self._pause(keys=[key], args=[pause_us])

    def wait(self, key: str, rate: Rate) -> float:
        pipe = self.client.pipeline(transaction=False)
        pipe.time()
        pipe.get(key)
        (seconds, micros), tat = pipe.execute()
        now = int(seconds) * 1_000_000 + int(micros)
        return max(int(tat or 0) - rate.tolerance_us - now, 0) / 1_000_000

    def reset(self) -> None:
        for key in self.client.scan_iter(match="ratelimit:*", count=500):
            self.client.delete(key)


class LocalLimiter:
    """The same algorithm for one process (the embedded default has no Redis)."""

    def __init__(self):
        self.tats: dict[str, int] = {}
        self.lock = threading.Lock()

    @staticmethod
    def _now() -> int:
        return int(time.monotonic() * 1_000_000)

    def reserve(self, buckets: list[tuple[str, Rate]], max_wait_us: int) -> Reservation:
        with self.lock:
            now = self._now()
            tats = [max(self.tats.get(key, 0), now) for key, _ in buckets]
            slot = max([now] + [tat - rate.tolerance_us for tat, (_, rate) in zip(tats, buckets, strict=True)])
            if slot - now > max_wait_us:
                return Reservation(False, (slot - now) / 1_000_000)
            for tat, (key, rate) in zip(tats, buckets, strict=True):
                self.tats[key] = max(tat, slot) + rate.interval_us
            return Reservation(True, (slot - now) / 1_000_000)

    def reserve_many(self, groups: list[list[tuple[str, Rate]]], max_wait_us: int) -> list[Reservation]:
        return [self.reserve(buckets, max_wait_us) for buckets in groups]

    def pause(self, key: str, rate: Rate, pause_us: int) -> None:
        with self.lock:
            self.tats[key] = max(self.tats.get(key, 0), self._now() + pause_us)

    def wait(self, key: str, rate: Rate) -> float:
        with self.lock:
            return max(self.tats.get(key, 0) - rate.tolerance_us - self._now(), 0) / 1_000_000

    def reset(self) -> None:
        with self.lock:
            self.tats.clear()


@lru_cache(maxsize=4)
def _backend_for(redis_url: str):
    return RedisLimiter(redis_url) if redis_url else LocalLimiter()


def _backend():
    return _backend_for(settings.REDIS_URL)
