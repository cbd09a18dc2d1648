"""What every block type provides, and the outcomes a block step returns to the engine."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Outcome:
    """`exit`: leave by this exit; `wait`: stay and wait for these events; `finish`: end the run."""

    kind: str
    exit: str = "next"
    waiting_for: tuple[str, ...] = field(default_factory=tuple)
    reason: str = ""


def take(exit_name: str = "next") -> Outcome:
    return Outcome("exit", exit=exit_name)


def wait(*events: str) -> Outcome:
    return Outcome("wait", waiting_for=tuple(events))


def finish(reason: str = "scenario_exit") -> Outcome:
    return Outcome("finish", reason=reason)


class BlockError(Exception):
    """A block cannot run (bad settings at run time, missing destination, ...)."""


class SendFailed(BlockError):
    """The text could not be queued for the customer (unreachable, rejected by the sender)."""


class BlockType:
    """A kind of block: its settings, its exits, and its run step.

    `enter` runs when the flow reaches the block; `on_event` runs for each event the block
    said it waits for. Both get the engine's RunContext and return an Outcome.
    """

    type: str = ""
    label: str = ""
    help: str = ""
    has_next: bool = True
    fixed_exits: tuple[str, ...] = ()
    # name -> short description, shown in the admin; required ones are checked on save.
    settings_help: dict[str, str] = {}
    required: tuple[str, ...] = ()
    example: dict = {}

    def exit_names(self, settings: dict) -> list[str]:
        return list(self.fixed_exits)

    def clean_settings(self, settings: dict) -> list[str]:
        """Problems with these settings, in words an administrator understands."""
        errors = [f'"{name}" is required.' for name in self.required if settings.get(name) in (None, "", [])]
        unknown = set(settings) - set(self.settings_help)
        errors += [f'Unknown setting "{name}".' for name in sorted(unknown)]
        return errors or self.check(settings)

    def check(self, settings: dict) -> list[str]:
        return []

    def enter(self, ctx) -> Outcome:
        raise NotImplementedError

    def on_event(self, ctx, event: str, data: dict) -> Outcome | None:
        return None


def number_setting(settings: dict, name: str, *, minimum: float = 0, maximum: float | None = None) -> list[str]:
    value = settings.get(name)
    if value in (None, ""):
        return []
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f'"{name}" must be a number.']
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        return [f'"{name}" must be {bound}.']
    return []
