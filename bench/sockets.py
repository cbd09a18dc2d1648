"""Bench phases of the Agent Desktop sockets: webhook 2xx -> frame on the assigned agent's
socket with 200 agents connected (and where the CPU went), and idle sockets in one Daphne
process."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from bench import cpu, loadgen
from bench.common import (
    CORES,
    PORT,
    PROCS,
    SIZE,
    SOCKET_RATES,
    WS_PORT,
    daphne_ws,
    own_sessions,
    quiesce,
    say,
    telegram_account,
    to_ms,
    update_body,
)


def make_agents(n: int) -> list[tuple[str, int]]:
    """n agents, each logged in (a session cookie) with one active chat; (cookie, customer id)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from agentdesk.models import Agent, ChatAssignment
    from conversations.models import Customer, Interaction

    account = telegram_account("bench-agents")
    agents = []
    for i in range(n):
        user = get_user_model().objects.create_user(f"bench-agent-{i}", password=None)
        agent = Agent.objects.create(user=user, state=Agent.State.BUSY)
        customer_id = 700_000 + i
        customer = Customer.objects.create(account=account, external_id=str(customer_id))
        interaction = Interaction.objects.create(account=account, customer=customer, agent=user)
        ChatAssignment.objects.create(interaction=interaction, agent=agent, status=ChatAssignment.Status.ACTIVE)
        client = Client()
        client.force_login(user)
        agents.append((f"sessionid={client.cookies['sessionid'].value}", customer_id))
    return account, agents


async def _connect(cookie: str, tries: int = 3):
    """One desktop socket; retried, as the desktop reconnects (Daphne drops a handshake its
    application has not accepted within 5 s, which a burst of connects on a busy box hits)."""
    for attempt in range(tries):
        try:
            return await _connect_once(cookie)
        except Exception:
            if attempt == tries - 1:
                raise
            await asyncio.sleep(0.5 * (attempt + 1))
    return None


async def _connect_once(cookie: str):
    import websockets

    socket = await websockets.connect(
        f"ws://127.0.0.1:{WS_PORT}/ws/agent/",
        additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{WS_PORT}"},
        open_timeout=30,
        max_size=2**22,
    )
    return socket


async def socket_latency(account, agents, results: dict) -> None:
    arrivals: dict[str, float] = {}
    sockets = []
    readers = []

    async def read(socket) -> None:
        try:
            async for raw in socket:
                frame = json.loads(raw)
                if frame.get("type") == "message":
                    text = frame["message"].get("text", "")
                    if text.startswith("sock ") and text not in arrivals:
                        arrivals[text] = time.time()
        except Exception:  # noqa: S110 (a closed socket ends its reader)
            pass

    try:
        for start in range(0, len(agents), 10):
            batch = await asyncio.gather(
                *(_connect(cookie) for cookie, _ in agents[start : start + 10]), return_exceptions=True
            )
            sockets += [s for s in batch if not isinstance(s, BaseException)]
        readers = [asyncio.ensure_future(read(s)) for s in sockets]
        await asyncio.sleep(1.0)  # the snapshots
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": account.webhook_secret}
        for rate in SOCKET_RATES:
            await asyncio.to_thread(quiesce)
            count = int(rate * SIZE["socket_seconds"])
            texts = [f"sock {rate}-{i}" for i in range(count)]
            bodies = [
                update_body(4 * 10**8 + rate * 10**5 + i, agents[i % len(agents)][1], text)
                for i, text in enumerate(texts)
            ]
            cpu_before, wall_started = cpu.snapshot(own_sessions()), time.time()
            run = await loadgen.open_loop(PORT, account.webhook_path, bodies, rate=rate, headers=headers)
            deadline = time.monotonic() + 10
            acked = {texts[i]: at for i, at in run.acked}
            while time.monotonic() < deadline and any(t not in arrivals for t in acked):
                await asyncio.sleep(0.05)
            cpu_spent = cpu.spent(cpu_before, cpu.snapshot(own_sessions()))
            latencies = [arrivals[t] - at for t, at in acked.items() if t in arrivals]
            lags = await asyncio.to_thread(inbox_lags, account, [json.loads(b)["update_id"] for b in bodies])
            entry = {
                "rate": rate,
                "agents": len(sockets),
                "acked": len(acked),
                "received": len(latencies),
                "ack_p99_ms": to_ms(loadgen.percentile(run.latencies, 0.99)),
                "p50_ms": to_ms(loadgen.percentile(latencies, 0.5)),
                "p95_ms": to_ms(loadgen.percentile(latencies, 0.95)),
                "p99_ms": to_ms(loadgen.percentile(latencies, 0.99)),
                "lag_p50_ms": to_ms(loadgen.percentile(lags, 0.5)),  # of which: ack -> processed
                "lag_p99_ms": to_ms(loadgen.percentile(lags, 0.99)),
                # CPU milliseconds per message, per kind of process, from the first send to the last frame
                "cpu_ms_per_message": {kind: 1000 * sec / max(1, len(acked)) for kind, sec in cpu_spent.items()},
                "cpu_busy": sum(cpu_spent.values()) / max(1e-9, CORES * (time.time() - wall_started)),
            }
            results["socket"].append(entry)
            say(
                f"   {rate} msg/s, {len(sockets)} agents: 2xx -> frame p50 {entry['p50_ms']:.1f} "
                f"p95 {entry['p95_ms']:.1f} p99 {entry['p99_ms']:.1f} ms; {entry['received']}/{entry['acked']} frames; "
                f"inbox lag p50 {entry['lag_p50_ms']:.0f} p99 {entry['lag_p99_ms']:.0f} ms"
            )
            costs = ", ".join(f"{kind} {ms:.1f}" for kind, ms in entry["cpu_ms_per_message"].items() if ms >= 0.05)
            say(f"     CPU ms per message: {costs} (cores {100 * entry['cpu_busy']:.0f} % busy)")
    finally:
        for socket in sockets:
            await socket.close()
        for reader in readers:
            reader.cancel()


def inbox_lags(account, update_ids: list[int]) -> list[float]:
    """Seconds from each row's arrival to its processing (the share of the processor)."""
    from integrations.models import InboxEvent

    rows = InboxEvent.objects.filter(account=account, event_id__in=[str(u) for u in update_ids])
    return [(p - r).total_seconds() for r, p in rows.values_list("received_at", "processed_at") if p is not None]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def idle_sockets(agents, results: dict) -> None:
    proc = PROCS.start("idle-daphne", daphne_ws())
    await asyncio.to_thread(loadgen.wait_port, WS_PORT, proc)
    sockets = []
    target = SIZE["idle_sockets"]
    try:
        await asyncio.sleep(1.0)
        before = rss_kib(proc.pid)
        started = time.monotonic()
        deadline = started + 180
        failed = 0
        while len(sockets) < target and time.monotonic() < deadline:
            batch = [agents[(len(sockets) + k) % len(agents)][0] for k in range(min(20, target - len(sockets)))]
            done = await asyncio.gather(*(_connect(cookie) for cookie in batch), return_exceptions=True)
            sockets += [s for s in done if not isinstance(s, BaseException)]
            failed += sum(1 for s in done if isinstance(s, BaseException))
            if failed > 50:
                break
        connect_seconds = time.monotonic() - started
        await asyncio.sleep(2.0)
        after = rss_kib(proc.pid)
        pongs = await asyncio.gather(*(s.ping() for s in sockets[:: max(1, len(sockets) // 50)]))
        alive = await asyncio.wait_for(asyncio.gather(*pongs, return_exceptions=True), 30)
        results["idle"] = {
            "sockets": len(sockets),
            "failed": failed,
            "rss_before_mib": before / 1024,
            "rss_after_mib": after / 1024,
            "kib_per_socket": (after - before) / max(1, len(sockets)),
            "connect_seconds": connect_seconds,
            "sampled_alive": sum(1 for a in alive if not isinstance(a, BaseException)),
            "sampled": len(alive),
        }
        say(
            f"   {len(sockets)} idle sockets ({failed} failed) in {connect_seconds:.1f} s: "
            f"RSS {before / 1024:.0f} -> {after / 1024:.0f} MiB "
            f"({results['idle']['kib_per_socket']:.0f} KiB/socket)"
        )
    finally:
        for socket in sockets:
            await socket.close()
        PROCS.stop("idle-daphne")
