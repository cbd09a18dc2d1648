"""Switch: picks the exit whose value equals the variable; no match takes Default."""

from scenarios.blocks.base import BlockType, take
from scenarios.blocks.if_block import check_branches
from scenarios.expressions import to_text


class Switch(BlockType):
    type = "switch"
    label = "Switch"
    help = "Compares a variable with each branch's value; no match takes the Default exit."
    has_next = False
    settings_help = {
        "variable": "Variable to test, a bare name (item.message, not $(item.message)).",
        "branches": 'List of {"value": text, "exit": label}.',
        "ignore_case": "true to compare without case.",
    }
    required = ("variable", "branches")
    example = {"variable": "item.message", "branches": [{"value": "1", "exit": "Sales"}]}

    def exit_names(self, settings):
        branches = settings.get("branches")
        names = (
            [str(b["exit"]) for b in branches if isinstance(b, dict) and b.get("exit")]
            if isinstance(branches, list)
            else []
        )
        return names + ["Default"]

    def check(self, settings):
        errors = check_branches(settings["branches"], with_conditions=False)
        if any(isinstance(b, dict) and b.get("exit") == "Default" for b in settings["branches"]):
            errors.append('"Default" is the exit for no match; pick another label.')
        return errors

    def enter(self, ctx):
        value = to_text(ctx.variables.get(ctx.settings["variable"], "")).strip()
        fold = (lambda s: s.casefold()) if ctx.settings.get("ignore_case") else (lambda s: s)
        for branch in ctx.settings["branches"]:
            if fold(to_text(branch.get("value", ""))) == fold(value):
                return take(branch["exit"])
        return take("Default")
