"""Exit: ends the scenario and closes the chat."""

from scenarios.blocks.base import BlockType, finish


class Exit(BlockType):
    type = "exit"
    label = "Exit"
    help = "Disconnects the chat and ends the scenario."
    has_next = False

    def enter(self, ctx):
        return finish("scenario_exit")
