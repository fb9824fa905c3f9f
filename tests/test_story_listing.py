"""One story listing: the CLI's `stories` and the interface's list answer the same ids for the same filters.

The interface is the real app driven by Pilot; the CLI a real subprocess; both over one real SQLite file.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from store.browsing import StoryQuery, story_ids
from store.db import open_db
from tests.conftest import run_newswatch
from tests.test_tui import STORY_A, STORY_B, add_articles, app_for, ready, seed_records
from tui.widgets.story_list import StoryList

pytestmark = pytest.mark.anyio

# (CLI arguments, the interface's query), each the same filter.
CASES = [
    ((), StoryQuery()),
    (("troops",), StoryQuery(fts="troops")),
    (("--topic", "Russia sanctions"), StoryQuery(topic="Russia sanctions")),
    (("--source", "Samples"), StoryQuery(source="Samples")),
    (("--source", "Desk"), StoryQuery(source="Desk")),
    # "Rutte" is in seed 000 (and 001); the sanctions sentence only in the Desk copy: different members.
    (("Rutte", "--topic", "Russia sanctions"), StoryQuery(fts="Rutte", topic="Russia sanctions")),
    (("Rutte", "--source", "Desk"), StoryQuery(fts="Rutte", source="Desk")),
    (("--since", "2024-11-06"), StoryQuery(since=datetime(2024, 11, 6, tzinfo=UTC))),
    (("--until", "2024-11-05"), StoryQuery(until=datetime(2024, 11, 5, tzinfo=UTC))),
    (("--sort", "outlets"), StoryQuery(order="outlets")),
]


@pytest.fixture
def listing_db(tmp_path: Path) -> Path:
    path = tmp_path / "seeds.db"
    add_articles(path, "Samples", seed_records())
    desk = seed_records()[2]  # 002, with a sentence about sanctions: tagged "Russia sanctions", in story A
    desk.guid, desk.outlet = "desk-002", "Sanctions Desk"
    desk.body += "\n\nThe European Union is preparing new sanctions against Russia, diplomats said."
    add_articles(path, "Desk", [desk])
    db = open_db(path)
    try:
        story_of_desk = db.execute("SELECT story_id FROM articles WHERE guid = 'desk-002'").fetchone()[0]
    finally:
        db.conn.close()
    assert story_of_desk == STORY_A
    return path


def _cli_ids(db_path: Path, args: tuple[str, ...]) -> list[int]:
    result = run_newswatch("--db", str(db_path), "stories", *args, "--json")
    assert result.status == 0, result.stderr
    return [row["id"] for row in result.json_lines()]


async def test_the_cli_and_the_interface_list_the_same_stories(listing_db: Path) -> None:
    expected = {args: _cli_ids(listing_db, args) for args, _query in CASES}
    # A story matches when each condition is met by some member, not necessarily the same one.
    assert expected[("Rutte", "--topic", "Russia sanctions")] == [STORY_A]
    assert expected[("--topic", "Russia sanctions")] == [STORY_A, STORY_B]
    app = app_for(listing_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        for args, query in CASES:
            changes = {
                name: getattr(query, name) for name in ("fts", "topic", "source", "since", "until", "order")
            }
            screen._apply(**changes)
            await ready(pilot)
            assert story_list._ids == expected[args], args
    db = open_db(listing_db)
    try:
        for args, query in CASES:
            assert story_ids(db, query) == expected[args], args
            assert story_ids(db, replace(query), limit=1) == expected[args][:1]
    finally:
        db.conn.close()
