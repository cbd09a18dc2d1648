"""Goto: jumps to the block its exit points to."""

from scenarios.blocks.base import BlockType, take


class Goto(BlockType):
    type = "goto"
    label = "Goto"
    help = "Jumps to the chosen block (its next exit); a loop must pass a waiting block."

    def enter(self, ctx):
        return take()
