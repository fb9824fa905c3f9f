"""Turning untrusted feed text into something safe to draw, and small text helpers for the widgets.

Every string that came from a feed passes through `plain()` before it is drawn: escape sequences and
control characters are removed (they would reach the terminal), and the result is only ever wrapped in
`Content`/`Text` or drawn as a Segment, never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content

from feeds.sanitize import strip_controls

_SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def plain(text: str | None) -> str:
    """Feed text for a single screen line: no controls, no newlines or tabs."""
    return " ".join(strip_controls(text or "").split())


def literal(text: str | None, style: str = "") -> Content:
    """A Content that shows `text` exactly as written (markup-looking text included)."""
    return Content.styled(plain(text), style) if style else Content(plain(text))


def sparkline(values: Sequence[int]) -> str:
    """Daily volume as block characters; an all-zero series is a flat baseline."""
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return _SPARK_BLOCKS[0] * len(values)
    steps = len(_SPARK_BLOCKS) - 1
    return "".join(_SPARK_BLOCKS[round(value / top * steps)] for value in values)


def count_label(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (plural or singular + 's')}"
