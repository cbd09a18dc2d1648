"""A server-rendered SVG flowchart of a scenario: blocks top to bottom, exits as arrows.

The normal next exit is drawn on the left (straight down when it leads to the block below),
conditional exits on the right with their labels. All text is escaped.
"""

from html import escape

BOX_W, BOX_H, GAP, LEFT, TOP = 280, 46, 34, 150, 20
TYPE_COLOURS = {
    "send_message": "#e8f1fb",
    "if": "#fff4d6",
    "switch": "#fff4d6",
    "find_agent": "#e6f6ea",
    "connect_chat": "#e6f6ea",
    "exit": "#fbe6e6",
}


def render_svg(blocks: list, *, type_labels: dict[str, str] | None = None) -> str:
    """blocks: objects with key, title, type, exits, in run order."""
    type_labels = type_labels or {}
    index = {block.key: i for i, block in enumerate(blocks)}
    height = TOP * 2 + max(1, len(blocks)) * (BOX_H + GAP)
    width = LEFT + BOX_W + 420
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="scenario-diagram" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Scenario flowchart">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
        "<style>text{font:12px sans-serif} .t{font-weight:bold} .x{fill:#a33} .lbl{fill:#444;font-size:11px}</style>",
    ]
    right_lane = 0
    left_lane = 0
    for i, block in enumerate(blocks):
        # Conditional exits to the same block share one arrow with a joined label.
        grouped: dict[str, list[str]] = {}
        for name, target in (block.exits or {}).items():
            if name != "next":
                grouped.setdefault(str(target), []).append(name)
        edges = [("next", block.exits["next"])] if (block.exits or {}).get("next") else []
        edges += [(" / ".join(names), target) for target, names in grouped.items()]
        for number, (name, target) in enumerate(edges):
            y1 = _mid_y(i)
            if target not in index:
                missing = f'{escape(name)} → missing "{escape(str(target))}"'
                parts.append(f'<text class="x" x="{LEFT + BOX_W + 8}" y="{y1 + 4 + number * 12}">{missing}</text>')
                continue
            j = index[target]
            y2 = _mid_y(j)
            if name == "next" and j == i + 1:
                x = LEFT + BOX_W // 2
                parts.append(_line(x, _top(i) + BOX_H, x, _top(j)))
            elif name == "next":
                left_lane += 1
                x = LEFT - 16 - (left_lane % 6) * 14
                parts.append(_path(f"M{LEFT},{y1} H{x} V{y2} H{LEFT}"))
            else:
                right_lane += 1
                x = LEFT + BOX_W + 20 + (right_lane % 8) * 28
                start, end = y1 - 12 + number * 8, y2 + 8
                parts.append(_path(f"M{LEFT + BOX_W},{start} H{x} V{end} H{LEFT + BOX_W}"))
                parts.append(
                    f'<text class="lbl" x="{x + 4}" y="{start + 12 if j > i else start - 4}">{escape(name)}</text>'
                )
    for i, block in enumerate(blocks):
        fill = TYPE_COLOURS.get(block.type, "#f2f2f2")
        y = _top(i)
        parts.append(
            f'<g><rect x="{LEFT}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" stroke="#777"/>'
            f'<text class="t" x="{LEFT + 10}" y="{y + 19}">{escape(_short(block.title or block.key))}</text>'
            f'<text x="{LEFT + 10}" y="{y + 36}">{escape(type_labels.get(block.type, block.type))} · '
            f"{escape(block.key)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _top(i: int) -> int:
    return TOP + i * (BOX_H + GAP)


def _mid_y(i: int) -> int:
    return _top(i) + BOX_H // 2


def _line(x1, y1, x2, y2) -> str:
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#555" marker-end="url(#arrow)"/>'


def _path(d: str) -> str:
    return f'<path d="{d}" fill="none" stroke="#555" marker-end="url(#arrow)"/>'


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
