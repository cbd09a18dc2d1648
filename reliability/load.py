"""Customers and agents at once, through the product's real doors (no Django in this process).

- A customer is a key on one of the simulator's demo accounts: it writes through the
  simulator's chat page endpoints (`simulator.client`, real HTTP), which sign and deliver the
  platform's webhook to our `/webhooks/...`, and it polls its chat for what arrived at the
  simulator's fake platform API (greetings, agent replies) like the chat page does.
- An agent logs in over HTTP (session cookie) and works the Agent Desktop over its real
  WebSocket (`/ws/agent/`, Origin = the server): Ready, accept every offer, reply to every
  customer text once, end the chat, finish wrap-up. Every action carries a unique request_id;
  an action without an answer when the socket drops is sent again, with the same request_id,
  after the reconnect (as the desktop does); the agent then resyncs.

Every customer text is `<run prefix><customer>-<round>[.<try>]` and its reply
`re:<that text>`, so the simulator's chat shows exactly what was delivered, and
how often. `count()` puts that together with the product's own rows (`reliability.dbtool`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from simulator import client as sim

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
REPLY = "re:"
DEMO_PASSWORD = "soak-Agent-pw-1"  # loopback-only demo agents of a throwaway database


def say(*args) -> None:
    print(*args, flush=True)  # noqa: T201


# --- Processes --------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proc:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_path: Path):
        self.name, self.cmd, self.env, self.log_path = name, cmd, env, log_path
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 10) -> None:
        if not self.alive():
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=5)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def daphne(env: dict[str, str], port: int, log_path: Path, name: str = "daphne") -> Proc:
    cmd = [PY, "-m", "contactcenter.server", "-b", "127.0.0.1", "-p", str(port), "contactcenter.asgi:application"]
    return Proc(name, cmd, env, log_path)


def celery(env: dict[str, str], log_path: Path, *args: str, name: str = "celery") -> Proc:
    return Proc(name, [PY, "-m", "celery", "-A", "contactcenter", *args, "--loglevel=INFO"], env, log_path)


def wait_healthy(url: str, proc: Proc | None = None, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2).read()
            return
        except Exception:
            if (proc is not None and not proc.alive()) or time.monotonic() > deadline:
                tail = proc.log()[-3000:] if proc else ""
                raise RuntimeError(f"{url} did not come up:\n{tail}") from None
            time.sleep(0.2)


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return result.stdout


def prepare(env: dict[str, str], *, agents: int, migrate: bool = True) -> None:
    """Migrate, load the demo (accounts on this server's simulator) and agent1..agentN."""
    env = dict(env, DEMO_PASSWORD=DEMO_PASSWORD)
    if migrate:
        manage(env, "migrate", "--noinput")
    manage(env, "load_demo", "--force")
    run_dbtool(env, "agents", str(agents), DEMO_PASSWORD)


def run_dbtool(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PY, "-m", "reliability.dbtool", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if result.returncode:
        raise RuntimeError(f"reliability.dbtool {args[0]} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def db_tally(env: dict[str, str], prefix: str) -> dict:
    return json.loads(run_dbtool(env, "tally", prefix).strip().splitlines()[-1])


# --- Agents -----------------------------------------------------------------------------

_request_ids = itertools.count(1)


@dataclass
class DeskAgent:
    base_url: str
    username: str
    prefix: str
    password: str = DEMO_PASSWORD
    cookie: str = ""
    connects: int = 0
    offers_seen: set = field(default_factory=set)
    accepted: set = field(default_factory=set)
    replies_acked: set = field(default_factory=set)  # reply texts the server acknowledged
    replies_sent: set = field(default_factory=set)
    errors: Counter = field(default_factory=Counter)
    resent: int = 0
    found_not_ready: int = 0  # times the desk showed Not Ready (a missed offer) and we went Ready again

    def __post_init__(self):
        self.ws = None
        self.last_ids: dict[int, int] = {}
        self.chats: dict[int, dict] = {}
        self.replied: set[int] = set()  # inbound message ids answered
        self.asked: dict[tuple, str] = {}  # (action, interaction) -> request id, asked once
        self.unanswered: dict[str, dict] = {}  # request id -> frame, until ack/error
        self._ready_asked = 0.0
        self._was_ready = False

    def login(self) -> None:
        session = requests.Session()
        url = f"{self.base_url}/agent/login/"
        session.get(url, timeout=15).raise_for_status()
        response = session.post(
            url,
            data={
                "username": self.username,
                "password": self.password,
                "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            },
            headers={"Referer": url},
            timeout=15,
            allow_redirects=False,
        )
        if response.status_code != 302 or "sessionid" not in session.cookies:
            raise RuntimeError(f"{self.username} could not log in: HTTP {response.status_code}")
        self.cookie = f"sessionid={session.cookies['sessionid']}; csrftoken={session.cookies.get('csrftoken', '')}"

    async def send(self, action: str, **fields) -> str:
        request_id = f"{self.username}-{next(_request_ids)}"
        frame = {"action": action, "request_id": request_id, **fields}
        if action != "ping":
            self.unanswered[request_id] = frame
        if action == "send":
            self.replies_sent.add(fields["text"])
        with contextlib.suppress(WebSocketException, OSError):
            if self.ws is not None:
                await self.ws.send(json.dumps(frame))
        return request_id

    async def _once(self, action: str, interaction_id: int, key_id: int | None = None, **fields) -> None:
        """Ask once per chat, or per assignment (`key_id`): a chat offered again is accepted again."""
        key = (action, interaction_id if key_id is None else key_id)
        if key not in self.asked:
            self.asked[key] = await self.send(action, interaction_id=interaction_id, **fields)

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(self.login)
        ws_url = self.base_url.replace("http://", "ws://") + "/ws/agent/"
        while not stop.is_set():
            try:
                async with connect(
                    ws_url,
                    origin=self.base_url,
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=10,
                    ping_interval=None,
                    close_timeout=2,
                ) as ws:
                    self.ws = ws
                    self.connects += 1
                    # After a reconnect: what got no answer goes again, same request id.
                    for frame in list(self.unanswered.values()):
                        self.resent += 1
                        await ws.send(json.dumps(frame))
                    await self.send("set_state", state="ready")
                    await self.send("sync", last_ids={str(k): v for k, v in self.last_ids.items()})
                    ticker = asyncio.create_task(self._tick(ws, stop))
                    try:
                        async for raw in ws:
                            await self.on_frame(json.loads(raw))
                    finally:
                        ticker.cancel()
            except (OSError, WebSocketException, TimeoutError):
                pass
            finally:
                self.ws = None
            if not stop.is_set():
                await asyncio.sleep(0.5)

    async def _tick(self, ws, stop: asyncio.Event) -> None:
        with contextlib.suppress(WebSocketException, OSError):
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await asyncio.wait_for(stop.wait(), 3)
                if not stop.is_set():
                    await self.send("ping")
            await self.send("set_state", state="logged_out")
            await asyncio.sleep(0.5)
            await ws.close()

    async def on_frame(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind in ("ack", "error"):
            request = self.unanswered.pop(frame.get("request_id"), None)
            if kind == "error":
                self.errors[frame.get("error", "?")] += 1
            elif request and request["action"] == "send":
                self.replies_acked.add(request["text"])
            return
        if kind == "snapshot":
            await self.on_snapshot(frame)
        elif kind == "message":
            await self.on_message(frame["message"])

    async def on_snapshot(self, snap: dict) -> None:
        self.chats = {c["interaction_id"]: c for c in snap["chats"]}
        state = snap["agent"]["state"]
        self._was_ready = self._was_ready or state in ("ready", "busy", "acw")
        if state == "not_ready" and self._was_ready and time.monotonic() - self._ready_asked > 2:
            # "Missed chat": the person notices and goes Ready again.
            self.found_not_ready += 1
            self._ready_asked = time.monotonic()
            await self.send("set_state", state="ready")
        missing = False
        for iid, chat in self.chats.items():
            if chat["status"] == "offered":
                self.offers_seen.add(iid)
                await self._once("accept", iid, key_id=chat["assignment_id"])
            elif chat["status"] in ("active", "wrap_up") and iid not in self.last_ids:
                self.last_ids[iid] = 0
                missing = True
            if chat["status"] == "active":
                self.accepted.add(iid)
            if chat["status"] == "wrap_up":
                disposition = chat["dispositions"][0]["id"] if chat.get("dispositions") else None
                await self._once(
                    "wrap_up", iid, key_id=chat["assignment_id"], disposition_id=disposition, notes="", finish=True
                )
        for iid in [i for i in self.last_ids if i not in self.chats]:
            del self.last_ids[iid]
        if missing:
            await self.send("sync", last_ids={str(k): v for k, v in self.last_ids.items()})

    async def on_message(self, message: dict) -> None:
        iid = message["interaction_id"]
        self.last_ids[iid] = max(self.last_ids.get(iid, 0), message["id"])
        text = message.get("text") or ""
        if message["direction"] != "in" or not text.startswith(self.prefix) or message["id"] in self.replied:
            return
        chat = self.chats.get(iid)
        if chat is None or chat["status"] != "active":
            return  # not (or no longer) ours to answer; the next snapshot tells
        self.replied.add(message["id"])
        await self.send("read", interaction_id=iid, message_id=message["id"])
        await self.send("send", interaction_id=iid, text=REPLY + text)
        await self._once("end_chat", iid, key_id=self.chats[iid]["assignment_id"])


# --- Customers --------------------------------------------------------------------------


@dataclass
class Customer:
    base_url: str
    account_id: int
    key: str
    prefix: str
    rounds: int | None = None  # None: until stopped
    round_timeout: float = 60
    think: tuple[float, float] = (1.5, 3.0)
    poll: float = 0.7  # seconds between looks at the chat, as the chat page polls
    sent_ok: list = field(default_factory=list)  # tokens the simulator answered 201 for
    send_errors: int = 0
    answered: dict = field(default_factory=dict)  # token -> seconds to the reply
    unanswered: list = field(default_factory=list)

    async def run(self, stop: asyncio.Event, hard_deadline: float) -> None:
        after = 0
        for round_no in itertools.count(1):
            if stop.is_set() or (self.rounds is not None and round_no > self.rounds):
                return
            token = await self._send(round_no, hard_deadline)
            if token is None:
                continue
            started = time.monotonic()
            want = REPLY + self.prefix + token
            deadline = min(started + self.round_timeout, hard_deadline)
            while True:
                try:
                    rows = await asyncio.to_thread(sim.chat, self.base_url, self.account_id, self.key, after=after)
                except requests.RequestException:
                    rows = []
                for row in rows:
                    after = max(after, row["id"])
                    if row["direction"] == "out" and row["text"] == want:
                        self.answered[token] = time.monotonic() - started
                if token in self.answered:
                    break
                if time.monotonic() > deadline:
                    self.unanswered.append(token)
                    break
                await asyncio.sleep(self.poll)
            await asyncio.sleep(random.uniform(*self.think))

    async def _send(self, round_no: int, hard_deadline: float) -> str | None:
        for attempt in range(1, 9):
            token = f"{self.key}-{round_no}" + (f".{attempt}" if attempt > 1 else "")
            try:
                await asyncio.to_thread(
                    sim.send_text, self.base_url, self.account_id, self.key, self.prefix + token, name=self.key
                )
                self.sent_ok.append(token)
                return token
            except requests.RequestException:
                # The person sees "not sent" and writes again: a new text, so the tally can
                # tell the two apart if the first reached the simulator after all.
                self.send_errors += 1
                if time.monotonic() > hard_deadline:
                    return None
                await asyncio.sleep(min(2**attempt * 0.25, 4))
        return None


# --- A run and its count ----------------------------------------------------------------


def sim_accounts(base_url: str, platforms: list[str]) -> dict[str, int]:
    rows = requests.get(f"{base_url}/simulator/accounts.json", timeout=15).json()["accounts"]
    by_platform = {}
    for row in rows:
        by_platform.setdefault(row["platform"], row["id"])  # the demo account: the first one
    return {p: by_platform[p] for p in platforms}


@dataclass
class Load:
    base_url: str
    prefix: str
    customers: list[Customer]
    agents: list[DeskAgent]
    stop_customers: asyncio.Event = field(default_factory=asyncio.Event)
    stop_agents: asyncio.Event = field(default_factory=asyncio.Event)


def make_load(
    base_url: str,
    *,
    platform_url: str | None = None,
    customers: int,
    agents: int,
    platforms: list[str],
    rounds: int | None = None,
    round_timeout: float = 60,
    think: tuple[float, float] = (1.5, 3.0),
    tag: str = "",
    poll: float = 0.7,
) -> Load:
    prefix = f"L{os.getpid()}x{random.randrange(10**6)}:"
    platform_url = platform_url or base_url
    accounts = sim_accounts(platform_url, platforms)
    people = [
        Customer(
            platform_url,
            accounts[platforms[n % len(platforms)]],
            f"c{n + 1}{platforms[n % len(platforms)][:2]}{tag}",
            prefix,
            rounds=rounds,
            round_timeout=round_timeout,
            think=think,
            poll=poll,
        )
        for n in range(customers)
    ]
    desk = [DeskAgent(base_url, f"agent{n + 1}", prefix) for n in range(agents)]
    return Load(platform_url, prefix, people, desk)


async def drive(load: Load, *, seconds: float, drain: float, during=None) -> None:
    """Agents and customers at once: customers start rounds for `seconds`, then have up to
    `drain` seconds for their last answers; `during(load)` (faults) runs alongside."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=64))
    hard_deadline = time.monotonic() + seconds + drain
    agent_tasks = [asyncio.create_task(a.run(load.stop_agents)) for a in load.agents]
    # Logged in and Ready before the first customer writes (with nobody logged in, a scenario
    # tells the customer that no agent can answer): wait for it rather than a fixed second,
    # which a busy machine overran.
    ready_by = time.monotonic() + 30
    while not all(a._was_ready for a in load.agents) and time.monotonic() < ready_by:
        if any(task.done() for task in agent_tasks):
            break  # an agent failed (its error is raised below)
        await asyncio.sleep(0.1)
    customer_tasks = [asyncio.create_task(c.run(load.stop_customers, hard_deadline)) for c in load.customers]
    extra = asyncio.create_task(during(load)) if during else None
    try:
        done, _ = await asyncio.wait(customer_tasks, timeout=seconds)
        load.stop_customers.set()
        await asyncio.wait(customer_tasks, timeout=max(1.0, hard_deadline - time.monotonic()) + 5)
        for task in customer_tasks + agent_tasks:
            if task.done() and task.exception():
                raise task.exception()
    finally:
        load.stop_customers.set()
        if extra is not None:
            extra.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await extra
        # Agents finish the last wrap-ups, then log out.
        await asyncio.sleep(2)
        load.stop_agents.set()
        await asyncio.wait(agent_tasks, timeout=10)
        for task in customer_tasks + agent_tasks:
            task.cancel()


def simulator_view(load: Load) -> tuple[list[str], Counter]:
    """Every customer text of the run the simulator holds, and how often each reply arrived."""
    sent, replies = [], Counter()
    seen_keys = set()
    for person in load.customers:
        if (person.account_id, person.key) in seen_keys:
            continue
        seen_keys.add((person.account_id, person.key))
        after = 0
        while True:
            rows = sim.chat(load.base_url, person.account_id, person.key, after=after)
            if not rows:
                break
            for row in rows:
                after = max(after, row["id"])
                if row["direction"] == "in" and row["text"].startswith(load.prefix):
                    sent.append(row["text"][len(load.prefix) :])
                elif row["direction"] == "out" and row["text"].startswith(REPLY + load.prefix):
                    replies[row["text"][len(REPLY + load.prefix) :]] += 1
    return sent, replies


def count(load: Load, tally: dict) -> dict:
    """The run's figures: the simulator's view (what customers sent and received) against the
    product's rows. lost = a customer text the simulator took that the product never stored, or
    an acknowledged reply that neither arrived nor waits to be sent; stuck = a stored text never
    answered, an outbound message still queued/sending, a chat event never dispatched."""
    sent, replies = simulator_view(load)
    stored = {t[len(load.prefix) :] for t in tally["stored_texts"]}
    acked = {t[len(REPLY + load.prefix) :] for a in load.agents for t in a.replies_acked}
    not_stored = [t for t in sent if t not in stored]
    turned_away = {t[len(load.prefix) :] for t in tally["turned_away_texts"]}
    unanswered = [t for t in sent if t in stored and t not in replies and t not in turned_away]
    acked_missing = [t for t in acked if t not in replies]
    lost_replies = max(0, len(acked_missing) - tally["outbound_unsent"])
    duplicated = sum(n - 1 for n in replies.values()) + (tally["stored_rows"] - len(tally["stored_texts"]))
    return {
        "sent": len(sent),
        "stored": len([t for t in sent if t in stored]),
        "greeted": tally["greeted"],
        "chats": tally["interactions"],
        "offered": tally["offered"],
        "accepted": tally["accepted"],
        "replies delivered": len(replies),
        "turned away": len([t for t in sent if t in turned_away and t not in replies]),
        "duplicated": duplicated,
        "lost": len(not_stored) + lost_replies,
        "stuck": len(unanswered) + tally["outbound_unsent"] + tally["events_undispatched"],
        "_not_stored": not_stored[:10],
        "_unanswered": unanswered[:10],
        "_acked_missing": acked_missing[:10],
        "_send_errors": sum(c.send_errors for c in load.customers),
        "_agent_errors": dict(sum((a.errors for a in load.agents), Counter())),
        "_reconnects": sum(max(0, a.connects - 1) for a in load.agents),
        "_resent": sum(a.resent for a in load.agents),
        "_missed_offers": sum(a.found_not_ready for a in load.agents),
        "_latency_p50": _pct([s for c in load.customers for s in c.answered.values()], 50),
        "_latency_p95": _pct([s for c in load.customers for s in c.answered.values()], 95),
        "_outbound_failed": tally["outbound_failed"],
        "_open_chats": tally["open_interactions"],
    }


def explain(env: dict[str, str], load: Load, figures: dict, path: Path) -> None:
    """Write the story of the first unanswered or unstored texts to `path` (a failed run's clue)."""
    tokens = (figures["_unanswered"] + figures["_not_stored"])[:5]
    if tokens:
        story = run_dbtool(env, "explain", *[load.prefix + t for t in tokens])
        path.write_text(story)
        say(f"  the chats of {', '.join(tokens)}: {path}")


def _pct(values: list[float], p: int) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * p / 100))], 2)


COLUMNS = [
    "sent",
    "stored",
    "greeted",
    "chats",
    "offered",
    "accepted",
    "replies delivered",
    "turned away",
    "duplicated",
    "lost",
    "stuck",
]


def table(rows: list[tuple[str, dict]], columns: list[str] = COLUMNS) -> str:
    head = ["shape"] + columns
    body = [[name] + [str(figures.get(c, "")) for c in columns] for name, figures in rows]
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    lines = [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in [head] + body]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def details(figures: dict) -> str:
    return "  " + ", ".join(f"{k[1:]}={v}" for k, v in figures.items() if k.startswith("_"))
