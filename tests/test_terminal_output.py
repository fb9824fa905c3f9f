"""Every line the CLI prints, on stdout or stderr, passes the terminal-safe filter, error paths included:
a config error naming a hostile topic, an SQLite error quoting hostile text, a failed source. Real processes;
the check is on the bytes they wrote."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

from testkit.cli import newswatch_command
from tests.conftest import REPO, SEEDS

# What must never reach a terminal: C0 (but tab and newline), DEL, C1, bidi overrides.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_HOSTILE = "\x1b]0;pwned\x07\x1b[2J\u202eevil"


def _run(config: Path, db_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        newswatch_command(config, db_path, *argv), cwd=REPO, capture_output=True, text=True, timeout=120
    )
    for stream in (result.stdout, result.stderr):
        assert not _UNSAFE.search(stream), repr(stream)
    return result


def test_a_config_error_naming_a_hostile_topic_is_printed_safely(tmp_path: Path, db_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'[[sources]]\nname = "Samples"\npath = "{SEEDS}/*.txt"\n\n'
        '[topics."\\u001b]0;pwned\\u0007\\u001b[2J\\u202eevil"]\nquery = "(troops"\n'
    )
    result = _run(config, db_path, "ingest")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr == f"newswatch: {config}: topics.\"evil\".query: unclosed '(' at column 1\n"


def test_an_sqlite_error_quoting_hostile_text_is_printed_safely(tmp_path: Path, db_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[[sources]]\nname = "Samples"\npath = "{SEEDS}/*.txt"\n')
    assert _run(config, db_path, "sources").returncode == 0
    # Another tool's trigger on the database raises an error carrying escape sequences.
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "CREATE TRIGGER hostile BEFORE INSERT ON articles BEGIN SELECT RAISE(ABORT, ?); END".replace(
                "?", "'" + _HOSTILE.replace("'", "''") + " from a feed'"
            )
        )
    conn.close()
    result = _run(config, db_path, "ingest")
    assert result.returncode == 1
    assert result.stderr == f"newswatch: {db_path}: evil from a feed\n"
    listing = _run(config, db_path, "sources")
    assert listing.returncode == 0


def test_a_hostile_source_name_and_url_in_cli_messages(tmp_path: Path, db_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[[sources]]\nname = "Samples"\npath = "{SEEDS}/*.txt"\n')
    added = _run(config, db_path, "sources", "add", "https://example.org/feed", "--name", _HOSTILE)
    assert added.returncode == 0
    again = _run(config, db_path, "sources", "add", "https://example.org/feed", "--name", "x" + _HOSTILE)
    assert again.returncode == 2
    _run(config, db_path, "sources")
    _run(config, db_path, "opml", "export")
