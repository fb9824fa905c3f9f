"""A date far in the future (2199) is not believed: the fetch time stands in and the record says it was
corrected, so the item does not stay first in every list for 175 years. Real files, the real feed server."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from testkit.feedserver import FeedServer
from tests.conftest import run_cli


def _write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def test_future_dates_are_clamped_to_the_fetch_time_and_marked(
    tmp_path: Path, db_path: Path, feed_server: FeedServer
) -> None:
    feed_server.feed(
        "/f.xml",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
        b"<item><title>Feed item from 2199</title><guid>f1</guid>"
        b"<pubDate>Tue, 01 Jan 2199 00:00:00 +0000</pubDate></item></channel></rss>",
    )
    folder = tmp_path / "in"
    folder.mkdir()
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    soon = datetime.now(UTC) + timedelta(hours=12)  # within a day: believed
    records = [
        {"guid": "future", "title": "File item from 2199", "body": "b", "published": "2199-01-01T00:00:00Z"},
        {"guid": "recent", "title": "Two hours old", "body": "b", "published": two_hours_ago.isoformat()},
        {"guid": "soon", "title": "Twelve hours ahead", "body": "b", "published": soon.isoformat()},
    ]
    _write(folder / "items.jsonl", records)
    config = tmp_path / "c.toml"
    config.write_text(
        f'[[sources]]\nname = "Files"\npath = "in"\n\n[[sources]]\nname = "Feed"\nurl = "{feed_server.url("/f.xml")}"\n'
    )
    base = ("--config", str(config), "--db", str(db_path))

    before = datetime.now(UTC).replace(microsecond=0)
    assert run_cli(*base, "ingest").stdout.startswith("4 new")
    after = datetime.now(UTC)
    rows = {row["title"]: row for row in run_cli(*base, "articles", "--json").json_lines()}
    for title in ("File item from 2199", "Feed item from 2199"):
        assert rows[title]["date_origin"] == "corrected"
        assert before <= datetime.fromisoformat(rows[title]["published"]) <= after
    assert rows["Twelve hours ahead"]["date_origin"] == "record"
    assert rows["Two hours old"]["date_origin"] == "record"

    # The next pass sees the same entries: unchanged, not updated to a new fetch time.
    assert run_cli(*base, "ingest").stdout.startswith("0 new, 0 updated, 4 unchanged")
    again = {row["title"]: row["published"] for row in run_cli(*base, "articles", "--json").json_lines()}
    assert again == {title: row["published"] for title, row in rows.items()}

    # A report written after the first pass is newer than the corrected items, and lists above them.
    time.sleep(1.1)
    _write(
        folder / "items.jsonl",
        [
            *records,
            {"guid": "new", "title": "Just now", "body": "b", "published": datetime.now(UTC).isoformat()},
        ],
    )
    run_cli(*base, "ingest")
    order = [row["title"] for row in run_cli(*base, "articles", "--json").json_lines()]
    assert order.index("Just now") < order.index("File item from 2199")
    assert order.index("Just now") < order.index("Feed item from 2199")
