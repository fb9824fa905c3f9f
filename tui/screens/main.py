"""The screen a user lives in: sidebar, search box, the story list, a status line with ingest progress.

Every database call runs in a thread worker that posts its result back as a message; the handlers only
set attributes on widgets. Results carry a generation number so a slow answer to an old query never
overwrites a newer one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, ProgressBar, Static
from textual.worker import get_current_worker

from feeds.sanitize import safe_url
from store import articles as article_store
from store import browsing
from store.connections import Interrupted, QueryFailed
from topics.query import CompiledQuery, QueryError, compile_query
from tui.messages import FilterPicked, OpenArticle
from tui.text import count_label, plain
from tui.widgets.sidebar import Sidebar
from tui.widgets.story_list import PAGE_SIZE, Selection, StoryList

if TYPE_CHECKING:
    from tui.app import NewswatchApp

POLL_SECONDS = 2.0
# Below this many columns the sidebar starts hidden (b shows it): at 80 columns it would leave a headline
# a few words.
SIDEBAR_MIN_COLUMNS = 100
SPARK_DAYS = 14


@dataclass
class SnapshotLoaded(Message):
    generation: int
    ids: list[int]
    rows: dict[int, browsing.StoryRow]
    complete: bool
    library: tuple[int, int] | None  # (sources, has articles) when checked
    version: int  # the change counter before the query ran: any later commit triggers a reload


@dataclass
class DatabaseLost(Message):
    reason: str


@dataclass
class SnapshotFailed(Message):
    generation: int
    reason: str


@dataclass
class RowsLoaded(Message):
    rows: dict[int, browsing.StoryRow]
    generation: int


@dataclass
class MembersLoaded(Message):
    story_id: int
    members: list[dict[str, Any]]
    # A reload of the open story after a change: applies only if that story is still open.
    refresh: bool = False


@dataclass
class SidebarLoaded(Message):
    topics: list[browsing.TopicSummary]
    sources: list[browsing.SourceSummary]


@dataclass
class DataChanged(Message):
    """Another connection committed (a cron ingest, `newswatch watch`, fetch-now)."""


@dataclass
class IngestProgress(Message):
    done: int
    total: int
    name: str


@dataclass
class IngestFinished(Message):
    line: str
    failed: bool


FIRST_RUN_TEXT = """\
Welcome to newswatch: there are no articles yet.

1. Add sources to your config file:
     {config}{config_note}

   [[sources]]
   name = "Some outlet"
   url = "https://example.org/rss.xml"      # or: path = "articles/*.md"

   or add a feed from the shell:  newswatch sources add https://example.org/rss.xml

2. Fetch them: press R here, or run  newswatch ingest
   (from cron:  */15 * * * *  newswatch ingest --quiet --alerts)

Press ? for every key, ctrl+p for the command palette, q to quit."""


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search", key_display="/"),
        Binding("escape", "back", "Back", show=False),
        Binding("o", "open_browser", "Browser"),
        Binding("r", "toggle_read", "Read/unread"),
        Binding("s", "toggle_star", "Star"),
        Binding("n", "next_unread", "Next unread", show=False),
        Binding("A", "mark_all_read", "Mark all read", key_display="A", show=False),
        Binding("u", "toggle_unread_only", "Unread only"),
        Binding("asterisk", "toggle_starred_only", "Starred only", key_display="*", show=False),
        Binding("t", "toggle_sort", "Sort"),
        Binding("f", "filters", "Filters"),
        Binding("x", "clear_filters", "Clear filters", show=False),
        Binding("R", "fetch_now", "Fetch now", key_display="R"),
        Binding("b", "toggle_sidebar", "Sidebar"),
        Binding("C", "create_config", "Create config", key_display="C", show=False),
        Binding("D", "digest", "Digest of this filter", key_display="D", show=False),
        Binding("tab", "app.focus_next", "Next pane", show=False),
        Binding("shift+tab", "app.focus_previous", "Previous pane", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.story_query = browsing.StoryQuery()
        self.compiled: CompiledQuery | None = None
        self._generation = 0
        self._new_list_from = -1
        # Which generation the list shows, and whether that snapshot is exact (benchmarks and tests wait on it).
        self.shown_generation = -1
        self.shown_complete = False
        # perf_counter() when each generation was asked for and first shown: the search latency the
        # benchmark reports, from the keystroke's handler to the list holding rows for it.
        self.asked_at: dict[int, float] = {}
        self.shown_at: dict[int, float] = {}
        self._data_version: int | None = None
        self._ingesting = False
        self._activity = ""
        self._first_run = False
        self._topic_names: list[str] = []
        self._sidebar_chosen: bool | None = None  # the user's `b`, which wins over the width
        self._source_names: list[str] = []

    @property
    def newswatch(self) -> NewswatchApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield Sidebar(id="sidebar")
            with Vertical(id="main"):
                yield Input(
                    placeholder='/ search: words "phrases" prefix* AND OR NOT ( ) title: source: @list',
                    id="search",
                )
                yield Static(id="search-status")
                yield StoryList(id="stories")
                yield Static(id="first-run")
        with Horizontal(id="statusbar"):
            yield Static(id="status")
            yield ProgressBar(id="ingest-progress", show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#first-run").display = False
        self.query_one("#ingest-progress").display = False
        self.query_one(StoryList).utc = self.newswatch.config.utc
        self.query_one(Sidebar).utc = self.newswatch.config.utc
        self.on_resize()
        self.query_one(StoryList).focus()
        self._show_status()
        self.reload()
        self.load_sidebar()
        self._poll_timer = self.set_interval(POLL_SECONDS, self.poll_changes)
        self.watch_changes()

    def on_resize(self) -> None:
        if self._sidebar_chosen is None:
            self.set_class(self.app.size.width < SIDEBAR_MIN_COLUMNS, "-no-sidebar")

    def action_toggle_sidebar(self) -> None:
        self._sidebar_chosen = self.has_class("-no-sidebar")
        self.set_class(not self._sidebar_chosen, "-no-sidebar")
        if not self._sidebar_chosen:
            self.query_one(StoryList).focus()

    def on_screen_resume(self) -> None:
        # Back from the reader: the article (maybe its whole story) was marked read there.
        if self.newswatch.connections is not None:
            self.query_one(StoryList).invalidate_rows()
            self.load_sidebar()
            if self.story_query.unread_only or self.story_query.starred_only:
                self.reload()

    # --- loading ----------------------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        return self._generation

    def reload(self) -> None:
        """Query the snapshot again for the current filters (a new search, a filter, or new data)."""
        self._generation += 1
        self.asked_at[self._generation] = time.perf_counter()
        if self.newswatch.connections is not None:
            self.newswatch.connections.interrupt_snapshot()
        self._show_search_status()
        self.load_snapshot(self.story_query, self._generation)

    @work(thread=True, exclusive=True, group="snapshot", exit_on_error=False)
    def load_snapshot(self, query: browsing.StoryQuery, generation: int) -> None:
        worker = get_current_worker()
        connections = self.newswatch.open_connections()
        version = connections.change_counter()
        try:
            sizes = None if query.is_filtered else connections.snapshot(browsing.library_size)
            first = connections.snapshot(lambda db: browsing.first_story_ids(db, query, count=PAGE_SIZE))
            if first is not None and not worker.is_cancelled:
                rows = connections.snapshot(lambda db: browsing.stories_by_ids(db, first[:PAGE_SIZE]))
                self.post_message(
                    SnapshotLoaded(generation, first, rows, complete=False, library=sizes, version=version)
                )
            if worker.is_cancelled:
                return
            ids = connections.snapshot(lambda db: browsing.story_ids(db, query))
            if worker.is_cancelled:
                return
            rows = (
                {}
                if first is not None
                else connections.snapshot(lambda db: browsing.stories_by_ids(db, ids[:PAGE_SIZE]))
            )
            self.post_message(
                SnapshotLoaded(generation, ids, rows, complete=True, library=sizes, version=version)
            )
        except Interrupted:
            return
        except QueryFailed as error:
            self.post_message(SnapshotFailed(generation, str(error)))

    def on_snapshot_failed(self, message: SnapshotFailed) -> None:
        if message.generation != self._generation:
            return
        self._load_error = message.reason
        self._show_search_status()

    def on_snapshot_loaded(self, message: SnapshotLoaded) -> None:
        if message.generation != self._generation:
            return
        self._load_error = None
        if message.library is not None:
            _sources, has_articles = message.library
            self._set_first_run(not has_articles)
        story_list = self.query_one(StoryList)
        story_list.add_rows(message.rows)
        # The first answer to a new search/filter/sort starts at the top; later ones keep the place.
        from_top = message.generation == self._new_list_from and self.shown_generation != message.generation
        story_list.set_snapshot(message.ids, complete=message.complete, from_top=from_top)
        self.shown_generation = message.generation
        self.shown_at.setdefault(message.generation, time.perf_counter())
        self.shown_complete = message.complete
        if message.complete:
            self._data_version = message.version
        self._show_search_status()
        self._show_status()

    @on(StoryList.PageNeeded)
    def _page_needed(self, message: StoryList.PageNeeded) -> None:
        self.load_rows(message.story_ids, self._generation)

    @work(thread=True, group="rows", exit_on_error=False)
    def load_rows(self, story_ids: tuple[int, ...], generation: int) -> None:
        rows = self.newswatch.open_connections().read(lambda db: browsing.stories_by_ids(db, story_ids))
        self.post_message(RowsLoaded(rows, generation))

    def on_rows_loaded(self, message: RowsLoaded) -> None:
        self.query_one(StoryList).add_rows(message.rows)

    @on(StoryList.ExpandRequested)
    def _expand(self, message: StoryList.ExpandRequested) -> None:
        self.load_members(message.story_id)

    @work(thread=True, exclusive=True, group="members", exit_on_error=False)
    def load_members(self, story_id: int, refresh: bool = False) -> None:
        members = self.newswatch.open_connections().read(lambda db: browsing.story_member_rows(db, story_id))
        self.post_message(MembersLoaded(story_id, members, refresh))

    def on_members_loaded(self, message: MembersLoaded) -> None:
        story_list = self.query_one(StoryList)
        if message.refresh and story_list.expanded_story != message.story_id:
            return  # closed (or another story opened) while the reload ran
        if len(message.members) <= 1 and story_list.expanded_story != message.story_id:
            self.notify("This story has a single article.", timeout=2)
            return
        story_list.set_members(message.story_id, message.members)

    @work(thread=True, exclusive=True, group="sidebar", exit_on_error=False)
    def load_sidebar(self) -> None:
        connections = self.newswatch.open_connections()
        utc = self.newswatch.config.utc
        today = datetime.now(UTC) if utc else datetime.now().astimezone()
        topics = connections.side(
            lambda db: browsing.topic_summaries(db, today=today, days=SPARK_DAYS, utc=utc)
        )
        sources = connections.side(browsing.source_summaries)
        self.post_message(SidebarLoaded(topics, sources))

    def on_sidebar_loaded(self, message: SidebarLoaded) -> None:
        self._topic_names = [topic.name for topic in message.topics]
        self._source_names = [source.name for source in message.sources]
        sidebar = self.query_one(Sidebar)
        sidebar.set_topics(message.topics, self.story_query.topic)
        sidebar.set_sources(message.sources, self.story_query.source)

    # --- live updates -----------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="changes", exit_on_error=False)
    def watch_changes(self) -> None:
        """Where the database says when another connection commits (a server store's LISTEN/NOTIFY), it is
        told instead of polled: the poll timer stops and each change refreshes the screen at once."""
        connections = self.newswatch.open_connections()
        if connections.pushes_changes:
            self.app.call_from_thread(self._poll_timer.stop)
            connections.subscribe(lambda: self.post_message(DataChanged()))

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def poll_changes(self) -> None:
        connections = self.newswatch.connections
        if connections is None or self._data_version is None:
            return
        if problem := connections.file_problem():
            self.post_message(DatabaseLost(problem))
            return
        version = connections.change_counter()
        if version != self._data_version:
            self._data_version = version
            self.post_message(DataChanged())

    def on_database_lost(self, message: DatabaseLost) -> None:
        # Said once, and kept on screen: every later poll finds the same problem.
        if self._database_lost != message.reason:
            self._database_lost = message.reason
            self.notify(message.reason, severity="error", markup=False, timeout=3600)
            self._show_status()

    def on_data_changed(self, _message: DataChanged) -> None:
        self.refresh_everything()

    def refresh_everything(self) -> None:
        story_list = self.query_one(StoryList)
        story_list.invalidate_rows()
        if story_list.expanded_story is not None:
            self.load_members(story_list.expanded_story, refresh=True)
        self.reload()
        self.load_sidebar()

    # --- search and filters -----------------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        text = event.value.strip()
        if not text:
            self.compiled = None
            self._query_error = None
            self._apply(fts=None)
            return
        try:
            compiled = compile_query(text, self.newswatch.config.terms)
        except QueryError as error:
            self._query_error = error
            self._show_search_status()
            return
        self._query_error = None
        self.compiled = compiled
        self._apply(fts=compiled.fts)

    @on(Input.Submitted, "#search")
    def _search_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(StoryList).focus()

    _query_error: QueryError | None = None
    # Set when the database file was deleted or replaced under the open interface.
    _database_lost: str | None = None
    # Why the last list query failed (shown instead of "searching…"), or None.
    _load_error: str | None = None

    def _apply(self, **changes: Any) -> None:
        query = replace(self.story_query, **changes)
        if query == self.story_query:
            self._show_search_status()
            return
        self.story_query = query
        self._load_error = None
        self.query_one(StoryList).complete = False
        self.reload()
        self._new_list_from = self._generation
        self._show_status()

    def on_filter_picked(self, message: FilterPicked) -> None:
        if message.kind == "topic":
            self._apply(topic=message.name)
        else:
            self._apply(source=message.name)
        self.load_sidebar()
        self.query_one(StoryList).focus()

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            self.query_one(StoryList).focus()
        elif self.query_one(StoryList).expanded_story is not None:
            self.query_one(StoryList).action_collapse()
        elif search.value:
            search.value = ""
        elif self.story_query.is_filtered:
            self.action_clear_filters()

    def action_toggle_unread_only(self) -> None:
        self._apply(unread_only=not self.story_query.unread_only)

    def action_toggle_starred_only(self) -> None:
        self._apply(starred_only=not self.story_query.starred_only)

    def action_toggle_sort(self) -> None:
        self._apply(order="outlets" if self.story_query.order == "newest" else "newest")

    def action_clear_filters(self) -> None:
        self.query_one("#search", Input).value = ""
        self.compiled = None
        self._apply(
            **{name: None for name in ("fts", "topic", "source", "since", "until")},
            unread_only=False,
            starred_only=False,
        )
        self.load_sidebar()

    def action_filters(self) -> None:
        from tui.screens.filters import FilterScreen

        def apply(result: dict[str, Any] | None) -> None:
            if result is not None:
                self._apply(**result)
                self.load_sidebar()

        self.app.push_screen(
            FilterScreen(self.story_query, topics=self._topic_names, sources=self._source_names), apply
        )

    def action_digest(self) -> None:
        from tui.screens.digest import DigestScreen

        search = self.query_one("#search", Input).value.strip() if self.compiled is not None else ""
        self.app.push_screen(DigestScreen(self.story_query, search_text=search))

    # --- acting on the selection ------------------------------------------------------------------------

    def _selection(self) -> tuple[Selection, browsing.StoryRow | None] | None:
        story_list = self.query_one(StoryList)
        selection = story_list.selection()
        if selection is None:
            return None
        return selection, story_list.row(selection.story_id)

    @on(StoryList.Chosen)
    def _chosen(self, message: StoryList.Chosen) -> None:
        row = self.query_one(StoryList).row(message.selection.story_id)
        article_id = message.selection.article_id
        if article_id is None:
            if row is None:
                return
            article_id = row.lead_article_id
        self.post_message(OpenArticle(article_id, message.selection.story_id))

    def on_open_article(self, message: OpenArticle) -> None:
        from tui.screens.reader import ReaderScreen

        self.app.push_screen(ReaderScreen(message.article_id, self.compiled))

    def action_toggle_read(self) -> None:
        picked = self._selection()
        if picked is None:
            return
        selection, row = picked
        if selection.article_id is None:
            if row is None:
                return
            self.change_user_state(selection.story_id, "story_read", row.unread > 0)
        else:
            member = self._member(selection.article_id)
            if member is not None:
                self.change_user_state(selection.story_id, "read", not member["read"], selection.article_id)

    def action_toggle_star(self) -> None:
        picked = self._selection()
        if picked is None:
            return
        selection, row = picked
        if selection.article_id is None:
            if row is None:
                return
            self.change_user_state(selection.story_id, "story_star", not row.starred, row.lead_article_id)
        else:
            member = self._member(selection.article_id)
            if member is not None:
                self.change_user_state(
                    selection.story_id, "star", not member["starred"], selection.article_id
                )

    def _member(self, article_id: int) -> dict[str, Any] | None:
        story_list = self.query_one(StoryList)
        return next((m for m in story_list._members if m["id"] == article_id), None)

    def change_user_state(
        self, story_id: int, change: str, value: bool, article_id: int | None = None
    ) -> None:
        expanded = self.query_one(StoryList).expanded_story == story_id
        self._write_user_state(story_id, change, value, article_id, expanded)

    @work(thread=True, group="user-state", exit_on_error=False)
    def _write_user_state(
        self, story_id: int, change: str, value: bool, article_id: int | None, expanded: bool
    ) -> None:
        connections = self.newswatch.open_connections()

        def write(db: Any) -> None:
            if change == "story_read":
                browsing.set_story_read(db, story_id, value)
            elif change == "read":
                article_store.set_read(db, [article_id], value)
            elif change == "story_star":
                browsing.set_story_starred(db, story_id, article_id, value)
            else:
                article_store.set_starred(db, article_id, value)

        # Whether it was saved or not, the rows below are read back from the database: the list shows
        # what is stored.
        self.newswatch.save_user_change(write, _describe_change(change, value))
        rows = connections.read(lambda db: browsing.stories_by_ids(db, [story_id]))
        self.post_message(RowsLoaded(rows, self._generation))
        if expanded:
            members = connections.read(lambda db: browsing.story_member_rows(db, story_id))
            self.post_message(MembersLoaded(story_id, members, refresh=True))
        self.post_message(UserStateChanged())

    def on_user_state_changed(self, _message: UserStateChanged) -> None:
        self.load_sidebar()
        if self.story_query.unread_only or self.story_query.starred_only:
            self.reload()

    def action_next_unread(self) -> None:
        """The next story below the cursor with something unread (the list's order, rows loaded or not)."""
        story_list = self.query_one(StoryList)
        selection = story_list.selection()
        ids = story_list._ids
        start = 0 if selection is None else ids.index(selection.story_id) + 1
        self._find_unread(ids[start:])

    @work(thread=True, exclusive=True, group="next-unread", exit_on_error=False)
    def _find_unread(self, ids: list[int]) -> None:
        found = self.newswatch.open_connections().read(lambda db: browsing.first_unread(db, ids))
        self.app.call_from_thread(self._go_to_unread, found)

    def _go_to_unread(self, story_id: int | None) -> None:
        if story_id is None or not self.query_one(StoryList).select_story(story_id):
            self.notify("No unread story below this one.", timeout=2)

    def action_mark_all_read(self) -> None:
        """Mark the open story read when the cursor is in it; otherwise every story in this view."""
        story_list = self.query_one(StoryList)
        selection = story_list.selection()
        if selection is not None and selection.article_id is not None:
            ids, what = [selection.story_id], "this story"
        else:
            ids = list(story_list._ids)
            what = count_label(len(ids), "story", "stories") + (
                " in this view" if self.story_query.is_filtered else ""
            )
        if ids:
            self._mark_read(ids, what)

    @work(thread=True, group="mark-read", exit_on_error=False)
    def _mark_read(self, ids: list[int], what: str) -> None:
        # Through the app's user-change path: retried while an ingest writes, never dropped silently.
        if self.newswatch.save_user_change(
            lambda db: browsing.set_stories_read(db, ids, True), f"{what} read"
        ):
            self.app.call_from_thread(self.notify, f"Marked {what} read.", timeout=2, markup=False)
        self.post_message(DataChanged())

    def action_open_browser(self) -> None:
        picked = self._selection()
        if picked is None:
            return
        selection, row = picked
        article_id = (
            selection.article_id
            if selection.article_id is not None
            else (row.lead_article_id if row else None)
        )
        if article_id is not None:
            self.open_in_browser(article_id)

    @work(thread=True, group="browser", exit_on_error=False)
    def open_in_browser(self, article_id: int) -> None:
        article = self.newswatch.open_connections().read(lambda db: article_store.get_article(db, article_id))
        url = safe_url(article["url"]) if article else None
        if url is None:
            self._say("This article has no http(s) link to open.", "warning")
            return
        self.app.call_from_thread(self.newswatch.open_link, url)

    # --- fetch now --------------------------------------------------------------------------------------

    def action_fetch_now(self) -> None:
        if self._ingesting:
            self.notify("A fetch is already running.", timeout=2)
            return
        self._ingesting = True
        progress = self.query_one("#ingest-progress", ProgressBar)
        progress.update(total=None, progress=0)
        progress.display = True
        self._show_status("fetching…")
        self.fetch_now()

    @work(thread=True, exclusive=True, group="ingest", exit_on_error=False)
    def fetch_now(self) -> None:
        from newswatch.session import Session

        def progress(done: int, total: int, name: str) -> None:
            self.post_message(IngestProgress(done, total, name))

        try:
            # The config as it is now: sources added since the app started (or to a config just created) count.
            from newswatch.config import ConfigError, load_config

            try:
                config = load_config(self.newswatch.config.path)
                config.utc = self.newswatch.config.utc
            except ConfigError as error:
                self.post_message(IngestFinished(f"config: {plain(str(error).splitlines()[0])}", True))
                return
            # Its own session: the pass's connection belongs to this worker thread.
            with Session(config, self.newswatch.db_path) as session:
                outcome = session.refresh(progress=progress)
        except Exception as error:  # a failed fetch must not take the interface down
            self.post_message(IngestFinished(f"fetch failed: {plain(str(error))}", True))
            return
        if outcome.busy:
            self.post_message(IngestFinished(plain(outcome.busy), False))
        else:
            self.post_message(IngestFinished(plain(outcome.summary.line()), bool(outcome.summary.failed)))

    def on_ingest_progress(self, message: IngestProgress) -> None:
        self.query_one("#ingest-progress", ProgressBar).update(total=message.total, progress=message.done)
        self._show_status(f"fetching {message.done}/{message.total}: {plain(message.name)}")

    def on_ingest_finished(self, message: IngestFinished) -> None:
        self._ingesting = False
        self.query_one("#ingest-progress").display = False
        self._show_status(message.line)
        self.notify(message.line, severity="warning" if message.failed else "information", markup=False)
        self.refresh_everything()

    # --- what the screen says ---------------------------------------------------------------------------

    def _set_first_run(self, first_run: bool) -> None:
        self._first_run = first_run
        panel = self.query_one("#first-run", Static)
        if first_run:
            panel.update(Content(self._first_run_text()))
        panel.display = first_run
        story_list = self.query_one(StoryList)
        story_list.display = not first_run
        self.query_one("#search-status").display = not first_run
        self.query_one("#search").display = not first_run
        if first_run:
            # Nothing to type into or move through yet: keys go to the screen (R fetches, ? helps).
            self.set_focus(None)
        elif self.focused is None:
            story_list.focus()

    def _first_run_text(self) -> str:
        """The welcome points at the user's own config (never the copy inside the install)."""
        from newswatch.config import BUNDLED_CONFIG, default_config_path

        current = self.newswatch.config.path
        user = current if current.resolve() != BUNDLED_CONFIG.resolve() else default_config_path()
        note = ""
        if not user.exists():
            note = "\n   (it does not exist yet: press C to create it, the sample sources commented in)"
        return FIRST_RUN_TEXT.format(config=plain(str(user)), config_note=note)

    def action_create_config(self) -> None:
        """C on the welcome screen: write the user's config from the bundled one, then use it."""
        from newswatch.config import ConfigError, default_config_path, load_config, write_starter_config

        if not self._first_run:
            return
        path = default_config_path()
        try:
            write_starter_config(path)
        except OSError as error:
            self.notify(f"Could not create {path}: {error}", severity="error", markup=False)
            return
        try:
            self.newswatch.config = load_config(path)
        except ConfigError as error:
            self.notify(str(error), severity="error", markup=False)
        self._set_first_run(True)
        self.notify(f"Created {path}: add sources there, then press R.", markup=False)

    def _show_search_status(self) -> None:
        status = self.query_one("#search-status", Static)
        error = self._query_error
        if error is not None:
            where = "" if "column" in str(error) else f" (column {error.position + 1})"
            status.update(Content.styled(f"✗ {plain(str(error))}{where}", "bold $error"))
            return
        if self._load_error is not None:
            status.update(Content.styled(f"✗ {plain(self._load_error)}", "bold $error"))
            return
        story_list = self.query_one(StoryList)
        if not story_list.complete:
            status.update(Content.styled("searching…", "$text-muted"))
            return
        count = count_label(story_list.story_count, "story", "stories")
        if self.story_query.is_filtered:
            status.update(Content.assemble((count, "bold"), (" match", "$text-muted")))
        else:
            status.update(Content.assemble((count, "bold")))

    def _show_status(self, activity: str | None = None) -> None:
        query = self.story_query
        parts = ["newest first" if query.order == "newest" else "most outlets first"]
        if query.topic:
            parts.append(f"topic: {plain(query.topic)}")
        if query.source:
            parts.append(f"source: {plain(query.source)}")
        if query.unread_only:
            parts.append("unread only")
        if query.starred_only:
            parts.append("starred only")
        if query.since or query.until:
            since = query.since.date().isoformat() if query.since else "…"
            until = query.until.date().isoformat() if query.until else "now"
            parts.append(f"{since} – {until}")
        text = " · ".join(parts)
        if activity is not None:
            self._activity = activity
        if self._activity:
            text += f"   {self._activity}"
        if self._database_lost:
            self.query_one("#status", Static).update(
                Content.styled(f"✗ {plain(self._database_lost)}", "bold $error")
            )
            return
        self.query_one("#status", Static).update(Content(text))


@dataclass
class UserStateChanged(Message):
    """The user marked something read or starred: counts in the sidebar moved."""


def _describe_change(change: str, value: bool) -> str:
    """The user's change in words, for a 'waiting' or 'not saved' notice."""
    what = {
        "story_read": "story marked {}",
        "read": "article marked {}",
        "story_star": "story {}",
        "star": "article {}",
    }[change]
    if change in ("story_read", "read"):
        return what.format("read" if value else "unread")
    return what.format("starred" if value else "unstarred")
