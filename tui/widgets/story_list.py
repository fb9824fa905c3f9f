"""The story list: a virtual list over a snapshot of story ids, drawing only the lines on screen.

The owner sets a snapshot (ordered story ids) and fills a page cache with rows on request: when a line
without a row comes into view the list posts `PageNeeded` once for that page and draws a placeholder
until `add_rows` arrives. One story at a time can be expanded to show its member articles. Replacing the
snapshot (a new search, or new articles arriving) keeps the selected story selected and at the same
place on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from newswatch.timefmt import STAND_IN_MARK, format_span, format_when
from store.browsing import StoryRow
from tui.text import plain

PAGE_SIZE = 100
# Beyond this many cached rows the cache is emptied and refilled from what is on screen: scrolling
# through a million stories must not keep a million rows.
MAX_CACHED_ROWS = 4000
TIME_WIDTH = 12  # '~' (a stand-in date) or a space, then '11-05 14:05'
SPAN_WIDTH = 13  # '→ ' then the last report's day: '11-07' (this year) or '2024-11-07'
SPAN_MIN_WIDTH = 110  # narrower lists give the headline the room instead
CHIP_SHARE = 3  # topic chips take at most 1/CHIP_SHARE of the line


@dataclass(frozen=True, slots=True)
class Selection:
    story_id: int
    article_id: int | None  # None: the story line itself (its lead); else a member article


class StoryList(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("pagedown,ctrl+f,ctrl+d", "page_down", "Page down", show=False),
        Binding("pageup,ctrl+b,ctrl+u", "page_up", "Page up", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "select", "Open", show=True),
        Binding("space,right,l", "expand", "Expand", show=True, key_display="space"),
        Binding("left,h", "collapse", "Collapse", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "story-list--cursor",
        "story-list--unread",
        "story-list--read",
        "story-list--time",
        "story-list--outlets",
        "story-list--chip",
        "story-list--member",
        "story-list--copy",
        "story-list--placeholder",
        "story-list--star",
    }

    @dataclass
    class PageNeeded(Message):
        """Rows are needed for these story ids (one page of the snapshot)."""

        story_list: StoryList
        story_ids: tuple[int, ...]

    @dataclass
    class ExpandRequested(Message):
        """The user wants to see this story's member articles."""

        story_list: StoryList
        story_id: int

    @dataclass
    class Highlighted(Message):
        story_list: StoryList
        selection: Selection | None

    @dataclass
    class Chosen(Message):
        """Enter or a double click on a line."""

        story_list: StoryList
        selection: Selection

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._ids: list[int] = []
        self._position: dict[int, int] | None = None
        self._rows: dict[int, StoryRow] = {}
        self._requested_pages: set[int] = set()
        self._expanded: int | None = None
        self._members: list[dict[str, Any]] = []
        self._cursor = 0
        self._last_highlight: Selection | None = None
        self.complete = True
        self.utc = False  # times in UTC instead of local time (the owner sets it from the config)

    # --- the model ------------------------------------------------------------------------------------

    @property
    def story_count(self) -> int:
        return len(self._ids)

    @property
    def line_count(self) -> int:
        return len(self._ids) + len(self._members)

    @property
    def cursor(self) -> int:
        return self._cursor

    @property
    def expanded_story(self) -> int | None:
        return self._expanded

    def row(self, story_id: int) -> StoryRow | None:
        return self._rows.get(story_id)

    def visible_rows_loaded(self) -> bool:
        """Whether every line on screen has its row (used by tests and the benchmark)."""
        top = int(self.scroll_offset.y)
        for line in range(top, min(top + max(self.size.height, 1), self.line_count)):
            story_index, member = self._locate(line)
            if member is None and self._ids[story_index] not in self._rows:
                return False
        return True

    def _expanded_index(self) -> int | None:
        if self._expanded is None or not self._members:
            return None
        return self._index_of(self._expanded)

    def _index_of(self, story_id: int) -> int | None:
        if self._position is None:
            self._position = {sid: index for index, sid in enumerate(self._ids)}
        return self._position.get(story_id)

    def _locate(self, line: int) -> tuple[int, int | None]:
        """Line number -> (index into the snapshot, member index or None for the story line)."""
        expanded = self._expanded_index()
        if expanded is None or line <= expanded:
            return line, None
        if line <= expanded + len(self._members):
            return expanded, line - expanded - 1
        return line - len(self._members), None

    def _line_of(self, story_index: int, member: int | None = None) -> int:
        expanded = self._expanded_index()
        line = story_index
        if expanded is not None and story_index > expanded:
            line += len(self._members)
        if member is not None:
            line += member + 1
        return line

    def selection(self) -> Selection | None:
        if not self._ids:
            return None
        story_index, member = self._locate(min(self._cursor, self.line_count - 1))
        story_id = self._ids[story_index]
        if member is None:
            return Selection(story_id, None)
        return Selection(story_id, self._members[member]["id"])

    def select_story(self, story_id: int) -> bool:
        """Put the cursor on a story's line; False if the story is not in the list."""
        index = self._index_of(story_id)
        if index is None:
            return False
        self.move_cursor(self._line_of(index))
        return True

    def set_snapshot(
        self, ids: list[int], *, complete: bool = True, keep: Selection | None = None, from_top: bool = False
    ) -> None:
        """Show a new snapshot, keeping `keep` (default: the current selection) where it was on screen.

        `from_top` starts at the first line instead: a new search, filter or sort is a new list, while new
        articles arriving in the same list must not move what the user is looking at.
        """
        keep = None if from_top else (keep or self.selection())
        if from_top:
            self._cursor = 0
            self.scroll_to(y=0, animate=False, immediate=True)
        screen_row = self._cursor - int(self.scroll_offset.y)
        self._ids = ids
        self._position = None
        self._requested_pages.clear()
        self.complete = complete
        if self._expanded is not None and self._index_of(self._expanded) is None:
            self._expanded, self._members = None, []
        cursor = 0
        if keep is not None:
            index = self._index_of(keep.story_id)
            if index is not None:
                member = None
                if keep.article_id is not None and self._expanded == keep.story_id:
                    member = next(
                        (i for i, m in enumerate(self._members) if m["id"] == keep.article_id), None
                    )
                cursor = self._line_of(index, member)
            else:
                cursor = min(self._cursor, max(self.line_count - 1, 0))
        self._update_virtual_size()
        self._cursor = cursor
        self.scroll_to(y=max(cursor - max(screen_row, 0), 0), animate=False, immediate=True)
        self._scroll_cursor_visible()
        self.refresh()
        self._post_highlight()

    def add_rows(self, rows: dict[int, StoryRow]) -> None:
        if len(self._rows) + len(rows) > MAX_CACHED_ROWS:
            self._rows.clear()
            self._requested_pages.clear()
        self._rows.update(rows)
        self.refresh()

    def invalidate_rows(self) -> None:
        """Rows changed in the database (read flags, new members): fetch what is on screen again."""
        self._rows.clear()
        self._requested_pages.clear()
        self.refresh()

    def set_members(self, story_id: int, members: list[dict[str, Any]]) -> None:
        """Expand `story_id` to show these member articles (an empty list collapses it).

        Setting the members of the story already open (a member marked read, new copies arriving) keeps
        the cursor on the member article it was on.
        """
        selected = self.selection()
        self._expanded = story_id if members else None
        self._members = members if members else []
        self._update_virtual_size()
        index = self._index_of(story_id)
        if selected is not None and selected.story_id == story_id and index is not None:
            member = None
            if selected.article_id is not None:
                member = next(
                    (i for i, m in enumerate(self._members) if m["id"] == selected.article_id), None
                )
            self._cursor = self._line_of(index, member)
        elif selected is not None:
            selected_index = self._index_of(selected.story_id)
            if selected_index is not None:
                self._cursor = self._line_of(selected_index)
        self._scroll_cursor_visible()
        self.refresh()
        self._post_highlight()

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(1, self.line_count)

    # --- cursor ---------------------------------------------------------------------------------------

    def move_cursor(self, line: int) -> None:
        if not self.line_count:
            return
        line = max(0, min(line, self.line_count - 1))
        if line != self._cursor:
            self.refresh_line(self._cursor)
            self._cursor = line
            self.refresh_line(line)
        self._scroll_cursor_visible()
        self._post_highlight()

    def _scroll_cursor_visible(self) -> None:
        height = max(self.scrollable_content_region.height, 1)
        top = int(self.scroll_offset.y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + height:
            self.scroll_to(y=self._cursor - height + 1, animate=False, immediate=True)

    def _post_highlight(self) -> None:
        selection = self.selection()
        if selection != self._last_highlight:
            self._last_highlight = selection
            self.post_message(self.Highlighted(self, selection))

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self._cursor + max(self.scrollable_content_region.height - 1, 1))

    def action_page_up(self) -> None:
        self.move_cursor(self._cursor - max(self.scrollable_content_region.height - 1, 1))

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.line_count - 1)

    def action_select(self) -> None:
        selection = self.selection()
        if selection is not None:
            self.post_message(self.Chosen(self, selection))

    def action_expand(self) -> None:
        selection = self.selection()
        if selection is None:
            return
        if self._expanded == selection.story_id:
            self.set_members(selection.story_id, [])
        else:
            self.post_message(self.ExpandRequested(self, selection.story_id))

    def action_collapse(self) -> None:
        if self._expanded is not None:
            self.set_members(self._expanded, [])

    async def _on_click(self, event: events.Click) -> None:
        line = int(event.y + self.scroll_offset.y)
        if not 0 <= line < self.line_count:
            return
        self.focus()
        self.move_cursor(line)
        if event.chain >= 2:
            self.action_select()
        elif event.x <= 1 + TIME_WIDTH + 2:
            # A click on the left edge (mark, time, expand arrow) toggles the story open.
            _, member = self._locate(line)
            if member is None:
                self.action_expand()

    # --- drawing --------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = y + int(self.scroll_offset.y)
        base = self.rich_style
        if line >= self.line_count or width <= 0:
            return Strip.blank(width, base)
        story_index, member = self._locate(line)
        story_id = self._ids[story_index]
        if member is None:
            row = self._rows.get(story_id)
            if row is None:
                self._request_page(story_index)
                segments = [Segment("  …", self.get_component_rich_style("story-list--placeholder"))]
            else:
                segments = self._story_segments(row, width)
        else:
            segments = self._member_segments(self._members[member], width)
        # The widget's style goes under every segment: a segment with no style of its own (a bare space, the
        # title's padding) would otherwise have style None, which textual's NO_COLOR filter cannot read, and
        # would show the terminal's background instead of the list's.
        strip = Strip(segments).crop_extend(0, width, base).apply_style(base)
        if line == self._cursor:
            # After the segments' own styles, so the cursor colours win over row and chip colours.
            cursor_style = self.get_component_rich_style("story-list--cursor", partial=True)
            strip = Strip(list(Segment.apply_style(strip, post_style=cursor_style)), width)
        return strip

    def _request_page(self, story_index: int) -> None:
        page = story_index // PAGE_SIZE
        if page in self._requested_pages:
            return
        self._requested_pages.add(page)
        ids = tuple(
            sid for sid in self._ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE] if sid not in self._rows
        )
        if ids:
            self.post_message(self.PageNeeded(self, ids))

    def _time_text(self, value: str, origin: str) -> str:
        """The time column: a stand-in date starts with '~', a date without a time shows no '00:00'."""
        text = format_when(value, origin, utc=self.utc, short=True)
        if not text.startswith(STAND_IN_MARK):
            text = " " + text
        return text.ljust(TIME_WIDTH)

    def _span_segments(self, row: StoryRow, width: int) -> list[Segment]:
        """'→ 11-07' when the story's reports span more than one day, on lines wide enough to keep the
        headline's room (the first report alone orders and dates the story)."""
        if width < SPAN_MIN_WIDTH:
            return []
        span = format_span(
            row.first_seen, row.last_seen, row.first_origin, row.last_origin, utc=self.utc, short=True
        )
        _, arrow, last = span.partition(" → ")
        text = f"→ {last}" if arrow else ""
        return [Segment(text.ljust(SPAN_WIDTH) + " ", self.get_component_rich_style("story-list--time"))]

    def _story_segments(self, row: StoryRow, width: int) -> list[Segment]:
        unread = row.unread > 0
        text_style = self.get_component_rich_style("story-list--unread" if unread else "story-list--read")
        mark = "● " if unread else "  "
        arrow = ("▾ " if self._expanded == row.id else "▸ ") if row.size > 1 else "  "
        star = "★ " if row.starred else ""
        chips: list[Segment] = []
        chip_width = 0
        # Narrow lists keep more of the headline.
        chip_budget = width // (CHIP_SHARE if width >= 90 else CHIP_SHARE + 1)
        chip_style = self.get_component_rich_style("story-list--chip")
        for name in row.topics:
            label = f" {plain(name)} "
            if chip_width + len(label) + 1 > chip_budget:
                break
            chips += [Segment(" "), Segment(label, chip_style)]
            chip_width += len(label) + 1
        head = [
            Segment(mark, self.get_component_rich_style("story-list--unread")),
            Segment(
                self._time_text(row.first_seen, row.first_origin) + " ",
                self.get_component_rich_style("story-list--time"),
            ),
            *self._span_segments(row, width),
            Segment(arrow, text_style),
            Segment(f"{row.outlets:>3} ", self.get_component_rich_style("story-list--outlets")),
            Segment(star, self.get_component_rich_style("story-list--star")),
        ]
        used = sum(segment.cell_length for segment in head)
        title_width = max(width - used - chip_width - 1, 4)
        title = Strip([Segment(plain(row.title), text_style)]).crop_extend(0, title_width, None)
        return [*head, *title, Segment(" "), *chips]

    def _member_segments(self, member: dict[str, Any], width: int) -> list[Segment]:
        unread = not member["read"]
        text_style = self.get_component_rich_style("story-list--member")
        # A narrow list gives the outlet less room and the headline more.
        outlet_width = 24 if width >= 90 else 16
        outlet = plain(member["outlet"] or member["source"])[:outlet_width]
        tags = []
        if member.get("is_lead"):
            tags.append(Segment(" lead", self.get_component_rich_style("story-list--outlets")))
        if member["duplicate_of"] is not None:
            tags.append(Segment(" copy", self.get_component_rich_style("story-list--copy")))
        if member["starred"]:
            tags.append(Segment(" ★", self.get_component_rich_style("story-list--star")))
        head = [
            Segment("● " if unread else "  ", self.get_component_rich_style("story-list--unread")),
            Segment(
                self._time_text(member["sort_time"], member["date_origin"]) + " ",
                self.get_component_rich_style("story-list--time"),
            ),
            Segment("  └ ", text_style),
            Segment(outlet.ljust(outlet_width) + " ", self.get_component_rich_style("story-list--outlets")),
        ]
        used = sum(segment.cell_length for segment in head) + sum(tag.cell_length for tag in tags)
        title = Strip([Segment(plain(member["title"]), text_style)]).crop_extend(
            0, max(width - used, 4), None
        )
        return [*head, *title, *tags]
