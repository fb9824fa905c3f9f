"""The sidebar: topics (unread count, 14-day sparkline) and sources (a mark on failed fetches).

Choosing an entry posts `FilterPicked`; the screen applies the filter. The reason a source failed is
shown under the list when it is highlighted and as a tooltip when the mouse is over it.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from newswatch.timefmt import format_when
from store.browsing import SourceSummary, TopicSummary
from tui.messages import FilterPicked
from tui.text import plain, sparkline

ALL = "\0all"  # an option id no topic or source name can take


class FilterList(OptionList):
    """An OptionList whose options are filters; vim keys as well as arrows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, kind: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = kind
        self.names: list[str | None] = []
        self.reasons: list[str | None] = []
        self.chosen: str | None = None

    def set_entries(self, entries: list[tuple[str | None, Content, str | None]]) -> None:
        """(name or None for "all", prompt, failure reason) for each entry, keeping the highlight."""
        highlighted = self.highlighted
        self.names = [name for name, _, _ in entries]
        self.reasons = [reason for _, _, reason in entries]
        self.set_options(Option(prompt) for _, prompt, _ in entries)
        if self.names:
            self.highlighted = min(highlighted or 0, len(self.names) - 1)

    def watch__mouse_hovering_over(self, index: int | None) -> None:
        # The reason a source failed, on hover (OptionList knows which option is under the mouse).
        reason = self.reasons[index] if index is not None and index < len(self.reasons) else None
        self.tooltip = Content(reason) if reason else None


class Sidebar(Vertical):
    # Times in UTC instead of local time (the owner sets it from the config, as for StoryList).
    utc = False

    def compose(self) -> ComposeResult:
        yield Label("Topics", classes="sidebar-heading")
        yield FilterList("topic", id="topics")
        yield Label("Sources", classes="sidebar-heading")
        yield FilterList("source", id="sources")
        yield Static(id="source-status")

    def set_topics(self, topics: list[TopicSummary], chosen: str | None) -> None:
        entries: list[tuple[str | None, Content, str | None]] = [
            (None, self._entry("All stories", "", "", chosen is None), None)
        ]
        for topic in topics:
            unread = f"{topic.unread:,}" if topic.unread else ""
            entries.append(
                (
                    topic.name,
                    self._entry(topic.name, unread, sparkline(topic.daily), chosen == topic.name),
                    None,
                )
            )
        self.query_one("#topics", FilterList).set_entries(entries)

    def set_sources(self, sources: list[SourceSummary], chosen: str | None) -> None:
        entries: list[tuple[str | None, Content, str | None]] = [
            (None, self._entry("All sources", "", "", chosen is None), None)
        ]
        for source in sources:
            reason = None
            if source.last_error:
                failed_at = format_when(source.last_error_at, utc=self.utc)
                reason = f"last fetch failed {failed_at}: {plain(source.last_error)}"
            prompt = self._entry(
                source.name, f"{source.articles:,}", "", chosen == source.name, failed=bool(reason)
            )
            entries.append((source.name, prompt, reason))
        self.query_one("#sources", FilterList).set_entries(entries)
        self._show_source_status()

    @staticmethod
    def _entry(name: str, count: str, spark: str, chosen: bool, *, failed: bool = False) -> Content:
        parts: list[Content | tuple[str, str] | str] = [
            ("▶ " if chosen else "  ", "$accent"),
            ("! " if failed else "", "bold $error"),
            (plain(name), "bold" if chosen else ""),
        ]
        if count:
            parts.append((f"  {count}", "$text-accent"))
        if spark:
            # On a line of its own: a long topic name must not push the sparkline into a wrap.
            parts.append((f"\n  {spark}", "$text-secondary"))
            parts.append((" 14d", "$text-muted"))
        return Content.assemble(*parts)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_list = event.option_list
        assert isinstance(option_list, FilterList)
        self.post_message(FilterPicked(option_list.kind, option_list.names[event.option_index]))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_list.id == "sources":
            self._show_source_status()

    def _show_source_status(self) -> None:
        sources = self.query_one("#sources", FilterList)
        index = sources.highlighted
        reason = sources.reasons[index] if index is not None and index < len(sources.reasons) else None
        status = self.query_one("#source-status", Static)
        status.update(Content.styled(reason, "$error") if reason else Content(""))
        status.display = bool(reason)
