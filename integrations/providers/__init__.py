"""Provider registry: one package per messenger behind the interface in `base`."""

from integrations.providers import facebook, line, nexmo, telegram, viber
from integrations.providers.base import Provider

PROVIDERS: dict[str, Provider] = {
    "telegram": telegram,
    "facebook": facebook,
    "line": line,
    "viber": viber,
    "nexmo": nexmo,
}  # modules satisfy the Protocol structurally


def get_provider(messenger: str) -> Provider:
    """The provider module for a messenger type; KeyError for an unknown type."""
    return PROVIDERS[messenger]
