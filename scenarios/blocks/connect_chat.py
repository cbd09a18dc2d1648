"""Connect Chat: offer the chat to $(destination) and stay until the chat ends.

Exits: No Answer (rejected or not accepted within the No Answer timeout) and Target
Disconnected (the agent side ended the chat; $(targetDisconnectedCause) says how). When
Target Disconnected is not wired, the flow continues with the next block. The customer
leaving ends the scenario.
"""

from django.contrib.auth import get_user_model

from agentdesk import services as desk
from scenarios.blocks.base import BlockError, BlockType, finish, number_setting, take, wait

CAUSES = ("UserHangup", "SystemHangup", "UserLogout", "Failure")


class ConnectChat(BlockType):
    type = "connect_chat"
    label = "Connect Chat"
    help = "Offers the chat to the agent in $(destination) and keeps it until the chat ends."
    fixed_exits = ("No Answer", "Target Disconnected")
    settings_help = {
        "no_answer_timeout": "Seconds the agent has to accept (default 10).",
        "auto_answer_after": "Seconds after which the desktop accepts by itself (blank: never).",
        "override_destination": "Username to offer to instead of $(destination).",
    }
    example = {"no_answer_timeout": 10}

    def check(self, settings):
        return number_setting(settings, "no_answer_timeout", minimum=1, maximum=3600) + number_setting(
            settings, "auto_answer_after", minimum=0, maximum=3600
        )

    def enter(self, ctx):
        username = ctx.text(ctx.settings.get("override_destination") or "$(destination)").strip()
        if not username:
            raise BlockError("Connect Chat: $(destination) is empty; put Find Agent before Connect Chat.")
        agent_user = get_user_model().objects.filter(username=username).first()
        if agent_user is None:
            raise BlockError(f'Connect Chat: no user named "{username}".')
        ctx.state["agent_user_id"] = agent_user.pk
        auto = ctx.settings.get("auto_answer_after")
        desk.offer_chat(
            interaction=ctx.interaction,
            agent_user=agent_user,
            no_answer_timeout=ctx.settings.get("no_answer_timeout") or 10,
            auto_answer_after=auto if auto not in (None, "") else None,
        )
        return wait("offer_accepted", "offer_rejected", "offer_timed_out", "chat_ended")

    def on_event(self, ctx, event, data):
        mine = data.get("agent_user_id") in (None, ctx.state.get("agent_user_id"))
        if event in ("offer_rejected", "offer_timed_out") and mine and not ctx.state.get("accepted"):
            return take("No Answer")
        if event == "offer_accepted" and mine:
            ctx.state["accepted"] = True
            return wait("chat_ended")
        if event == "chat_ended":
            if data.get("by") == "customer":
                return finish("customer_left")
            cause = data.get("cause") if data.get("cause") in CAUSES else "UserHangup"
            ctx.variables["targetDisconnectedCause"] = cause
            if not ctx.state.get("accepted"):
                return take("No Answer")
            return take("Target Disconnected") if ctx.exit_connected("Target Disconnected") else take()
        return None
