"""Wait: pauses the scenario for some seconds on a persisted timer."""

from scenarios.blocks.base import BlockType, number_setting, take, wait


class Wait(BlockType):
    type = "wait"
    label = "Wait"
    help = "Pauses for the given seconds (fractions allowed)."
    settings_help = {"seconds": "How long to wait."}
    required = ("seconds",)
    example = {"seconds": 5}

    def check(self, settings):
        return number_setting(settings, "seconds", minimum=0, maximum=86400)

    def enter(self, ctx):
        ctx.start_timer("wait", ctx.settings["seconds"])
        return wait("timer")

    def on_event(self, ctx, event, data):
        return take() if event == "timer" else None
