"""Choosing the store: a file path is SQLite, a postgresql:// URL (--db, $NEWSWATCH_DB, `database =`) is a
PostgreSQL server; bad URLs and unreachable servers get one line naming them; psycopg loads only when used."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BUNDLED_CONFIG, REPO, run_cli


def _pg_count(url: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _undated(output: str) -> str:
    """The output without a digest's generation time, which the two runs may see in different seconds."""
    return re.sub(r'"generated_at": "[^"]*"', '"generated_at": "…"', output)


# Read-only commands whose whole output must be the same on both stores after the same ingest.
_SAME_OUTPUT = [
    ("articles", "--json"),
    ("search", "DPRK troops", "--json"),
    ("search", '"North Korea*" NOT title:Anadolu', "--json"),
    ("search", "source:samples deploy*", "--json"),
    ("stories", "--json"),
    ("stories", "--sort", "outlets", "--topic", "dprk troops", "--json"),
    ("topics",),
    ("topics", "test", "sanction*", "--since", "3000d"),
    ("alerts", "--dry-run", "--json"),
    ("digest", "--since", "2024-11-01", "--until", "2025-01-01", "--format", "json"),
]


def test_db_url_selects_postgresql_and_every_command_answers_as_on_sqlite(pg_url: str, db_path: Path) -> None:
    for target in (str(db_path), pg_url):
        ingest = run_cli("--config", str(BUNDLED_CONFIG), "--db", target, "ingest")
        assert ingest.status == 0, ingest.stderr
        assert ingest.stdout.startswith("5 new")
    # The rows are on the server, not in some file.
    assert _pg_count(pg_url, "SELECT count(*) FROM articles") == 5
    assert _pg_count(pg_url, "SELECT count(*) FROM stories") == 2
    for argv in _SAME_OUTPUT:
        on_sqlite = run_cli("--config", str(BUNDLED_CONFIG), "--utc", "--db", str(db_path), *argv)
        on_server = run_cli("--config", str(BUNDLED_CONFIG), "--utc", "--db", pg_url, *argv)
        assert on_sqlite.status == 0, (argv, on_sqlite.stderr)
        assert on_sqlite.stdout.strip(), argv
        assert (on_server.status, _undated(on_server.stdout), on_server.stderr) == (
            on_sqlite.status,
            _undated(on_sqlite.stdout),
            on_sqlite.stderr,
        ), argv
    # Writes too: reading a story on the server changes what the server lists, as on SQLite.
    for target in (str(db_path), pg_url):
        assert run_cli("--config", str(BUNDLED_CONFIG), "--db", target, "read", "1", "2").status == 0
    unread = [
        run_cli("--config", str(BUNDLED_CONFIG), "--db", t, "articles", "--unread", "--json")
        for t in (str(db_path), pg_url)
    ]
    assert unread[0].stdout == unread[1].stdout
    assert len(unread[1].json_lines()) < 5


def test_environment_and_config_select_postgresql_too(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSWATCH_DB", pg_url)
    assert run_cli("--config", str(BUNDLED_CONFIG), "ingest").status == 0
    assert _pg_count(pg_url, "SELECT count(*) FROM articles") == 5
    monkeypatch.delenv("NEWSWATCH_DB")
    config = tmp_path / "config.toml"
    text = BUNDLED_CONFIG.read_text(encoding="utf-8").replace('path = "seeds/', f'path = "{REPO}/seeds/')
    config.write_text(f'database = "{pg_url}"\n' + text, encoding="utf-8")
    sources = run_cli("--config", str(config), "sources")
    assert sources.status == 0, sources.stderr
    assert "5 articles" in sources.stdout
    assert not list(tmp_path.glob("*.db"))


def test_an_unreachable_server_is_one_line_naming_it(tmp_path: Path) -> None:
    url = f"postgresql://someone:secret@/nw?host={tmp_path}&port=1"
    result = run_cli("--config", str(BUNDLED_CONFIG), "--db", url, "articles")
    assert result.status == 1
    assert result.stderr.count("\n") == 1
    assert "cannot connect" in result.stderr and "postgresql://someone:***@/nw" in result.stderr
    assert "secret" not in result.stderr


def test_a_malformed_url_is_one_line() -> None:
    result = run_cli("--config", str(BUNDLED_CONFIG), "--db", "postgresql://u@h/db?bogus_option=1", "sources")
    assert result.status == 1
    assert result.stderr.count("\n") == 1
    assert "not a valid PostgreSQL URL" in result.stderr


def test_another_url_scheme_is_refused_not_taken_for_a_file(tmp_path: Path) -> None:
    result = run_cli("--config", str(BUNDLED_CONFIG), "--db", "mysql://u@h/db", "sources")
    assert result.status == 2
    assert "unsupported database URL scheme 'mysql'" in result.stderr
    config = tmp_path / "config.toml"
    config.write_text('database = "sqlite://x.db"\n', encoding="utf-8")
    result = run_cli("--config", str(config), "sources")
    assert result.status == 2
    assert "database: unsupported database URL scheme 'sqlite'" in result.stderr


def test_psycopg_is_imported_only_for_a_postgresql_store(db_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    probe = (
        "import sys; from newswatch.cli import main; "
        f"main(['--config', {str(BUNDLED_CONFIG)!r}, '--db', {str(db_path)!r}, 'ingest', '--quiet']); "
        "print('psycopg' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "False"


def test_a_newer_postgresql_schema_is_refused(pg_url: str) -> None:
    import psycopg

    from store.backends.postgres import SCHEMA_VERSION
    from store.db import StoreError, open_db

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = %s", [SCHEMA_VERSION + 1])
    with pytest.raises(StoreError, match="newer than this newswatch understands"):
        open_db(pg_url)


def test_a_new_postgresql_database_is_migrated_once_by_two_openers(pg_cluster) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from store.backends.postgres import SCHEMA_VERSION
    from store.db import open_db

    url = pg_cluster.empty_database()
    with ThreadPoolExecutor(2) as pool:
        dbs = list(pool.map(lambda _: open_db(url), range(2)))
    assert _pg_count(url, "SELECT version FROM schema_version") == SCHEMA_VERSION
    assert _pg_count(url, "SELECT count(*) FROM schema_version") == 1
    for db in dbs:
        assert {"article_rows", "user_state"} <= set(db.table_names())
        db.close()


def test_ingests_share_the_server_lock_and_regroup_keeps_them_out(pg_url: str) -> None:
    from store.lock import ingest_lock

    with ingest_lock(pg_url):  # another ingest, on another machine
        ingest = run_cli("--config", str(BUNDLED_CONFIG), "--db", pg_url, "ingest")
        assert ingest.status == 0 and ingest.stdout.startswith("5 new"), ingest.stderr
        regroup = run_cli("--config", str(BUNDLED_CONFIG), "--db", pg_url, "regroup")
        assert regroup.status == 1 and "another ingest is running" in regroup.stderr
    with ingest_lock(pg_url, exclusive=True):  # a regroup
        waiting = run_cli("--config", str(BUNDLED_CONFIG), "--db", pg_url, "ingest")
        assert waiting.status == 0 and waiting.stdout == ""
        assert "another ingest is running" in waiting.stderr and waiting.stderr.count("\n") == 1
    assert (
        run_cli("--config", str(BUNDLED_CONFIG), "--db", pg_url, "regroup").stdout == "regrouped 5 articles\n"
    )
