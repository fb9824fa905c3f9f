"""The newswatch interactive interface (`newswatch` with no subcommand)."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SuspendNotSupported, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from newswatch.session import Session
from store.connections import InterfaceConnections, WriteFailed
from tui.text import plain

if TYPE_CHECKING:
    from newswatch.config import Config

# A graphical browser (or the opener that starts one) that fails says so within this many seconds.
BROWSER_WAIT_SECONDS = 5.0


class NewswatchApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "newswatch"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        # The CLI's session: its config (replaced when the user creates one) and its database's path. The
        # interface opens its own connections (`connections`) and, for each fetch, a session of its own.
        self.session = session
        self.connections: InterfaceConnections | None = None
        self._connections_lock = threading.Lock()

    @property
    def config(self) -> Config:
        return self.session.config

    @config.setter
    def config(self, config: Config) -> None:
        self.session = Session(config, self.session.db_path)

    @property
    def db_path(self) -> Path | str:
        return self.session.db_path

    def open_connections(self) -> InterfaceConnections:
        """The database connections, opened on first use by whichever worker thread needs them first."""
        with self._connections_lock:
            if self.connections is None:
                self.connections = InterfaceConnections(self.db_path)
            return self.connections

    def save_user_change(self, change: Callable[[Any], Any], what: str) -> bool:
        """Write a user's change (read, starred) from a worker thread; True once it is stored.

        While an ingest holds the write lock the change is retried, and the user is told it is waiting;
        if it finally cannot be written the user is told that too, naming the change: never dropped silently.
        """
        connections = self.open_connections()
        waited = False

        def waiting() -> None:
            nonlocal waited
            waited = True
            self.call_from_thread(
                self.notify,
                f"The database is busy (an ingest is writing): {what} will be saved when it is free.",
                severity="warning",
                markup=False,
            )

        try:
            connections.write(change, on_wait=waiting)
        except WriteFailed as error:
            self.call_from_thread(
                self.notify, f"Not saved ({what}): {error}", severity="error", markup=False, timeout=30
            )
            return False
        if waited:
            self.call_from_thread(self.notify, f"Saved: {what}.", markup=False)
        return True

    def on_mount(self) -> None:
        from tui.screens.main import MainScreen

        self.push_screen(MainScreen())

    def on_unmount(self) -> None:
        if self.connections is not None:
            self.connections.interrupt_snapshot()

    # --- opening links ---------------------------------------------------------------------------------

    def open_link(self, url: str) -> None:
        """Open an http(s) link (checked by the caller) with the configured or found browser, as an argv list.

        A console browser gets the terminal (the app is suspended until it exits); a graphical one runs in
        the background with its output captured, so nothing it prints is drawn over the interface."""
        from newswatch.browser import browser_command

        command = browser_command(url, self.config.browser)
        if command is None:
            self.notify(
                'No web browser found: set browser = "w3m %u" (or "firefox %u &") under [ui] in '
                f"{self.config.path}, or $BROWSER.",
                severity="warning",
                markup=False,
                timeout=8,
            )
        elif command.console:
            self._run_in_terminal(command.argv)
        else:
            self.run_worker(partial(self._run_in_background, command.argv), thread=True, group="browser")

    def _run_in_terminal(self, argv: list[str]) -> None:
        try:
            with self.suspend():
                finished = subprocess.run(argv, check=False)
        except SuspendNotSupported:
            # No terminal to hand over (headless, or a web driver): run it like a graphical one instead.
            self.run_worker(partial(self._run_in_background, argv), thread=True, group="browser")
            return
        except OSError as error:
            self.notify(
                f"Could not start {argv[0]}: {error.strerror or error}", severity="error", markup=False
            )
            return
        if finished.returncode:
            self.notify(
                f"{argv[0]} exited with status {finished.returncode}.", severity="warning", markup=False
            )

    def _run_in_background(self, argv: list[str]) -> None:
        """(A worker thread.) Start the browser with its output in a file; report a quick failure with the
        first line it printed."""

        def say(text: str, severity: Any = "information") -> None:
            self.call_from_thread(self.notify, text, severity=severity, markup=False)

        # The child keeps its own handle on the file: closing ours when we stop waiting is safe.
        with tempfile.TemporaryFile() as output:
            try:
                process = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True
                )
            except OSError as error:
                say(f"Could not start {argv[0]}: {error.strerror or error}", "error")
                return
            try:
                status = process.wait(timeout=BROWSER_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                return  # still running: a browser window is open
            if status:
                output.seek(0)
                text = output.read(4000).decode("utf-8", "replace")
                first = next((line for line in text.splitlines() if line.strip()), "")
                detail = f": {plain(first)}" if first else "."
                say(f"{argv[0]} failed ({status}){detail}", "warning")

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action bound to a key on this screen is also a command in the palette."""
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        for owner, binding in bindings_for(screen):
            if binding.action in seen or binding.action.startswith("app.focus"):
                continue
            seen.add(binding.action)
            key = binding.key_display or binding.key.split(",")[0]
            yield SystemCommand(binding.description, f"key: {key}", partial(owner.run_action, binding.action))


def bindings_for(screen: Screen[Any]) -> list[tuple[Any, Binding]]:
    """(the node that handles it, binding) for the screen, its widgets' classes and the app."""
    from tui.widgets.story_list import StoryList

    found: list[tuple[Any, Binding]] = []
    owners: list[Any] = [screen]
    owners.extend(screen.query(StoryList))
    owners.append(screen.app)
    for owner in owners:
        for binding in type(owner).BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                found.append((owner, binding))
    return found


def run_app(session: Session) -> int:
    """Run the interface; a database it cannot use (too new a schema, not SQLite, unreadable) raises
    store.db.StoreError before the screen is taken over, so the caller can say so in one line."""
    app = NewswatchApp(session)
    app.connections = InterfaceConnections(app.db_path)
    app.run()
    if app.connections is not None:
        app.connections.close()
    return app.return_code or 0
