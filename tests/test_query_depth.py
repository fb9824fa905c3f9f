"""Deep nesting gets a one-line error wherever a query enters (the search box, topics in the config), and a
query SQLite cannot run is reported where it runs, never "searching…" forever or a traceback."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from testkit.cli import newswatch_command
from tests.conftest import REPO, SEEDS
from tests.test_tui import app_for, ready, wait_for
from tui.screens.main import MainScreen

pytestmark = pytest.mark.anyio


def _status(screen: MainScreen) -> str:
    return screen.query_one("#search-status").render().plain


async def test_hundreds_of_parentheses_in_the_search_box_get_one_line(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash")
        screen.query_one("#search").value = "(" * 245 + "troops" + ")" * 245
        await wait_for(pilot, lambda: _status(screen).startswith("✗"))
        assert "nested too deeply" in _status(screen) and "\n" not in _status(screen)
        assert app.is_running
        screen.query_one("#search").value = "sanction*"
        await wait_for(pilot, lambda: _status(screen).startswith("1 story"))


async def test_a_search_sqlite_cannot_run_is_reported_not_left_searching(seeds_db: Path) -> None:
    with sqlite3.connect(seeds_db) as conn:
        conn.execute("DROP TABLE articles_fts")
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash")
        await pilot.press(*"troops")
        await wait_for(pilot, lambda: _status(screen).startswith("✗"), timeout=15)
        assert _status(screen) == f"✗ search failed: {seeds_db}: no such table: articles_fts"
        assert app.is_running


def _config_with_topic(tmp_path: Path, query: str) -> Path:
    config = tmp_path / "c.toml"
    config.write_text(
        f'[[sources]]\nname = "Samples"\npath = "{SEEDS}/*.txt"\n\n[topics.Deep]\nquery = "{query}"\n'
    )
    return config


@pytest.mark.parametrize(
    "query",
    [
        "(" * 300 + "troops" + ")" * 300,
        "(troops OR " * 40 + "army" + ")" * 40,
        "troops " + "(a OR (b " * 12 + "c" + "))" * 12,
    ],
    ids=["300 parentheses", "40 levels", "deep once compiled"],
)
def test_a_deeply_nested_topic_is_a_config_error(tmp_path: Path, db_path: Path, query: str) -> None:
    config = _config_with_topic(tmp_path, query)
    result = subprocess.run(
        newswatch_command(config, db_path, "ingest"), cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"newswatch: {config}: topics.Deep.query: ")
    assert "nested too deeply" in lines[0]


def test_a_topic_of_thousands_of_nots_is_a_working_topic(tmp_path: Path, db_path: Path) -> None:
    config = _config_with_topic(tmp_path, "NOT " * 3001 + "zebra troops")
    result = subprocess.run(
        newswatch_command(config, db_path, "ingest"), cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    topics = subprocess.run(
        newswatch_command(config, db_path, "topics"), cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert topics.stdout.startswith("Deep: 5 articles")
