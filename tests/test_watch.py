"""`newswatch watch`: new files are picked up on the next pass, SIGTERM/Ctrl-C stop it cleanly, and idle
passes write nothing (an open interface is not woken for nothing)."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from testkit.cli import newswatch_command
from tests.conftest import REPO, SEEDS, run_cli


def _count(db_path: Path) -> int:
    try:
        with sqlite3.connect(db_path) as conn:
            return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_watch_ingests_dropped_files_and_stops_cleanly(
    tmp_path: Path, db_path: Path, stop_signal: int
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SEEDS / "001_c5f6fc63b12b2367.txt", inbox)
    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\nname = "Inbox"\npath = "inbox"\n')
    process = subprocess.Popen(
        newswatch_command(config, db_path, "watch", "--tick", "0.3"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(lambda: _count(db_path) == 1), "the first pass did not ingest the folder"
        shutil.copy(SEEDS / "004_e450940936ede9e5.txt", inbox)
        assert _wait_for(lambda: _count(db_path) == 2), "a file dropped into the folder was not ingested"
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "1 new" in out


def test_idle_passes_do_not_touch_the_database(db_path: Path) -> None:
    run_cli("--db", str(db_path), "ingest", "--quiet")
    reader = sqlite3.connect(db_path)
    before = reader.execute("PRAGMA data_version").fetchone()[0]
    run_cli("--db", str(db_path), "ingest", "--quiet")
    run_cli("--db", str(db_path), "topics")
    run_cli("--db", str(db_path), "sources")
    assert reader.execute("PRAGMA data_version").fetchone()[0] == before
    reader.close()


def test_a_file_that_fails_keeps_its_error_on_the_source(tmp_path: Path, db_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.txt").write_text("")
    (tmp_path / "in" / "good.txt").write_text("A headline\n\nA body.\n")
    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\nname = "In"\npath = "in/*.txt"\n')
    base = ("--config", str(config), "--db", str(db_path))
    for _ in range(2):
        result = run_cli(*base, "ingest")
        assert "1 failed source" in result.stdout
        assert "empty.txt" in result.stderr
    assert _count(db_path) == 1


def test_another_ingest_running_is_said_once_per_episode(tmp_path: Path, db_path: Path) -> None:
    from store.lock import ingest_lock

    config = tmp_path / "c.toml"
    config.write_text(f'[[sources]]\nname = "Samples"\npath = "{SEEDS}/*.txt"\n')
    assert run_cli("--config", str(config), "--db", str(db_path), "sources").status == 0
    process = subprocess.Popen(
        newswatch_command(config, db_path, "watch", "--tick", "0.1"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(lambda: _count(db_path) == 5), "the first pass did not run"
        for _episode in range(2):
            with ingest_lock(db_path, wait=True):
                time.sleep(1.5)  # ~15 ticks while "another ingest" holds the lock
            time.sleep(0.5)  # a pass runs between the episodes
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    said = [line for line in err.splitlines() if "another ingest is running" in line]
    assert len(said) == 2, err
    assert said[0].endswith("; watch waits for it")
