"""Load for `make bench`: wrk for closed-loop peaks, an open-loop generator for latency.

The open-loop generator sends on a fixed clock (request i at t0 + i / rate) over a pool of
keep-alive connections and measures each latency from the request's *scheduled* time, so a
slow server shows as queueing instead of as fewer requests (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).with_name("wrk_post.lua")


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk(url: str, *, connections: int, seconds: float, mode: str, first: int = 0, secret: str = "") -> dict:
    """Closed loop: `connections` keep-alive connections for `seconds`; wrk's own summary."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA)]
    args += [url, "--", mode, str(first), secret, "1000"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60, check=False)  # noqa: S603
    for line in out.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            result = json.loads(line[len("WRK_JSON ") :])
            result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
            result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
            return result
    raise RuntimeError(f"wrk gave no summary: {out.stdout[-500:]} {out.stderr[-500:]}")


@dataclass
class OpenLoopResult:
    rate: float
    scheduled: int
    latencies: list[float] = field(default_factory=list)  # seconds, from the scheduled time
    statuses: dict[int, int] = field(default_factory=dict)
    acked: list[tuple[int, float]] = field(default_factory=list)  # (request index, wall-clock ack time)
    late_starts: int = 0  # requests the generator itself sent > 5 ms after their slot
    timeouts: int = 0


class _Connection:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def request(self, head: bytes, body: bytes) -> tuple[int, bool]:
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            lowered = line.lower()
            if lowered.startswith(b"content-length:"):
                length = int(line.split(b":")[1])
            elif lowered.startswith(b"connection:") and b"close" in lowered:
                close = True
        await self.reader.readexactly(length)
        return int(status_line.split()[1]), close


async def open_loop(
    port: int,
    path: str,
    bodies: list[bytes],
    *,
    rate: float,
    headers: dict[str, str],
    max_connections: int = 400,
    timeout: float = 10.0,
) -> OpenLoopResult:
    """Send `bodies` as POSTs at a constant `rate`; latency from each scheduled send time."""
    loop = asyncio.get_running_loop()
    result = OpenLoopResult(rate=rate, scheduled=len(bodies))
    idle: list[_Connection] = []
    slots = asyncio.Semaphore(max_connections)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    async def one(index: int, body: bytes, scheduled: float) -> None:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        async with slots:
            conn = idle.pop() if idle else None
            try:
                if conn is None:
                    conn = _Connection(*await asyncio.open_connection("127.0.0.1", port))
                status, close = await asyncio.wait_for(conn.request(head, body), timeout)
            except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError):
                result.timeouts += 1
                if conn is not None:
                    conn.writer.close()
                return
            done = loop.time()
            result.latencies.append(done - scheduled)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                result.acked.append((index, time.time() - (loop.time() - done)))
            if close:
                conn.writer.close()
            else:
                idle.append(conn)

    start = loop.time() + 0.05
    tasks = []
    for index, body in enumerate(bodies):
        scheduled = start + index / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            result.late_starts += 1
        tasks.append(asyncio.ensure_future(one(index, body, scheduled)))
    if tasks:
        await asyncio.wait(tasks, timeout=timeout + 5)
    for conn in idle:
        conn.writer.close()
    return result


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wait_port(port: int, proc: subprocess.Popen, seconds: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port} after {seconds} s")
