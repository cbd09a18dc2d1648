"""The chat settings in force for one chat: the account's overrides over the entry's over the
tenant-wide Chat Settings. A blank override field takes the value of the level above."""

from __future__ import annotations

from django.db import models

from scenarios.models import AccountChatSettings, ChatSettings, EntryChatSettings, ScenarioEntry


class Layers:
    """The settings levels of one chat, most specific first, read once."""

    def __init__(self, *, entry: ScenarioEntry | None = None, account_id: int | None = None):
        self.tenant = ChatSettings.current()
        overrides: list[models.Model | None] = [
            AccountChatSettings.objects.filter(account_id=account_id).first() if account_id else None,
            EntryChatSettings.objects.filter(entry=entry).first() if entry is not None else None,
        ]
        self.overrides = [o for o in overrides if o is not None]

    def pick(self, name: str):
        """The first non-blank value of `name`, the tenant-wide one last."""
        for override in self.overrides:
            value = getattr(override, name, None)
            if value not in (None, ""):
                return value
        return getattr(self.tenant, name)

    def message(self, prefix: str) -> str:
        """The text of system message `prefix` (e.g. "agent_joined"); empty when Disabled."""
        if self.pick(f"{prefix}_mode") == ChatSettings.Mode.DISABLED:
            return ""
        return (self.pick(f"{prefix}_text") or "").strip()
