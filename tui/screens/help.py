"""`?`: every key binding of the screen underneath, the list and the app, generated from the bindings."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.widgets.sidebar import FilterList
from tui.widgets.story_list import StoryList

# Keys worth a friendlier name than Textual's key identifiers.
_KEY_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "asterisk": "*",
    "escape": "Esc",
    "enter": "Enter",
    "space": "Space",
    "pagedown": "PgDn",
    "pageup": "PgUp",
    "backspace": "Backspace",
}


def _keys(binding: Binding) -> str:
    return ", ".join(_KEY_NAMES.get(key, key) for key in binding.key.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        sections: list[tuple[str, list[BindingType]]] = []
        from tui.screens.main import MainScreen

        if isinstance(self.under, MainScreen):
            sections.append(("Main screen", type(self.under).BINDINGS))
            sections.append(("Story list", StoryList.BINDINGS))
            sections.append(
                (
                    "Sidebar lists",
                    [*FilterList.BINDINGS, Binding("enter", "select", "Apply the topic or source filter")],
                )
            )
        else:
            sections.append((type(self.under).__name__.removesuffix("Screen"), type(self.under).BINDINGS))
        sections.append(
            (
                "Everywhere",
                [
                    *type(self.app).BINDINGS,
                    Binding("ctrl+p", "command_palette", "Command palette: every action, themes"),
                ],
            )
        )
        lines: list[Content] = [Content.styled("Keys", "bold")]
        for title, bindings in sections:
            lines.append(Content(""))
            lines.append(Content.styled(title, "bold $accent"))
            for binding in bindings:
                if not isinstance(binding, Binding):
                    continue
                lines.append(Content.assemble((f"  {_keys(binding):<22}", "bold"), binding.description))
        lines.append(Content(""))
        lines.append(
            Content.styled(
                "Mouse: click a story to select, double-click to open, click its left edge to expand.",
                "$text-muted",
            )
        )
        with VerticalScroll(id="help"):
            yield Static(Content("\n").join(lines))
