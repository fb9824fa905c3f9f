"""`newswatch migrate --from FILE.db --to postgresql://…`: a real SQLite store copied to a real server, the
copy answering every command as the file did, resumable after an interruption, and its counts verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BUNDLED_CONFIG, run_cli
from tests.test_backends import _SAME_OUTPUT


def _cli(target: str, *argv: str):
    return run_cli("--config", str(BUNDLED_CONFIG), "--utc", "--db", target, *argv)


def _store_with_state(db_path: Path) -> None:
    """The seeds, with alerts printed, two articles read and one starred."""
    assert _cli(str(db_path), "ingest", "--quiet", "--alerts").status == 0
    assert _cli(str(db_path), "read", "1", "2").status == 0
    assert _cli(str(db_path), "star", "5").status == 0


def test_a_migrated_store_answers_as_the_file_did(
    db_path: Path, pg_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSWATCH_USER", "analyst")
    _store_with_state(db_path)
    url = pg_cluster.empty_database()
    moved = run_cli("migrate", "--from", str(db_path), "--to", url)
    assert moved.status == 0, moved.stderr
    assert "5 article_rows" in moved.stdout and "every table's count matches" in moved.stdout
    for argv in [*_SAME_OUTPUT, ("articles", "--unread", "--json"), ("articles", "--starred", "--json")]:
        on_file, on_server = _cli(str(db_path), *argv), _cli(url, *argv)
        assert on_file.stdout.strip() or argv[0] == "alerts", argv
        assert (on_server.status, on_server.stdout) == (on_file.status, on_file.stdout), argv
    # The alerts printed from the file are remembered: the team is not alerted again.
    assert _cli(url, "alerts").stdout == ""
    # Another analyst starts with everything unread.
    monkeypatch.setenv("NEWSWATCH_USER", "colleague")
    assert len(_cli(url, "articles", "--unread", "--json").json_lines()) == 5
    # New articles continue the ids, and the copy keeps growing as a store of its own.
    assert _cli(url, "regroup").status == 0
    assert _cli(url, "stories", "--json").stdout == _cli(str(db_path), "stories", "--json").stdout


def test_an_interrupted_migration_resumes_and_a_repeated_one_changes_nothing(
    db_path: Path, pg_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store.backends.postgres import open_postgres
    from store.backends.sqlite_to_postgres import copy_store
    from store.db import open_db

    monkeypatch.setenv("NEWSWATCH_USER", "analyst")
    _store_with_state(db_path)
    url = pg_cluster.empty_database()
    seen: list[tuple[str, int, int]] = []

    def stop_in_the_middle(table: str, done: int, total: int) -> None:
        seen.append((table, done, total))
        if table == "article_rows" and done == 3:
            raise KeyboardInterrupt

    sqlite, pg = open_db(db_path), open_postgres(url)
    with pytest.raises(KeyboardInterrupt):
        copy_store(sqlite, pg, progress=stop_in_the_middle, chunk=1)
    assert pg.execute("SELECT count(*) FROM article_rows").fetchone()[0] == 3
    assert pg.execute("SELECT count(*) FROM stories").fetchone()[0] == 0
    seen.clear()
    counts = copy_store(sqlite, pg, progress=lambda *step: seen.append(step), chunk=1)
    # It went on after the third article, not from the start.
    assert [step for step in seen if step[0] == "article_rows"] == [
        ("article_rows", 4, 5),
        ("article_rows", 5, 5),
    ]
    assert counts["article_rows"] == 5 and counts["user_state"] == 3
    before = pg.execute("SELECT count(*), max(id) FROM article_rows").fetchone()
    assert copy_store(sqlite, pg, chunk=1) == counts
    assert pg.execute("SELECT count(*), max(id) FROM article_rows").fetchone() == before
    pg.close()
    sqlite.conn.close()


def test_a_copy_that_differs_is_reported_by_table(db_path: Path, pg_cluster) -> None:
    _store_with_state(db_path)
    url = pg_cluster.empty_database()
    assert run_cli("migrate", "--from", str(db_path), "--to", url, "--quiet").status == 0
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM article_topics WHERE article_id = (SELECT min(article_id) FROM article_topics)"
        )
    again = run_cli("migrate", "--from", str(db_path), "--to", url, "--quiet")
    assert again.status == 1
    assert again.stderr.count("\n") == 1
    assert "article_topics 5 rows, article_topics 6" in again.stderr


def test_bad_arguments_are_one_line(tmp_path: Path) -> None:
    not_url = run_cli("migrate", "--from", str(tmp_path / "x.db"), "--to", str(tmp_path / "y.db"))
    assert not_url.status == 2 and "--to must be a postgresql:// URL" in not_url.stderr
    missing = run_cli("migrate", "--from", str(tmp_path / "x.db"), "--to", "postgresql://u@/db")
    assert missing.status == 2 and "no such database file" in missing.stderr
