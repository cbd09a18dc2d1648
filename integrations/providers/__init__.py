"""Provider registry: one package per messenger behind the interface in `base`."""

from types import ModuleType

from integrations.providers import facebook, line, nexmo, telegram, viber

PROVIDERS: dict[str, ModuleType] = {
    "telegram": telegram,
    "facebook": facebook,
    "line": line,
    "viber": viber,
    "nexmo": nexmo,
}


def get_provider(messenger: str) -> ModuleType:
    """The provider module for a messenger type; KeyError for an unknown type."""
    return PROVIDERS[messenger]
