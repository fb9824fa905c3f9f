"""`o`: the link goes to a browser as one argv element (never through a shell), a graphical browser's output
is captured, a console browser gets the terminal, and no browser is said so. Real subprocesses (a small
script stands in for the browser), the real app with Pilot, a real SQLite file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from newswatch.browser import BrowserCommand, browser_command, parse_browser_setting
from store.db import open_db, write_batch
from tests.test_tui import STORY_A, add_articles, app_for, check_seed_stories, ready, seed_records, wait_for
from tui.screens.reader import ReaderScreen
from tui.widgets.story_list import StoryList

pytestmark = pytest.mark.anyio
URL = "https://example.org/a;touch%20pwned?q=$(id)&x=`id`"


@pytest.fixture
def linked_db(tmp_path: Path) -> Path:
    path = tmp_path / "seeds.db"
    add_articles(path, "Samples", seed_records())
    check_seed_stories(path)
    db = open_db(path)
    with write_batch(db):
        db.conn.execute(
            "UPDATE articles SET url = ? WHERE id = (SELECT lead_article_id FROM stories WHERE id = 1)", [URL]
        )
    db.conn.close()
    return path


def fake_browser(tmp_path: Path, *, status: int = 0, says: str = "") -> Path:
    """A 'browser' that records its arguments, one per line, prints `says` on stderr and exits `status`."""
    script = tmp_path / "fakebrowser"
    log = tmp_path / "browser-args"
    script.write_text(
        f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a" >> {log}; done\n'
        f'printf "%s\\n" "{says}" >&2\nexit {status}\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_the_setting_is_an_argv_template() -> None:
    assert parse_browser_setting("w3m %u") == (["w3m", "%u"], True)
    assert parse_browser_setting("firefox --new-tab '%u' &") == (["firefox", "--new-tab", "%u"], False)
    assert browser_command(URL, "lynx -accept_all_cookies") == BrowserCommand(
        ["lynx", "-accept_all_cookies", URL], True
    )
    assert browser_command(URL, "open --url=%u &").argv == ["open", f"--url={URL}"]


def test_without_a_setting_a_browser_is_found_or_none(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    assert browser_command(URL, environ={"PATH": str(tmp_path / "bin")}) is None
    w3m = tmp_path / "bin" / "w3m"
    w3m.write_text("#!/bin/sh\n")
    w3m.chmod(0o755)
    assert browser_command(URL, environ={"PATH": str(tmp_path / "bin")}) == BrowserCommand(
        [str(w3m), URL], True
    )
    opener = tmp_path / "bin" / "xdg-open"
    opener.write_text("#!/bin/sh\n")
    opener.chmod(0o755)
    found = browser_command(URL, environ={"PATH": str(tmp_path / "bin"), "DISPLAY": ":0"})
    assert found == BrowserCommand([str(opener), URL], False)
    assert browser_command(URL, environ={"PATH": "", "BROWSER": "lynx:w3m"}) == BrowserCommand(
        ["lynx", URL], True
    )


async def _press_o_on_story_a(app) -> None:
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        screen.query_one(StoryList).select_story(STORY_A)
        await pilot.press("o")
        await wait_for(pilot, lambda: not app.workers._workers or all(w.is_finished for w in app.workers))
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        return list(app._notifications)


async def test_a_graphical_browser_gets_the_link_as_one_argument_and_its_output_is_captured(
    linked_db: Path, tmp_path: Path
) -> None:
    script = fake_browser(tmp_path, says="Gtk-WARNING: cannot open display")
    app = app_for(linked_db)
    app.config.browser = f"{script} %u &"
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        notes = await _press_o_on_story_a(app)
    finally:
        os.chdir(cwd)
    assert (tmp_path / "browser-args").read_text().splitlines() == [URL]
    assert not (tmp_path / "pwned").exists()
    # Exit 0: what it printed was captured, not drawn on the screen or shown.
    assert not any("Gtk-WARNING" in str(n.message) for n in notes)


async def test_a_failing_browser_says_why(linked_db: Path, tmp_path: Path) -> None:
    script = fake_browser(tmp_path, status=3, says="no such profile")
    app = app_for(linked_db)
    app.config.browser = f"{script} %u &"
    notes = await _press_o_on_story_a(app)
    assert any("failed (3): no such profile" in str(n.message) for n in notes), [n.message for n in notes]


async def test_a_console_browser_runs_without_a_shell(linked_db: Path, tmp_path: Path) -> None:
    # Headless there is no terminal to hand over: the app runs it as it runs a graphical one.
    script = fake_browser(tmp_path)
    app = app_for(linked_db)
    app.config.browser = f"{script} %u"
    await _press_o_on_story_a(app)
    assert (tmp_path / "browser-args").read_text().splitlines() == [URL]


async def test_no_browser_is_said_so(
    linked_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("BROWSER", raising=False)
    notes = await _press_o_on_story_a(app_for(linked_db))
    assert any("No web browser found" in str(n.message) for n in notes)


async def test_the_reader_opens_links_the_same_way(linked_db: Path, tmp_path: Path) -> None:
    script = fake_browser(tmp_path)
    app = app_for(linked_db)
    app.config.browser = f"{script} %u &"
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        screen.query_one(StoryList).select_story(STORY_A)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        await pilot.press("o")
        await wait_for(pilot, lambda: (tmp_path / "browser-args").exists())
        await app.workers.wait_for_complete()
    assert (tmp_path / "browser-args").read_text().splitlines() == [URL]
