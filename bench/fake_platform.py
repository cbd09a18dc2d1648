"""A fake Telegram Bot API for the outbound benchmark: fixed latency, Telegram's caps enforced.

`python -m bench.fake_platform PORT LATENCY_SECONDS`. POST /bot<token>/sendMessage answers
after LATENCY_SECONDS. A bot over 30 sends in any 1 s, or a chat sent to again within 0.9 s
(Telegram: about 1 message per second per chat), is answered 429 with retry_after, as Telegram
does. GET /stats: every accepted send (time, bot, chat) and the number of 429s; DELETE /stats
clears them.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time

from aiohttp import web

BOT_PER_SECOND = 30
CHAT_MIN_GAP = 0.9


def make_app(latency: float) -> web.Application:
    sends: list[tuple[float, str, str]] = []
    bot_recent: dict[str, collections.deque] = collections.defaultdict(collections.deque)
    chat_last: dict[tuple[str, str], float] = {}
    refused = [0]
    counter = [0]

    async def send_message(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        payload = await request.json()
        chat = str(payload.get("chat_id"))
        now = time.time()
        recent = bot_recent[token]
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        last = chat_last.get((token, chat))
        over = len(recent) >= BOT_PER_SECOND or (last is not None and now - last < CHAT_MIN_GAP)
        if not over:  # decided on arrival, as the platform would
            recent.append(now)
            chat_last[(token, chat)] = now
            sends.append((now, token, chat))
            counter[0] += 1
        else:
            refused[0] += 1
        message_id = counter[0]
        await asyncio.sleep(latency)
        if over:
            body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1"}
            body["parameters"] = {"retry_after": 1}
            return web.json_response(body, status=429)
        return web.json_response({"ok": True, "result": {"message_id": message_id, "chat": {"id": chat}}})

    async def stats(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            sends.clear()
            bot_recent.clear()
            chat_last.clear()
            refused[0] = 0
            return web.json_response({})
        return web.Response(text=json.dumps({"sends": sends, "refused": refused[0]}), content_type="application/json")

    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", send_message)
    app.router.add_route("*", "/stats", stats)
    return app


if __name__ == "__main__":
    web.run_app(make_app(float(sys.argv[2])), host="127.0.0.1", port=int(sys.argv[1]), print=None)
