"""If: ordered branches of conditions; the first branch that holds takes its exit."""

from scenarios import hours as hop
from scenarios.blocks.base import BlockType, take
from scenarios.expressions import ExpressionError, as_number, regex_search, to_text

STRING_OPS = ("equals", "not_equals", "contains", "starts_with", "matches", "is_empty", "is_not_empty")
NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=", "in_range")
HOURS_OPS = ("inside", "outside")
MAX_BRANCHES = 20


def check_condition(cond) -> list[str]:
    if not isinstance(cond, dict):
        return ["Each condition must be an object."]
    kind, op = cond.get("type"), cond.get("op")
    if kind == "hours":
        return [] if op in HOURS_OPS else [f"Hours condition op must be one of {', '.join(HOURS_OPS)}."]
    if kind not in ("string", "number"):
        return [f'Unknown condition type "{kind}" (string, number or hours).']
    if not cond.get("variable"):
        return ["A string or number condition needs a variable."]
    if kind == "string":
        if op not in STRING_OPS:
            return [f"String op must be one of {', '.join(STRING_OPS)}."]
        if op == "matches":
            try:
                regex_search(str(cond.get("value", "")), "")
            except ExpressionError as exc:
                return [str(exc)]
        return []
    if op not in NUMBER_OPS:
        return [f"Number op must be one of {', '.join(NUMBER_OPS)}."]
    needed = ("min", "max") if op == "in_range" else ("value",)
    return [
        f'Number condition "{op}" needs a numeric "{n}".' for n in needed if as_number(to_text(cond.get(n))) is None
    ]


def condition_holds(ctx, cond: dict) -> bool:
    if cond["type"] == "hours":
        hours = ctx.hours()
        inside = True if hours is None else hop.is_open(hours)  # no schedule means always open
        return inside if cond["op"] == "inside" else not inside
    raw = to_text(ctx.variables.get(cond["variable"], ""))
    if cond["type"] == "string":
        value = ctx.text(to_text(cond.get("value", "")))
        return {
            "equals": lambda: raw == value,
            "not_equals": lambda: raw != value,
            "contains": lambda: value in raw,
            "starts_with": lambda: raw.startswith(value),
            "matches": lambda: regex_search(to_text(cond.get("value", "")), raw),
            "is_empty": lambda: raw.strip() == "",
            "is_not_empty": lambda: raw.strip() != "",
        }[cond["op"]]()
    number = as_number(raw)
    if number is None:
        return cond["op"] == "!="  # a non-number is different from every number
    if cond["op"] == "in_range":
        return as_number(to_text(cond["min"])) <= number <= as_number(to_text(cond["max"]))
    other = as_number(ctx.text(to_text(cond["value"])))
    if other is None:
        return cond["op"] == "!="
    return {
        "=": number == other,
        "!=": number != other,
        "<": number < other,
        "<=": number <= other,
        ">": number > other,
        ">=": number >= other,
    }[cond["op"]]


def check_branches(branches, *, with_conditions: bool) -> list[str]:
    if not isinstance(branches, list) or not branches:
        return ['"branches" must be a non-empty list.']
    if len(branches) > MAX_BRANCHES:
        return [f"At most {MAX_BRANCHES} branches."]
    errors, labels = [], set()
    for number, branch in enumerate(branches, 1):
        if not isinstance(branch, dict) or not str(branch.get("exit", "")).strip():
            errors.append(f"Branch {number} needs an exit label.")
            continue
        if branch["exit"] in labels or branch["exit"] == "next":
            errors.append(f'Branch {number}: exit label "{branch["exit"]}" is used twice or reserved.')
        labels.add(branch["exit"])
        if with_conditions:
            if branch.get("join", "and") not in ("and", "or"):
                errors.append(f'Branch {number}: join must be "and" or "or".')
            conditions = branch.get("conditions")
            if not isinstance(conditions, list) or not conditions:
                errors.append(f"Branch {number} needs at least one condition.")
                continue
            for cond in conditions:
                errors += [f"Branch {number}: {e}" for e in check_condition(cond)]
    return errors


class If(BlockType):
    type = "if"
    label = "If"
    help = "Tries the branches in order; the first whose conditions hold takes its exit, else next."
    settings_help = {
        "branches": 'List of {"exit": label, "join": "and"|"or", "conditions": [...]}. A condition is '
        '{"type": "string", "variable": v, "op": equals|not_equals|contains|starts_with|matches|is_empty|'
        'is_not_empty, "value": text}, {"type": "number", "variable": v, "op": =|!=|<|<=|>|>=, "value": n} or '
        '{... "op": "in_range", "min": a, "max": b}, or {"type": "hours", "op": "inside"|"outside"}.'
    }
    required = ("branches",)
    example = {"branches": [{"exit": "Closed", "join": "and", "conditions": [{"type": "hours", "op": "outside"}]}]}

    def exit_names(self, settings):
        branches = settings.get("branches")
        return (
            [str(b["exit"]) for b in branches if isinstance(b, dict) and b.get("exit")]
            if isinstance(branches, list)
            else []
        )

    def check(self, settings):
        return check_branches(settings["branches"], with_conditions=True)

    def enter(self, ctx):
        for branch in ctx.settings["branches"]:
            results = (condition_holds(ctx, cond) for cond in branch["conditions"])
            if any(results) if branch.get("join", "and") == "or" else all(results):
                return take(branch["exit"])
        return take()
