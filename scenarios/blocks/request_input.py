"""Request Input: asks the customer and stores the reply in a variable."""

from scenarios.blocks.base import BlockType, number_setting, take, wait
from scenarios.blocks.set_variable import NAME_RE, RESERVED_PREFIXES


class RequestInput(BlockType):
    type = "request_input"
    label = "Request Input"
    help = "Sends the question, then waits for the customer's reply; Timeout if none comes in time."
    fixed_exits = ("Timeout",)
    settings_help = {
        "message": "The question ($(name) allowed); blank sends nothing.",
        "variable": "Where the reply goes.",
        "timeout": "Seconds to wait for the reply (blank: wait until the chat ends).",
    }
    required = ("variable",)
    example = {"message": "What is your order number?", "variable": "orderNumber", "timeout": 120}

    def check(self, settings):
        name = settings["variable"]
        if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name.startswith(RESERVED_PREFIXES):
            return ['"variable" must be a name of your own such as orderNumber.']
        return number_setting(settings, "timeout", minimum=1, maximum=86400)

    def enter(self, ctx):
        question = ctx.text(ctx.settings.get("message", "")).strip()
        if question:
            ctx.send(question)
        if ctx.settings.get("timeout"):
            ctx.start_timer("input_timeout", ctx.settings["timeout"])
            return wait("customer_message", "timer")
        return wait("customer_message")

    def on_event(self, ctx, event, data):
        if event == "customer_message":
            ctx.variables[ctx.settings["variable"]] = ctx.variables.get("item.message", "")
            return take()
        if event == "timer":
            return take("Timeout")
        return None
