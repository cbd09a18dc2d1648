"""Chat directives in scenario and agent texts (product.md 1.4), parsed into message parts.

`/buttons [Yes] [No]` and `/buttons-column [...]` offer quick replies (one row, or one button
per row) with the text before them; `/location : lat, lon, "name", "address"` sends a
location. Directives are case-sensitive; text may come before and after one. Each platform's
provider turns buttons and locations into its own markup (integrations.providers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Telegram, LINE and Viber show buttons only under some text: used when none comes before.
DEFAULT_PROMPT = "Please choose:"
MAX_BUTTONS = 13  # Facebook quick replies and LINE quick reply items allow 13

_DIRECTIVE = re.compile(
    r"/buttons(?P<column>-column)?(?P<labels>(?:[ \t]*\[[^\]\n]+\])+)"
    r"|/location[ \t]*:[ \t]*(?P<location>[^\n]*)"
)
_LABEL = re.compile(r"\[([^\]\n]+)\]")
_LOCATION = re.compile(
    r"^\s*(?P<lat>-?\d+(?:\.\d+)?)\s*,\s*(?P<lon>-?\d+(?:\.\d+)?)"
    r'(?:\s*,\s*"(?P<name>[^"]*)")?(?:\s*,\s*"(?P<address>[^"]*)")?\s*$'
)


@dataclass(frozen=True)
class Buttons:
    labels: tuple[str, ...]
    column: bool = False

    def to_json(self) -> dict:
        return {"labels": list(self.labels), "column": self.column}

    @classmethod
    def from_json(cls, data: dict | None) -> Buttons | None:
        if not data or not data.get("labels"):
            return None
        return cls(labels=tuple(data["labels"]), column=bool(data.get("column")))


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    name: str = ""
    address: str = ""

    def to_json(self) -> dict:
        return {"latitude": self.latitude, "longitude": self.longitude, "name": self.name, "address": self.address}

    @classmethod
    def from_json(cls, data: dict) -> Location:
        return cls(float(data["latitude"]), float(data["longitude"]), data.get("name", ""), data.get("address", ""))

    def describe(self) -> str:
        """The location as text, for the transcript and platforms without a location message."""
        label = ", ".join(part for part in (self.name, self.address) if part)
        where = f"https://maps.google.com/?q={self.latitude},{self.longitude}"
        return f"{label} {where}".strip()


@dataclass(frozen=True)
class Part:
    """One outbound message: text (with optional buttons under it), or a location."""

    text: str = ""
    buttons: Buttons | None = None
    location: Location | None = None


class DirectiveError(ValueError):
    """A directive that cannot be read (a bad /location)."""


def has_directive(text: str) -> bool:
    return bool(_DIRECTIVE.search(text or ""))


def parse(text: str) -> list[Part]:
    """Cut `text` into parts at its directives; plain text is one text part."""
    parts: list[Part] = []
    pending = ""
    position = 0
    for match in _DIRECTIVE.finditer(text):
        pending += text[position : match.start()]
        position = match.end()
        if match.group("labels") is not None:
            labels = tuple(label.strip() for label in _LABEL.findall(match.group("labels")) if label.strip())
            buttons = Buttons(labels=labels[:MAX_BUTTONS], column=bool(match.group("column")))
            parts.append(Part(text=pending.strip() or DEFAULT_PROMPT, buttons=buttons))
        else:
            found = _LOCATION.match(match.group("location"))
            if found is None:
                raise DirectiveError('Write /location : latitude, longitude, "name", "address".')
            if pending.strip():
                parts.append(Part(text=pending.strip()))
            parts.append(
                Part(
                    location=Location(
                        float(found["lat"]), float(found["lon"]), found["name"] or "", found["address"] or ""
                    )
                )
            )
        pending = ""
    pending += text[position:]
    if pending.strip():
        parts.append(Part(text=pending.strip()))
    return parts
