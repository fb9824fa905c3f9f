"""Per-user state on a team store: read and starred are each analyst's own (NEWSWATCH_USER, else the login
name); stories and the alert log are shared. On SQLite, one file is one user's, whoever runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BUNDLED_CONFIG, run_cli


def _as(user: str, target: str, *argv: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NEWSWATCH_USER", user)
    return run_cli("--config", str(BUNDLED_CONFIG), "--db", target, *argv)


def _unread(user: str, target: str, monkeypatch: pytest.MonkeyPatch) -> set[int]:
    result = _as(user, target, "articles", "--unread", "--json", monkeypatch=monkeypatch)
    return {row["id"] for row in result.json_lines()}


def test_each_analyst_has_their_own_read_and_starred_state(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _as("alice", pg_url, "ingest", "--quiet", monkeypatch=monkeypatch).status == 0
    everything = _unread("alice", pg_url, monkeypatch)
    assert len(everything) == 5
    stories = _as("alice", pg_url, "stories", "--json", monkeypatch=monkeypatch).json_lines()
    big = max(stories, key=lambda s: s["size"])
    assert _as("alice", pg_url, "read", "--story", str(big["id"]), monkeypatch=monkeypatch).status == 0
    assert _as("bob", pg_url, "star", str(big["lead_article_id"]), monkeypatch=monkeypatch).status == 0

    assert _unread("alice", pg_url, monkeypatch) == everything - set(big["article_ids"])
    assert _unread("bob", pg_url, monkeypatch) == everything
    starred = {
        user: [
            r["id"]
            for r in _as(
                user, pg_url, "articles", "--starred", "--json", monkeypatch=monkeypatch
            ).json_lines()
        ]
        for user in ("alice", "bob")
    }
    assert starred == {"alice": [], "bob": [big["lead_article_id"]]}
    # The stories are the team's; which of them are unread is each analyst's.
    unread_stories = {
        user: [
            s["id"]
            for s in _as(user, pg_url, "stories", "--unread", "--json", monkeypatch=monkeypatch).json_lines()
        ]
        for user in ("alice", "bob")
    }
    assert sorted(unread_stories["bob"]) == sorted(s["id"] for s in stories)
    assert unread_stories["alice"] == [s["id"] for s in stories if s["id"] != big["id"]]
    # Undoing is per user too.
    _as("alice", pg_url, "read", "--story", "--undo", str(big["id"]), monkeypatch=monkeypatch)
    assert _unread("alice", pg_url, monkeypatch) == everything


def test_the_alert_log_is_shared(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _as("alice", pg_url, "ingest", "--quiet", "--alerts", monkeypatch=monkeypatch)
    assert first.status == 0 and len(first.stdout.splitlines()) == 2
    # The team's cron printed them: nobody is alerted again for the same stories.
    assert _as("bob", pg_url, "alerts", monkeypatch=monkeypatch).stdout == ""


def test_the_login_name_is_the_default_user(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    from store.db import open_db

    monkeypatch.delenv("NEWSWATCH_USER", raising=False)
    monkeypatch.setenv("LOGNAME", "carol")
    monkeypatch.setenv("USER", "carol")
    assert getpass.getuser() == "carol"
    run_cli("--config", str(BUNDLED_CONFIG), "--db", pg_url, "ingest", "--quiet")
    run_cli("--config", str(BUNDLED_CONFIG), "--db", pg_url, "read", "1")
    db = open_db(pg_url)
    assert db.execute("SELECT user_name, article_id, read FROM user_state").fetchall() == [("carol", 1, 1)]
    db.close()


def test_state_stored_before_per_user_state_becomes_the_migrating_users(
    pg_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store.backends import postgres
    from store.db import open_db

    url = pg_cluster.empty_database()
    conn = postgres.connect(url)
    with conn.transaction():
        postgres.MIGRATIONS[0](conn)
        conn.execute("CREATE TABLE schema_version (version integer NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (1)")
        conn.execute(
            "INSERT INTO sources (id, name, kind, location, created_at) VALUES (1, 's', 'path', '', '')"
        )
        conn.execute(
            """INSERT INTO articles (id, source_id, guid, title, body, date_origin, sort_time, content_hash,
                   body_chars, first_seen, changed_at, read, starred)
               VALUES (1, 1, 'a', 't', 'b', 'feed', '', '', 0, '', '', 1, 1), (2, 1, 'b', 't', 'b', 'feed', '', '', 0, '', '', 0, 0)"""
        )
    conn.close()
    monkeypatch.setenv("NEWSWATCH_USER", "dana")
    db = open_db(url)
    assert db.execute("SELECT version FROM schema_version").fetchone()[0] == postgres.SCHEMA_VERSION
    assert db.execute("SELECT id, read, starred FROM articles ORDER BY id").fetchall() == [
        (1, 1, 1),
        (2, 0, 0),
    ]
    db.close()
    monkeypatch.setenv("NEWSWATCH_USER", "erin")
    db = open_db(url)
    assert db.execute("SELECT id, read, starred FROM articles ORDER BY id").fetchall() == [
        (1, 0, 0),
        (2, 0, 0),
    ]
    db.close()


def test_on_sqlite_the_file_is_one_users_whoever_runs_it(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = str(db_path)
    _as("alice", target, "ingest", "--quiet", monkeypatch=monkeypatch)
    _as("alice", target, "read", "1", monkeypatch=monkeypatch)
    assert 1 not in _unread("bob", target, monkeypatch)
    assert _unread("bob", target, monkeypatch) == _unread("alice", target, monkeypatch)
