"""Several processes on one database: no "database is locked" reaches the user, nothing lost or doubled.

Real processes throughout: `newswatch ingest` / `watch` / `alerts` / `articles` as child processes, a
simulated TUI (a child process with its own connections that holds read transactions, polls
`PRAGMA data_version` and marks articles read, as store/connections.py does) and a local HTTP server. Each test runs
on an SQLite file and on a PostgreSQL database (`store_target`).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from testkit.cli import newswatch_command
from testkit.feedserver import FeedServer, Request, Response, make_rss
from tests.conftest import REPO

FEEDS, ITEMS = 16, 40
EXPECTED = FEEDS * ITEMS


def _serve(
    server: FeedServer, tmp_path: Path, *, delay: float = 0.0, feeds: int = FEEDS, items: int = ITEMS
) -> Path:
    """`feeds` feeds of `items` items; `delay` slows every response so that runs overlap."""
    text = ""
    for n in range(feeds):
        body = make_rss(f"Outlet {n}", items, feed_id=f"o{n}", link_base=f"https://o{n}.example")
        server.route(
            f"/c/{n}.xml",
            lambda _r, body=body: Response(200, {"Content-Type": "application/rss+xml"}, body, delay=delay),
        )
        text += f'[[sources]]\nname = "Outlet {n}"\nurl = "{server.url(f"/c/{n}.xml")}"\ninterval = "1s"\n\n'
    text += '[topics.Events]\nquery = "events"\n[topics.Paragraph]\nquery = "paragraph AND report"\nalert = true\n'
    config = tmp_path / "concurrency.toml"
    config.write_text(text)
    return config


def _cli(config: Path, db: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        newswatch_command(config, db, *args),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str], timeout: float = 90) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def _no_lock_errors(*texts: str) -> None:
    for text in texts:
        assert "locked" not in text.lower() and "busy" not in text.lower(), text
        assert "Traceback" not in text, text


def _exact(target: str, feeds: int = FEEDS, items: int = ITEMS) -> None:
    """Every item once, every article tagged and placed; integrity intact."""
    expected = feeds * items
    from store.db import open_db

    conn = open_db(target)
    try:
        if not target.startswith("postgresql://"):
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM articles").fetchone() == (expected,)
        assert conn.execute("SELECT count(DISTINCT source_id || '/' || guid) FROM articles").fetchone() == (
            expected,
        )
        per_source = [tuple(row) for row in conn.execute("SELECT count(*) FROM articles GROUP BY source_id")]
        assert per_source == [(items,)] * feeds
        assert conn.execute("SELECT count(*) FROM articles WHERE story_id IS NULL").fetchone() == (0,)
        # Every item says "report on events": one Events tag per article, no more.
        events = conn.execute(
            "SELECT count(*), count(DISTINCT at.article_id) FROM article_topics at JOIN topics t "
            "ON t.id = at.topic_id WHERE t.name = 'Events'"
        ).fetchone()
        assert tuple(events) == (expected, expected)
    finally:
        conn.conn.close()


# A stand-in for the TUI: read transactions held for a while, data_version polls, and user-state writes
# through the same store functions and write_batch the TUI uses. Any exception is recorded, as is every
# time a read saw a source half-written (its batch is one transaction, so 0 or ITEMS articles only).
_READER = r"""
import json, sys, time, traceback
from pathlib import Path
from store.articles import set_read
from store.db import data_version, open_db, write_batch

db_path, stop, out, items = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
report = {"reads": 0, "writes": 0, "errors": [], "torn": [], "versions": 0, "max_seen": 0}
while not db_path.startswith("postgresql://") and not Path(db_path).exists() and not stop.exists():
    time.sleep(0.01)
try:
    reader, writer = open_db(db_path), open_db(db_path)
    last_version = None
    while not stop.exists():
        try:
            reader.conn.execute("BEGIN")
            counts = [n for (n,) in reader.conn.execute("SELECT count(*) FROM articles GROUP BY source_id")]
            untagged = reader.conn.execute(
                # Story placement follows storing, in its own chunks (canonical order needs the whole pass's
                # articles), so an article may be seen briefly without a story, never without its tags.
                "SELECT count(*) FROM articles a WHERE NOT EXISTS "
                "(SELECT 1 FROM article_topics at WHERE at.article_id = a.id)").fetchone()[0]
            time.sleep(0.03)  # a screen being drawn while the snapshot is held
            ids = [i for (i,) in reader.conn.execute("SELECT id FROM articles ORDER BY random() LIMIT 5")]
            reader.conn.execute("COMMIT")
            report["reads"] += 1
            report["max_seen"] = max(report["max_seen"], sum(counts))
            if any(n not in (0, items) for n in counts) or untagged:
                report["torn"].append([counts, untagged])
            version = data_version(reader)
            report["versions"] += version != last_version
            last_version = version
            if ids and report["reads"] % 3 == 0:
                with write_batch(writer):
                    set_read(writer, ids)
                report["writes"] += 1
        except Exception as error:
            if reader.conn.in_transaction:
                reader.conn.execute("ROLLBACK")
            report["errors"].append(f"{type(error).__name__}: {error}")
            time.sleep(0.05)
except Exception:
    report["errors"].append(traceback.format_exc())
Path(out).write_text(json.dumps(report))
"""


class Reader:
    def __init__(self, db: str, tmp_path: Path) -> None:
        self.stop_file = tmp_path / "reader.stop"
        self.out_file = tmp_path / "reader.json"
        self.process = subprocess.Popen(
            [sys.executable, "-c", _READER, str(db), str(self.stop_file), str(self.out_file), str(ITEMS)],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self) -> dict:
        self.stop_file.touch()
        _out, err = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, err
        return json.loads(self.out_file.read_text())


def test_cron_ingests_while_the_tui_reads_and_writes(
    feed_server: FeedServer, tmp_path: Path, store_target: str
) -> None:
    config = _serve(feed_server, tmp_path, delay=0.05)
    db = store_target
    reader = Reader(db, tmp_path)
    runs = []
    for _attempt in range(2):  # the first stores everything, the second finds it all unchanged
        runs.append(_finish(_cli(config, db, "ingest", "--force")))
        time.sleep(0.2)
    report = reader.finish()
    print(f"\nreader during cron ingests: {report['reads']} reads, {report['writes']} read-flag writes")
    for status, out, err in runs:
        assert status == 0, err
        _no_lock_errors(out, err)
    assert runs[0][1].startswith(f"{EXPECTED} new,")
    assert runs[1][1].startswith(f"0 new, 0 updated, {EXPECTED} unchanged")
    assert report["errors"] == [] and report["torn"] == [], report
    assert report["reads"] > 10 and report["writes"] > 3
    assert report["max_seen"] == EXPECTED and report["versions"] > 1
    _exact(db)


def test_two_ingests_started_at_once(feed_server: FeedServer, tmp_path: Path, store_target: str) -> None:
    config = _serve(feed_server, tmp_path, delay=0.1)
    db = store_target
    skipped = 0
    for _round in range(2):  # round 1 on a fresh database: both race to create it
        first, second = _cli(config, db, "ingest", "--force"), _cli(config, db, "ingest", "--force")
        results = [_finish(first), _finish(second)]
        for status, out, err in results:
            assert status == 0, err
            _no_lock_errors(out, err)
        skipped += sum("another ingest is running" in err for _s, _o, err in results)
        _exact(db)
        if db.startswith("postgresql://") and _round == 0:
            # On a server store both run, each reading the sources the other does not hold: every item once.
            assert sum(int(out.split()[0]) for _s, out, _e in results) == EXPECTED
    print(f"\ntwo ingests at once: {skipped} of 4 runs skipped because the other held the lock")
    assert skipped == 0 if db.startswith("postgresql://") else skipped >= 1


def test_watch_with_a_manual_ingest_and_other_commands(
    feed_server: FeedServer, tmp_path: Path, store_target: str
) -> None:
    # Slow responses: the watch's first pass holds the ingest lock for ~2 s.
    config = _serve(feed_server, tmp_path, delay=0.5)
    db = store_target
    seen_first = []
    # Know when the watch's first pass is fetching, to start the others in the middle of it.
    inner = feed_server.routes["/c/0.xml"]

    def first(request: Request) -> Response:
        seen_first.append(time.monotonic())
        return inner(request)

    feed_server.route("/c/0.xml", first)
    watch = _cli(config, db, "watch", "--alerts")
    deadline = time.monotonic() + 30
    while not seen_first and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen_first, "watch never fetched"
    others = [
        _cli(config, db, "ingest", "--force"),
        _cli(config, db, "alerts"),
        _cli(config, db, "articles", "--limit", "5"),
        _cli(config, db, "sources"),
    ]
    results = [_finish(process) for process in others]
    # Once the watch's pass ends (fetching, storing, then placing stories), the next manual ingest runs.
    deadline = time.monotonic() + 30
    while True:
        time.sleep(0.5)
        after = _finish(_cli(config, db, "ingest"))
        if "another ingest" not in after[2] or time.monotonic() > deadline:
            break
    watch.send_signal(signal.SIGTERM)
    watch_result = _finish(watch, timeout=30)
    for status, out, err in [*results, after, watch_result]:
        assert status == 0, err
        _no_lock_errors(out, err)
    if db.startswith("postgresql://"):
        # On a server store the manual ingest ran beside the watch, on the sources the watch did not hold.
        assert "another ingest" not in results[0][2] and results[0][1].endswith("failed sources\n")
    else:
        # The manual ingest met the watch's pass: told why it did nothing, exit 0, no error.
        assert "another ingest is running" in results[0][2] and results[0][1] == ""
    assert results[3][1].count("articles") == FEEDS  # `sources` listed them all meanwhile
    assert after[1].startswith("0 new,") and "another ingest" not in after[2]
    _exact(db)


_OPENER = r"""
import sys, time
from store.db import open_db, write_batch
start = float(sys.argv[2])
while time.time() < start:
    pass
try:
    db = open_db(sys.argv[1])
    with write_batch(db):
        db.execute("SELECT count(*) FROM articles").fetchone()
    print("ok")
except Exception as error:
    print(f"{type(error).__name__}: {error}")
"""


def test_processes_opening_a_new_database_together(tmp_path: Path) -> None:
    """The TUI and the first cron ingest may create the database at the same moment. Switching a new file to
    WAL needs an exclusive lock that SQLite does not wait for: this failed with "database is locked" in
    about one round in ten before store.db waited for it."""
    failures = []
    for round_ in range(15):
        db = tmp_path / f"fresh{round_}.db"
        start = time.time() + 0.25  # past every child's interpreter start-up, so they open together
        openers = [
            subprocess.Popen(
                [sys.executable, "-c", _OPENER, str(db), str(start)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        failures += [
            out.strip() for out in (p.communicate(timeout=60)[0] for p in openers) if out.strip() != "ok"
        ]
    assert failures == []


def test_three_ingest_processes_one_killed_store_every_item_once(
    feed_server: FeedServer, tmp_path: Path, pg_url: str
) -> None:
    """Several ingest processes on one server store split its sources; killing one in the middle loses
    nothing committed and doubles nothing: the next pass reads what it held, and every item is stored,
    tagged and placed once."""
    feeds, items = 96, 10
    config = _serve(feed_server, tmp_path, delay=0.4, feeds=feeds, items=items)
    workers = [_cli(config, pg_url, "ingest", "--force") for _ in range(3)]
    deadline = time.monotonic() + 60
    while sum(len(feed_server.requests_for(f"/c/{n}.xml")) for n in range(feeds)) < 40:
        assert time.monotonic() < deadline, "the workers never fetched"
        time.sleep(0.01)
    workers[1].kill()  # SIGKILL: no cleanup, its connection simply drops
    killed = _finish(workers[1])
    survivors = [_finish(workers[0]), _finish(workers[2])]
    for status, out, err in survivors:
        assert status == 0, err
        _no_lock_errors(out, err)
    assert killed[0] == -signal.SIGKILL
    # The next run (cron's next tick) reads whatever the killed one held and had not committed.
    final = _finish(_cli(config, pg_url, "ingest", "--force"))
    assert final[0] == 0, final[2]
    new = [int(out.split()[0]) for _s, out, _e in [*survivors, final]]
    print(f"\nthree ingests, one killed: new per survivor and next pass: {new}")
    assert sum(n > 0 for n in new[:2]) == 2  # the survivors shared the work
    _exact(pg_url, feeds, items)
    # Each feed was read by one process in the first round: 96 feeds, at most one extra read each for the
    # sources the killed one held, never a read per process.
    reads = [len(feed_server.requests_for(f"/c/{n}.xml")) for n in range(feeds)]
    assert max(reads) <= 3 and sum(reads) < 2 * feeds
    alerts = _finish(_cli(config, pg_url, "alerts", "--json"))
    assert alerts[0] == 0 and len(alerts[1].splitlines()) == len({*_story_ids(pg_url, "Paragraph")})


def _story_ids(target: str, topic: str) -> list[int]:
    from store.db import open_db

    db = open_db(target)
    try:
        return [
            row[0]
            for row in db.execute(
                "SELECT DISTINCT a.story_id FROM articles a JOIN article_topics at ON at.article_id = a.id"
                " JOIN topics t ON t.id = at.topic_id WHERE t.name = ?",
                [topic],
            )
        ]
    finally:
        db.conn.close()
