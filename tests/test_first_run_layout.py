"""The first minutes: the welcome points at the user's config (and creates it), the CLI says how to fill an
empty database and refuses a --db in a missing folder, and at 80 columns a headline has room.
The real app with Pilot, the CLI as a real subprocess, real files (config dirs isolated by conftest).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newswatch.config import default_config_path, load_config
from tests.conftest import run_newswatch
from tests.test_tui import app_for, list_text, ready, wait_for
from tui.screens.main import MainScreen
from tui.widgets.story_list import StoryList

pytestmark = pytest.mark.anyio


async def test_the_welcome_points_at_the_users_config_and_creates_it(tmp_path: Path) -> None:
    user_config = default_config_path()
    assert str(tmp_path) in str(user_config) and not user_config.exists()
    app = app_for(tmp_path / "empty.db")  # the bundled config, as a new user has
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.query_one("#first-run").display
        )
        text = app.screen.query_one("#first-run").render().plain
        assert str(user_config) in text and "press C to create it" in text
        assert "config.toml" in text and str(app.config.path) not in text.replace(str(user_config), "")
        await pilot.press("C")
        await wait_for(pilot, user_config.exists)
        await wait_for(pilot, lambda: "press C" not in app.screen.query_one("#first-run").render().plain)
    created = user_config.read_text()
    assert "# [[sources]]" in created and "\n[[sources]]" not in created
    config = load_config(user_config)
    assert config.sources == [] and {t.name for t in config.topics} == {"DPRK troops", "Russia sanctions"}
    # Uncommenting the sample source reads the bundled seeds from wherever the config lives.
    user_config.write_text(
        created.replace('# [[sources]]\n# name = "Samples"\n# path', '[[sources]]\nname = "Samples"\npath', 1)
    )
    [source] = load_config(user_config).sources
    assert Path(source.location).parent.is_dir() and source.location.endswith("seeds/*.txt")


def test_empty_database_hints_go_to_stderr(tmp_path: Path) -> None:
    for command in ("articles", "stories"):
        result = run_newswatch("--db", str(tmp_path / "empty.db"), command)
        assert result.status == 0 and result.stdout == ""
        assert "newswatch ingest" in result.stderr


def test_db_in_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "news.db"
    result = run_newswatch("--db", str(missing), "ingest")
    assert result.status == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "no").exists()
    env_result = run_newswatch("articles", env={"NEWSWATCH_DB": str(missing)})
    assert env_result.status == 2 and not (tmp_path / "no").exists()


async def test_at_80_columns_the_headline_has_room_and_b_shows_the_sidebar(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        sidebar = screen.query_one("#sidebar")
        assert not sidebar.display
        story_list = screen.query_one(StoryList)
        assert story_list.size.width >= 78
        # Story A's headline: at least 30 of its characters are on screen.
        line = next(line for line in list_text(screen) if "Allies condemn" in line)
        assert "Allies condemn the DPRK’s deployment" in line, line
        await pilot.press("b")
        await pilot.pause(0.1)
        assert sidebar.display and sidebar.size.width <= 24
        await pilot.press("b")
        await pilot.pause(0.1)
        assert not sidebar.display and story_list.has_focus
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 30)) as pilot:
        screen = await ready(pilot)
        assert screen.query_one("#sidebar").display
