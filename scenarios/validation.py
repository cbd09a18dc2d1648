"""Checks a scenario's blocks as a whole before it is saved or attached to an entry."""

from collections import deque
from dataclasses import dataclass, field

from scenarios.blocks import REGISTRY


@dataclass
class BlockSpec:
    key: str
    title: str
    type: str
    settings: dict = field(default_factory=dict)
    exits: dict = field(default_factory=dict)


def allowed_exits(spec: BlockSpec) -> list[str]:
    block_type = REGISTRY.get(spec.type)
    if block_type is None:
        return []
    names = block_type.exit_names(spec.settings if isinstance(spec.settings, dict) else {})
    return (["next"] if block_type.has_next else []) + names


def validate_blocks(specs: list[BlockSpec]) -> list[str]:
    """Every problem found, each naming its block; empty means the scenario may run.

    Blocks are in run order: the first one is where a run starts.
    """
    if not specs:
        return ["A scenario needs at least one block."]
    errors: list[str] = []
    keys = [spec.key for spec in specs]
    for key in {k for k in keys if keys.count(k) > 1}:
        errors.append(f'Two blocks have the key "{key}".')
    known = set(keys)
    for spec in specs:
        where = f'Block "{spec.title or spec.key}"'
        block_type = REGISTRY.get(spec.type)
        if block_type is None:
            errors.append(f'{where}: unknown type "{spec.type}" (known: {", ".join(sorted(REGISTRY))}).')
            continue
        if not isinstance(spec.settings, dict):
            errors.append(f"{where}: settings must be an object.")
            continue
        errors += [f"{where}: {problem}" for problem in block_type.clean_settings(spec.settings)]
        if not isinstance(spec.exits, dict):
            errors.append(f"{where}: exits must be an object.")
            continue
        allowed = allowed_exits(spec)
        for name, target in spec.exits.items():
            if name not in allowed:
                errors.append(f'{where}: it has no exit "{name}" (exits: {", ".join(allowed) or "none"}).')
            elif target not in known:
                errors.append(f'{where}: exit "{name}" points to a missing block "{target}".')
        if spec.type == "goto" and not spec.exits.get("next"):
            errors.append(f"{where}: Goto needs a target block.")
    if errors:
        return errors
    unreachable = [s for s in specs if s.key not in _reachable(specs)]
    errors += [f'Block "{s.title or s.key}" cannot be reached from the first block.' for s in unreachable]
    return errors


def _reachable(specs: list[BlockSpec]) -> set[str]:
    by_key = {spec.key: spec for spec in specs}
    seen, todo = {specs[0].key}, deque([specs[0].key])
    while todo:
        for target in by_key[todo.popleft()].exits.values():
            if target in by_key and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def validate_scenario(scenario) -> list[str]:
    return validate_blocks(
        [BlockSpec(b.key, b.title, b.type, b.settings, b.exits) for b in scenario.blocks.order_by("order", "id")]
    )
