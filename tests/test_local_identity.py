"""A local file's identity is its path relative to the source root: files with one name in different
subfolders are different articles, and databases from before keep their article ids."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from feeds.paths import local_guid, source_root
from store import schema
from store.db import open_db
from tests.conftest import run_cli

# The schema version of a store from before the file-identity migration.
BEFORE_FILE_IDENTITY = schema.MIGRATIONS.index(schema._v6_local_guids_are_relative_paths)


def _folder_source(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "site"
    for year in ("2023", "2024"):
        (root / year).mkdir(parents=True)
        (root / year / "index.md").write_text(
            f"# Review of {year}\n\n5 November {year}\n\nWhat happened in {year}, in brief.\n"
        )
    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\nname = "Site"\npath = "site"\n')
    return root, config


def _articles(db_path: Path) -> dict[str, tuple[int, str]]:
    with sqlite3.connect(db_path) as conn:
        return {
            guid: (id_, title) for id_, guid, title in conn.execute("SELECT id, guid, title FROM articles")
        }


def test_source_root_and_guid() -> None:
    assert source_root("/data/news/*.txt") == Path("/data/news")
    assert source_root("/data/*/index.md") == Path("/data")
    assert local_guid("/data/2023/index.md", Path("/data")) == "2023/index.md"
    assert local_guid("/elsewhere/a.md", Path("/data")) == "a.md"


def test_same_name_in_two_subfolders_is_two_articles(tmp_path: Path, db_path: Path) -> None:
    root, config = _folder_source(tmp_path)
    first = run_cli("--config", str(config), "--db", str(db_path), "ingest")
    assert first.status == 0, first.stderr
    assert first.stdout.startswith("2 new, 0 updated")
    stored = _articles(db_path)
    assert sorted(stored) == ["2023/index.md", "2024/index.md"]

    # Touching one file (same text) is not a change; editing it updates that article only.
    later = os.stat(root / "2023" / "index.md").st_mtime_ns + 5_000_000_000
    os.utime(root / "2023" / "index.md", ns=(later, later))
    touched = run_cli("--config", str(config), "--db", str(db_path), "ingest")
    assert touched.stdout.startswith("0 new, 0 updated, 2 unchanged"), touched.stdout
    (root / "2024" / "index.md").write_text(
        "# Review of 2024, revised\n\n5 November 2024\n\nWhat happened.\n"
    )
    edited = run_cli("--config", str(config), "--db", str(db_path), "ingest")
    assert edited.stdout.startswith("0 new, 1 updated, 1 unchanged"), edited.stdout
    after = _articles(db_path)
    assert after["2023/index.md"] == stored["2023/index.md"]
    assert after["2024/index.md"] == (stored["2024/index.md"][0], "Review of 2024, revised")


def test_migration_keeps_article_ids_and_recovers_the_overwritten_file(tmp_path: Path, db_path: Path) -> None:
    root, config = _folder_source(tmp_path)
    # The state the old identity (the file name) left behind: the 2024 file stored as "index.md", having
    # overwritten the 2023 one, both files remembered as read, schema version 4.
    hidden = tmp_path / "index.md.2023"
    (root / "2023" / "index.md").rename(hidden)
    assert run_cli("--config", str(config), "--db", str(db_path), "ingest").status == 0
    hidden.rename(root / "2023" / "index.md")
    info = os.stat(root / "2023" / "index.md")
    with sqlite3.connect(db_path) as conn:
        kept_id = conn.execute("SELECT id FROM articles").fetchone()[0]
        conn.execute("UPDATE articles SET guid = 'index.md'")
        conn.execute(
            "INSERT INTO source_files (source_id, path, mtime_ns, size, articles) SELECT id, ?, ?, ?, 1 FROM sources",
            [str(root / "2023" / "index.md"), info.st_mtime_ns, info.st_size],
        )
        conn.execute(f"PRAGMA user_version = {BEFORE_FILE_IDENTITY}")
    open_db(db_path).conn.close()
    assert _articles(db_path) == {"2024/index.md": (kept_id, "Review of 2024")}

    result = run_cli("--config", str(config), "--db", str(db_path), "ingest")
    assert result.stdout.startswith("1 new, 0 updated, 1 unchanged"), result.stdout
    after = _articles(db_path)
    assert after["2024/index.md"] == (kept_id, "Review of 2024")
    assert after["2023/index.md"][1] == "Review of 2023"


def test_migration_leaves_flat_folders_alone(tmp_path: Path, db_path: Path, seed_config: Path) -> None:
    assert run_cli("--config", str(seed_config), "--db", str(db_path), "ingest").status == 0
    before = _articles(db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {BEFORE_FILE_IDENTITY}")
    open_db(db_path).conn.close()
    assert _articles(db_path) == before
    again = run_cli("--config", str(seed_config), "--db", str(db_path), "ingest")
    assert again.stdout.startswith("0 new, 0 updated, 5 unchanged"), again.stdout
