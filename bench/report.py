"""The one table of `make bench`, bench/results.json, the latency plot and the profile summary."""

from __future__ import annotations

import collections
import json
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent


def say(*args) -> None:
    print(*args, flush=True)  # noqa: T201


# --- Profile (py-spy raw: collapsed stacks, "frame;frame;... count") --------------------------

INTERESTING = {
    "handle (integrations/webhooks.py)": "handle (integrations/webhooks.py",
    "  account_cache.webhook_account": "webhook_account (integrations/account_cache.py",
    "  provider.verify": "verify (integrations/providers/",
    "  provider.parse": "parse (integrations/providers/",
    "  take_in (the INSERT + commit)": "take_in (integrations/ingest.py",
    "    wake (Redis SET NX, Celery publish)": "wake (integrations/ingest.py",
    "  psycopg execute (all queries)": "execute (psycopg/cursor.py",
    "  pool getconn/putconn": "conn (psycopg_pool/pool.py",
    "close_old_connections": "close_old_connections (django/db/__init__.py",
    "Django ASGI/WSGI handler (other paths)": "(django/core/handlers/",
    "asyncio event loop (server I/O)": "run_forever (asyncio/base_events.py",
}


def summarize_profile(path: Path) -> dict:
    """Share of samples under the functions that matter, and the top leaf functions."""
    total = 0
    inclusive: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        for name, needle in INTERESTING.items():
            if any(needle in frame for frame in frames):
                inclusive[name] += samples
        leaves[frames[-1].strip()] += samples
    if not total:
        return {}
    return {
        "samples": total,
        "inclusive": {name: inclusive[name] / total for name in INTERESTING},
        "top_leaves": [(name, n / total) for name, n in leaves.most_common(12)],
    }


# --- Outbound figures from the fake platform's record --------------------------------------


def outbound_figures(stats: dict, *, started: float, messages: int) -> dict:
    sends = sorted(stats["sends"])
    times = [t for t, _, _ in sends]
    per_bot: dict[str, list[float]] = collections.defaultdict(list)
    per_chat: dict[tuple, list[float]] = collections.defaultdict(list)
    for t, bot, chat in sends:
        per_bot[bot].append(t)
        per_chat[(bot, chat)].append(t)
    max_bot = 0
    for stamps in per_bot.values():
        j = 0
        for i, t in enumerate(stamps):
            while stamps[j] <= t - 1.0:
                j += 1
            max_bot = max(max_bot, i - j + 1)
    gaps = [b - a for stamps in per_chat.values() for a, b in zip(stamps, stamps[1:], strict=False)]
    elapsed = (times[-1] - started) if times else float("nan")
    return {
        "messages": messages,
        "sent": len(sends),
        "rate": len(sends) / elapsed if times else 0.0,
        "seconds": elapsed,
        "max_bot_1s": max_bot,
        "min_chat_gap_s": min(gaps) if gaps else float("nan"),
        "refused": stats["refused"],
    }


# --- The table ---------------------------------------------------------------------------------


def _fmt(value, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    else:
        text = f"{value:,}"
    return f"{text}{unit}"


def _target(ok: bool, how: str) -> str:
    return f"{'met' if ok else 'MISSED'} ({how})"


def rows(results: dict) -> list[tuple[str, str, str, str]]:
    """(metric, figure, baseline of the same run, target verdict)."""
    out: list[tuple[str, str, str, str]] = []
    raw = results.get("raw_insert", {}).get("rate")
    pubsub = results.get("pubsub", {})
    out.append(("B: raw INSERT ... ON CONFLICT, 1 connection", _fmt(raw, "/s"), "-", "-"))
    out.append(
        (
            "B: Redis PUBLISH->SUBSCRIBE round trip",
            f"p50 {_fmt(pubsub.get('p50_ms'))} / p99 {_fmt(pubsub.get('p99_ms'))} ms",
            "-",
            "-",
        )
    )
    recommended = results.get("recommended")
    for key, row in results.get("servers", {}).items():
        name = key + (" *" if key == recommended else "")
        bare = row["bare"]["rate"]
        out.append((f"{name}: bare app (B1), c40", _fmt(bare, "/s"), "-", "-"))
        for c in (40, 100):
            hook, insert = row[f"webhook_c{c}"], row[f"insert_c{c}"]
            ratio = hook["rate"] / insert["rate"] if insert["rate"] else float("nan")
            durable = "durable" if hook.get("durable") else "NOT DURABLE"
            out.append(
                (
                    f"{name}: webhook acked/s, c{c} ({durable})",
                    f"{_fmt(hook['rate'], '/s')}, p99 {_fmt(hook['p99_us'] / 1000)} ms, {hook['errors']} errors",
                    f"one-INSERT view {_fmt(insert['rate'], '/s')}; raw {_fmt(raw, '/s')}",
                    _target(ratio >= 0.7, f"{ratio:.0%} of the view; target 70 %"),
                )
            )
        admin = row["admin_c40"]
        out.append(
            (
                f"{name}: admin page (GET /admin/), c40",
                f"{_fmt(admin['rate'], '/s')}, p99 {_fmt(admin['p99_us'] / 1000)} ms",
                f"bare {_fmt(bare, '/s')}",
                "-",
            )
        )
    if recommended:
        row = results["servers"][recommended]
        best = min(row["webhook_c40"]["rate"], row["webhook_c100"]["rate"])
        out.append(
            (
                f"recommended shape ({recommended}): webhook acked/s",
                _fmt(best, "/s"),
                f"one-INSERT view {_fmt(row['insert_c40']['rate'], '/s')}",
                _target(best >= 1000, f"{best / 1000:.0%} of 1,000/s"),
            )
        )
    drain = results.get("drain")
    if drain:
        out.append(
            (
                "inbox processor: drain of a backlog",
                f"{_fmt(drain['rate'], ' rows/s')} ({drain['backlog'] - drain['left']}/{drain['backlog']})",
                f"raw INSERT {_fmt(raw, '/s')}",
                "-",
            )
        )
    for entry in results.get("ack_alone", []):
        out += _ack_rows(entry, "ack latency, server alone", pubsub)
    for entry in results.get("open_loop", []):
        rate = entry["rate"]
        out += _ack_rows(entry, "ack latency, workers on the box", pubsub)
        out.append(
            (
                f"  inbox lag at {rate}/s (ack -> processed_at)",
                f"p50 {_fmt(entry['lag_p50_ms'])} / p99 {_fmt(entry['lag_p99_ms'])} ms, "
                f"{_fmt(entry['processed_rate'], ' rows/s')}",
                f"ingest {rate}/s",
                _target(entry["lag_p99_ms"] < 1000, f"p99 {entry['lag_p99_ms'] / 1000:.2f} s vs 1 s"),
            )
        )
    for entry in results.get("socket", []):
        verdict = "-"
        if entry["rate"] == 200:
            verdict = _target(entry["p99_ms"] < 50, f"p99 {entry['p99_ms']:.0f} ms vs 50 ms")
        out.append(
            (
                f"webhook 2xx -> agent frame, {entry['rate']} msg/s, {entry['agents']} agents",
                f"p50 {_fmt(entry['p50_ms'])} / p95 {_fmt(entry['p95_ms'])} / p99 {_fmt(entry['p99_ms'])} ms "
                f"({entry['received']}/{entry['acked']}); inbox lag p99 {_fmt(entry.get('lag_p99_ms'))} ms",
                f"PUBLISH rtt p50 {_fmt(pubsub.get('p50_ms'))} ms",
                verdict,
            )
        )
        costs = entry.get("cpu_ms_per_message") or {}
        if costs:
            top = ", ".join(f"{kind} {ms:.1f}" for kind, ms in list(costs.items())[:5])
            busy = f"cores {100 * entry.get('cpu_busy', 0):.0f} % busy"
            label = f"  CPU ms per message at {entry['rate']} msg/s"
            out.append((label, f"{sum(costs.values()):.1f}: {top}", busy, "-"))
    idle = results.get("idle")
    if idle:
        per_2000 = (idle["rss_before_mib"] + idle["kib_per_socket"] * 2000 / 1024) if idle["sockets"] else math.inf
        out.append(
            (
                f"idle agent sockets in one Daphne process ({idle['sockets']}, {idle['failed']} failed)",
                f"RSS {_fmt(idle['rss_after_mib'], ' MiB')}, {_fmt(idle['kib_per_socket'], ' KiB')}/socket",
                f"empty process {_fmt(idle['rss_before_mib'], ' MiB')}",
                _target(per_2000 < 1024, f"{per_2000:.0f} MiB at 2,000 sockets vs 1,024"),
            )
        )
    for entry in results.get("outbound", []):
        if entry["limiter"]:
            ok = entry["refused"] == 0 and entry["max_bot_1s"] <= 30 and entry["min_chat_gap_s"] >= 0.9
            verdict = _target(ok, f"{entry['refused']} 429s, per bot <= 30/s, per chat >= 0.9 s apart")
            figure = (
                f"{_fmt(entry['rate'], '/s')}; max {entry['max_bot_1s']}/s per bot; "
                f"min chat gap {_fmt(entry['min_chat_gap_s'], ' s')}; {entry['refused']} 429s"
            )
        else:
            verdict = _target(entry["rate"] >= 300, f"{entry['rate'] / 300:.0%} of 300/s")
            figure = f"{_fmt(entry['rate'], ' sends/s')} ({entry['sent']}/{entry['messages']}), {entry['refused']} 429s"
        out.append(
            (
                f"outbound, 50 bots, fake at 50 ms, limiter {'on' if entry['limiter'] else 'off'}",
                figure,
                "fake latency 50 ms",
                verdict,
            )
        )
    return out


def _durability(entry: dict) -> str:
    if entry["exact"]:
        return "yes"
    if entry["durable"]:  # stored, but the run ended before its answer came
        return f"yes, every acked one stored ({entry['stored'] - entry['acked_unique']} more stored, unanswered)"
    return "NO: acked but not stored"


def _ack_rows(entry: dict, what: str, pubsub: dict) -> list[tuple[str, str, str, str]]:
    rate = entry["rate"]
    verdict = _target(entry["p99_ms"] < 50, f"p99 {entry['p99_ms']:.0f} ms vs 50 ms") if rate == 500 else "-"
    return [
        (
            f"{what}, {rate}/s open loop",
            f"p50 {_fmt(entry['p50_ms'])} / p95 {_fmt(entry['p95_ms'])} / p99 {_fmt(entry['p99_ms'])} ms",
            f"PUBLISH rtt p99 {_fmt(pubsub.get('p99_ms'))} ms",
            verdict,
        ),
        (
            f"  durability at {rate}/s: stored == unique acked",
            f"{entry['stored']} stored, {entry['acked_unique']} acked: {_durability(entry)}",
            f"{sum(entry['statuses'].values())} answered, {entry['timeouts']} timeouts",
            "-",
        ),
    ]


def table(results: dict) -> str:
    header = ("metric", "figure", "baseline (same run)", "target")
    body = rows(results)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("| " + " | ".join("-" * w for w in widths) + " |")
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in body]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, series, title in (
        (axes[0], results.get("ack_alone", []), "webhook ack, server alone (open loop)"),
        (axes[1], results.get("open_loop", []), "webhook ack, workers on the box"),
        (axes[2], results.get("socket", []), "webhook 2xx -> agent frame"),
    ):
        labels = [f"{e['rate']}/s" for e in series]
        for offset, (q, color) in enumerate((("p50_ms", "#4c72b0"), ("p95_ms", "#dd8452"), ("p99_ms", "#c44e52"))):
            xs = [i + (offset - 1) * 0.25 for i in range(len(series))]
            ax.bar(xs, [e[q] for e in series], width=0.25, label=q.split("_")[0], color=color)
        ax.axhline(50, color="grey", linestyle="--", linewidth=1, label="target p99 50 ms")
        ax.set_xticks(range(len(series)), labels)
        ax.set_ylabel("ms")
        ax.set_title(title)
        ax.legend()
    mode = "quick" if results.get("quick") else "full"
    load = results["load_average_at_start"][0]
    fig.suptitle(f"make bench ({mode}), {results.get('cores')} cores, load average {load:.1f} at start")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(results: dict) -> None:
    (HERE / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    try:
        plot(results, HERE / "latency.png")
    except Exception as exc:  # the table and JSON matter more than the picture
        say(f"plot failed: {exc}")
    say("")
    say(table(results))
    profile = results.get("profile") or {}
    if profile:
        say("")
        say(f"profile of the webhook server ({profile['samples']} samples, share of all samples):")
        for name, share in profile["inclusive"].items():
            say(f"  {share:6.1%}  {name}")
        say("  top leaf functions:")
        for name, share in profile["top_leaves"]:
            say(f"  {share:6.1%}  {name}")
    say(f"\nbench/results.json and bench/latency.png written ({results.get('seconds', 0):.0f} s)")


if __name__ == "__main__":
    write(json.loads((HERE / "results.json").read_text()))
