"""Lone surrogates (text UTF-8 cannot encode, so SQLite cannot store) are replaced at the sanitizer: one bad
record costs nothing but its bad character, never its file, its feed, later sources or a running `watch`."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

from feeds.sanitize import clean_line, clean_text, strip_controls, terminal_safe
from testkit.cli import newswatch_command
from testkit.feedserver import FeedServer
from tests.conftest import REPO, SEEDS

_SURROGATE_LINE = '{"title":"x \\ud800 y","body":"lone \\udfff surrogate"}\n'


def _titles(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        return sorted(row[0] for row in conn.execute("SELECT title FROM articles"))


def _run(config: Path, db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        newswatch_command(config, db_path, *args), cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_sanitizer_replaces_lone_surrogates_with_the_replacement_character() -> None:
    for clean in (strip_controls, clean_text, clean_line, terminal_safe):
        out = clean("a \ud800 b \udfff c")
        assert out == "a \ufffd b \ufffd c"
        out.encode("utf-8")  # would raise on a surrogate
    # A real astral character (a pair in UTF-16) is untouched.
    assert clean_text("emoji \U0001f600") == "emoji \U0001f600"


def test_a_jsonl_line_with_a_lone_surrogate_costs_only_that_character(tmp_path: Path, db_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "s.jsonl").write_text(
        '{"title":"good one","body":"b1"}\n' + _SURROGATE_LINE + '{"title":"good two","body":"b2"}\n'
    )
    config = tmp_path / "c.toml"
    config.write_text(
        f'[[sources]]\nname = "J"\npath = "in/*.jsonl"\n\n[[sources]]\nname = "Seeds"\npath = "{SEEDS}/*.txt"\n'
    )
    result = _run(config, db_path, "ingest")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip().startswith("8 new")
    titles = _titles(db_path)
    assert {"good one", "good two", "x \ufffd y"} <= set(titles)
    assert len(titles) == 8  # 3 lines + 5 seeds: the later source was fetched too
    sources = _run(config, db_path, "sources")
    assert "never fetched" not in sources.stdout
    assert "FAILED" not in sources.stdout


def test_a_surrogate_character_reference_in_rss_costs_only_that_character(
    tmp_path: Path, db_path: Path, feed_server: FeedServer
) -> None:
    rss = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>bad &#xD800; title</title><guid>a</guid><description>one</description></item>"
        b"<item><title>fine title</title><guid>b</guid><description>two</description></item>"
        b"</channel></rss>"
    )
    feed_server.feed("/s.xml", rss)
    config = tmp_path / "c.toml"
    config.write_text(f'[[sources]]\nname = "F"\nurl = "{feed_server.url("/s.xml")}"\n')
    result = _run(config, db_path, "ingest")
    assert result.returncode == 0, result.stderr
    assert "0 failed sources" in result.stdout
    assert _titles(db_path) == ["bad \ufffd title", "fine title"]


def test_watch_survives_a_surrogate_file_dropped_into_its_folder(tmp_path: Path, db_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\nname = "Inbox"\npath = "inbox"\n')
    (inbox / "first.txt").write_text("First\n\nA first article body.\n")
    process = subprocess.Popen(
        newswatch_command(config, db_path, "watch", "--tick", "0.3"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def wait_for(count: int) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if len(_titles(db_path)) == count:
                    return True
            except sqlite3.OperationalError:
                pass
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.1)
        return False

    try:
        assert wait_for(1)
        (inbox / "bad.jsonl").write_text(_SURROGATE_LINE)
        assert wait_for(2)
        (inbox / "later.txt").write_text("Later\n\nA later article body.\n")
        assert wait_for(3), "watch stopped ingesting after the surrogate file"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert "Traceback" not in err
    assert "x \ufffd y" in _titles(db_path)
