"""The block types a scenario may use, one module each; REGISTRY maps type -> BlockType."""

from scenarios.blocks.base import BlockError, BlockType, Outcome, SendFailed
from scenarios.blocks.connect_chat import ConnectChat
from scenarios.blocks.exit import Exit
from scenarios.blocks.find_agent import FindAgent
from scenarios.blocks.goto import Goto
from scenarios.blocks.if_block import If
from scenarios.blocks.request_input import RequestInput
from scenarios.blocks.send_message import SendMessage
from scenarios.blocks.set_variable import SetVariable
from scenarios.blocks.switch import Switch
from scenarios.blocks.wait import Wait

REGISTRY: dict[str, BlockType] = {
    block.type: block
    for block in (
        SendMessage(),
        If(),
        Switch(),
        FindAgent(),
        ConnectChat(),
        Exit(),
        SetVariable(),
        Wait(),
        RequestInput(),
        Goto(),
    )
}

__all__ = ["REGISTRY", "BlockError", "BlockType", "Outcome", "SendFailed"]
