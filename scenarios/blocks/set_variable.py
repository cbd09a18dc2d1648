"""Set Variable: a literal with $(...) substituted, or an =expression."""

import re

from scenarios.blocks.base import BlockError, BlockType, take
from scenarios.expressions import ExpressionError, evaluate_value

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
RESERVED_PREFIXES = ("item.", "queue.", "global_interaction_id")


class SetVariable(BlockType):
    type = "set_variable"
    label = "Set Variable"
    help = 'Stores a value: text with $(name) inserted, or "=expression" (e.g. =$(count)+1).'
    settings_help = {"variable": "Variable name, without $( ).", "value": "Text, or =expression."}
    required = ("variable",)
    example = {"variable": "greeting", "value": '="Hi " + $(item.firstName)'}

    def check(self, settings):
        name = settings["variable"]
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            return ['"variable" must be a name such as customerType (letters, digits, _ and .).']
        if name.startswith(RESERVED_PREFIXES):
            return [f'"{name}" is set by the system and cannot be changed.']
        if not isinstance(settings.get("value", ""), str):
            return ['"value" must be text.']
        return []

    def enter(self, ctx):
        try:
            ctx.variables[ctx.settings["variable"]] = evaluate_value(ctx.settings.get("value", ""), ctx.variables)
        except ExpressionError as exc:
            raise BlockError(f"Set Variable {ctx.settings['variable']}: {exc}") from exc
        return take()
