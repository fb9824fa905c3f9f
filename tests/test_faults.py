"""Fault injection through the real CLI, a real SQLite file and a real HTTP server on 127.0.0.1.

One ingest serves 100 healthy feeds beside every fault in testkit/faults.py (also a benchmark that prints
the same suite as a table); then politeness (Retry-After, backoff, ttl/max-age, 304, host spacing), the run
deadline, caps, and every file of the shared eval corpus served as a feed.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.fetch import FetchRequest, fetch_all
from feeds.limits import DEFAULT_HOST_GAP, FetchLimits
from testkit.faults import (
    FAULTS,
    REFUSED,
    RUN_DEADLINE,
    XXE_DTD_PATH,
    articles_of,
    install,
    run_ingest,
    source_rows,
    write_config,
)
from testkit.feedserver import FeedServer, Request, Response, make_rss
from tests.conftest import SHARED_EVAL, run_cli

HEALTHY, ITEMS = 100, 10
# Measured ~65 MiB for the whole suite (1 GiB gzip bomb and 1 GiB body included); well above is a leak.
MAX_RSS_MIB = 250


def _time(text: str | None) -> datetime:
    assert text, "expected a stored time"
    return datetime.fromisoformat(text)


def test_fault_suite_one_run(feed_server: FeedServer, tmp_path: Path) -> None:
    faults = (*FAULTS, REFUSED)
    sources = install(feed_server, healthy=HEALTHY, items=ITEMS, faults=faults)
    db = tmp_path / "faults.db"
    run = run_ingest(write_config(tmp_path / "faults.toml", sources), db)
    print(f"\nfault suite: {len(sources)} sources, {run.wall:.2f} s, peak RSS {run.peak_rss_mib:.1f} MiB")

    assert run.status == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.wall < RUN_DEADLINE, "the run must end within its deadline"
    assert run.peak_rss_mib < MAX_RSS_MIB
    rows = source_rows(db)
    for n in range(HEALTHY):
        row = rows[f"ok-{n}"]
        assert (row["articles"], row["last_error"]) == (ITEMS, None), row

    failing = [f for f in faults if f.expect_error]
    for fault in failing:
        error = rows[fault.kind]["last_error"]
        print(f"  {fault.kind}: {error}")
        assert error and fault.expect_error in error, (fault.kind, error)
        assert "\n" not in error and len(error) < 600
        assert rows[fault.kind]["articles"] == 0
        # Each failure is one line on stderr, prefixed with the source's name.
        [line] = [line for line in run.stderr.splitlines() if line.startswith(f"newswatch: {fault.kind}: ")]
        assert error in line
    stored = sum(1 for f in faults if not f.expect_error)
    assert run.stdout.strip() == (
        f"{HEALTHY * ITEMS + stored:,} new, 0 updated, 0 unchanged, {len(failing)} failed sources"
    )

    # Retry-After is stored as the earliest next fetch.
    limited = rows["429 + Retry-After"]
    wait = _time(limited["next_fetch_after"]) - _time(limited["last_attempt_at"])
    assert timedelta(seconds=110) <= wait <= timedelta(seconds=130)

    # Wrong charset: readable text, not mojibake.
    [charset] = articles_of(db, "wrong charset (latin-1 sent as utf-8)")
    assert (charset["title"], charset["body"]) == ("Café crème", "naïve été")

    # Billion laughs: entities stay literal, nothing is expanded.
    [laughs] = articles_of(db, "billion laughs")
    assert "lollol" not in laughs["title"] + laughs["body"]
    assert len(laughs["body"]) < 200

    # XXE: no local file read, no external DTD fetched.
    [xxe] = articles_of(db, "XXE")
    passwd = Path("/etc/passwd").read_text(errors="replace")[:30] if Path("/etc/passwd").exists() else "root:"
    assert passwd not in xxe["title"] + xxe["body"] and "root:" not in xxe["body"]
    assert "from the remote DTD" not in xxe["title"] + xxe["body"]
    assert feed_server.requests_for(XXE_DTD_PATH) == []


def test_run_deadline_ends_the_run_and_records_what_was_not_fetched(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.slow("/hang.xml", delay=120)
    sources = {"Hang": feed_server.url("/hang.xml")}
    for n in range(5):
        feed_server.feed(f"/q{n}.xml", make_rss(f"Queued {n}", 2, feed_id=f"q{n}"))
        sources[f"Queued {n}"] = feed_server.url(f"/q{n}.xml")
    # One request at a time: the hang holds the only slot, the others wait behind it until the deadline.
    settings = {"timeout": 60, "deadline": 60, "run_deadline": 2, "concurrency": 1, "per_host": 1}
    db = tmp_path / "deadline.db"
    run = run_ingest(write_config(tmp_path / "deadline.toml", sources, settings), db)
    assert run.status == 0, run.stderr
    assert run.wall < 2 + 4  # deadline plus interpreter start and a clean shutdown
    rows = source_rows(db)
    for name in sources:
        assert rows[name]["last_error"] == "not fetched: run deadline reached", rows[name]
        # Not the feed's fault: due again on the next pass, no backoff.
        assert rows[name]["next_fetch_after"] is None
    assert run.stdout.strip() == "0 new, 0 updated, 0 unchanged, 6 failed sources"

    # The next pass, with time to spare, fetches them.
    feed_server.feed("/hang.xml", make_rss("Hang", 1, feed_id="h"))
    settings["run_deadline"] = 30
    again = run_ingest(write_config(tmp_path / "deadline.toml", sources, settings), db)
    assert again.stdout.strip() == "11 new, 0 updated, 0 unchanged, 0 failed sources"


def _ingest(config: Path, db: Path, *extra: str):
    return run_cli("--config", str(config), "--db", str(db), "ingest", *extra)


def _config(tmp_path: Path, sources: dict[str, str], extra: str = "") -> Path:
    text = "".join(f'[[sources]]\nname = "{n}"\nurl = "{u}"\ninterval = "1h"\n\n' for n, u in sources.items())
    path = tmp_path / "polite.toml"
    path.write_text(text + extra)
    return path


def _source(db: Path, name: str) -> dict:
    return source_rows(db)[name]


def _make_due(db: Path) -> None:
    """Stand-in for waiting: move every source's earliest next fetch into the past."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE sources SET next_fetch_after = '2000-01-01T00:00:00+00:00'")
    _interval_passed(db)


def _interval_passed(db: Path) -> None:
    """Stand-in for waiting out the sources' `interval` (which `ingest` honours), not their ttl or backoff."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE sources SET last_attempt_at = '2000-01-01T00:00:00+00:00'")


def test_retry_after_is_honoured_even_with_force(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    feed_server.status("/busy.xml", 503, headers={"Retry-After": "3600"})
    date = (datetime.now().astimezone() + timedelta(hours=2)).strftime("%a, %d %b %Y %H:%M:%S %z")
    feed_server.status("/dated.xml", 429, headers={"Retry-After": date})
    config = _config(tmp_path, {"Busy": feed_server.url("/busy.xml"), "Dated": feed_server.url("/dated.xml")})
    first = _ingest(config, db_path)
    assert "HTTP 503 Service Unavailable" in first.stderr and "HTTP 429" in first.stderr
    busy, dated = _source(db_path, "Busy"), _source(db_path, "Dated")
    assert _time(busy["next_fetch_after"]) - _time(busy["last_attempt_at"]) == timedelta(hours=1)
    waited = _time(dated["next_fetch_after"]) - _time(dated["last_attempt_at"])
    assert timedelta(minutes=115) <= waited <= timedelta(hours=2)
    second = _ingest(config, db_path, "--force")
    assert second.stdout.strip().endswith("2 not due")
    assert len(feed_server.requests_for("/busy.xml")) == 1
    assert len(feed_server.requests_for("/dated.xml")) == 1


def test_repeated_failures_back_off_exponentially_with_a_cap(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    feed_server.status("/down.xml", 500)
    config = _config(tmp_path, {"Down": feed_server.url("/down.xml")})
    waits = []
    for _attempt in range(5):
        _make_due(db_path) if db_path.exists() else None
        _ingest(config, db_path)
        row = _source(db_path, "Down")
        waits.append(_time(row["next_fetch_after"]) - _time(row["last_attempt_at"]))
    hour = timedelta(hours=1)
    # 1st failure: retried next pass; then 1, 2, 4 intervals (1 h each), capped at 6 h.
    assert waits == [timedelta(0), hour, 2 * hour, 4 * hour, 6 * hour]
    assert _source(db_path, "Down")["consecutive_failures"] == 5
    assert _ingest(config, db_path, "--force").stdout.strip().endswith("1 not due")
    assert len(feed_server.requests_for("/down.xml")) == 5
    # A success resets the count.
    feed_server.feed("/down.xml", make_rss("Back", 1))
    _make_due(db_path)
    _ingest(config, db_path)
    assert _source(db_path, "Down")["consecutive_failures"] == 0


def test_ttl_and_max_age_are_lower_bounds_and_a_304_is_not_refetched(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    ttl_feed = make_rss("Ttl", 2, feed_id="t").replace(
        b"<description>test feed", b"<ttl>90</ttl><description>x"
    )
    feed_server.feed("/ttl.xml", ttl_feed)
    feed_server.feed(
        "/cached.xml", make_rss("Cached", 2, feed_id="c"), headers={"Cache-Control": "max-age=600"}
    )
    feed_server.feed("/etag.xml", make_rss("Etag", 2, feed_id="e"), etag='"v1"')
    config = _config(
        tmp_path,
        {"Ttl": feed_server.url("/ttl.xml"), "Cached": feed_server.url("/cached.xml"),
         "Etag": feed_server.url("/etag.xml")},
    )  # fmt: skip
    assert _ingest(config, db_path).stdout.strip() == "6 new, 0 updated, 0 unchanged, 0 failed sources"
    ttl, cached = _source(db_path, "Ttl"), _source(db_path, "Cached")
    assert _time(ttl["next_fetch_after"]) - _time(ttl["last_attempt_at"]) == timedelta(minutes=90)
    assert _time(cached["next_fetch_after"]) - _time(cached["last_attempt_at"]) == timedelta(minutes=10)

    _interval_passed(db_path)
    second = _ingest(config, db_path)
    assert second.stdout.strip() == "0 new, 0 updated, 2 unchanged, 0 failed sources, 2 not due"
    assert len(feed_server.requests_for("/ttl.xml")) == 1
    assert len(feed_server.requests_for("/cached.xml")) == 1
    # The 304: one conditional request, no unconditional retry, nothing re-downloaded.
    etag_requests = feed_server.requests_for("/etag.xml")
    assert len(etag_requests) == 2 and etag_requests[1]["if-none-match"] == '"v1"'

    # A 304 that carries max-age also sets the next poll.
    feed_server.route("/etag.xml", lambda _r: Response(304, {"ETag": '"v1"', "Cache-Control": "max-age=900"}))
    _ingest(config, db_path, "--force")
    etag = _source(db_path, "Etag")
    assert len(feed_server.requests_for("/etag.xml")) == 3
    assert _time(etag["next_fetch_after"]) - _time(etag["last_attempt_at"]) == timedelta(minutes=15)
    _interval_passed(db_path)
    assert _ingest(config, db_path).stdout.strip().endswith("3 not due")
    assert len(feed_server.requests_for("/etag.xml")) == 3


def _timed_routes(server: FeedServer, paths: list[str]) -> list[tuple[str, float]]:
    """Wrap routes to record when each request arrived."""
    arrivals: list[tuple[str, float]] = []
    for path in paths:
        inner = server.routes[path]

        def route(request: Request, inner=inner, path=path) -> Response:
            arrivals.append((path, time.monotonic()))
            return inner(request)

        server.route(path, route)
    return arrivals


def test_requests_to_one_host_are_spaced_through_the_cli(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    paths = [f"/s{n}.xml" for n in range(5)]
    for n, path in enumerate(paths):
        feed_server.feed(path, make_rss(f"Spaced {n}", 1, feed_id=f"s{n}"))
    arrivals = _timed_routes(feed_server, paths)
    config = _config(
        tmp_path, {f"S{n}": feed_server.url(p) for n, p in enumerate(paths)}, "[fetch]\nhost_gap = 0.3\n"
    )
    assert _ingest(config, db_path).stdout.startswith("5 new")
    times = sorted(t for _path, t in arrivals)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Starts are spaced at the client; arrival at the server jitters by a few milliseconds.
    assert len(times) == 5 and min(gaps) >= 0.2 and times[-1] - times[0] >= 4 * 0.3 - 0.05, gaps


def test_host_gap_applies_per_host_and_spares_loopback_by_default(feed_server: FeedServer) -> None:
    assert FetchLimits().gap_for("example.com") == DEFAULT_HOST_GAP > 0
    for host in ("127.0.0.1", "127.1.2.3", "localhost", "feeds.localhost", "::1", "[::1]"):
        assert FetchLimits().gap_for(host) == 0.0, host
    assert FetchLimits(host_gap=0.5).gap_for("127.0.0.1") == 0.5
    assert FetchLimits(host_gap=0).gap_for("example.com") == 0.0

    paths = ["/a.xml", "/b.xml", "/c.xml", "/d.xml"]
    for path in paths:
        feed_server.feed(path, make_rss(path, 1))
    arrivals = _timed_routes(feed_server, paths)
    # Two host names for one server: spacing is per host, so the two hosts interleave.
    urls = [feed_server.url("/a.xml"), feed_server.url("/b.xml"),
            feed_server.url("/c.xml", host="localhost"), feed_server.url("/d.xml", host="localhost")]  # fmt: skip
    started = time.monotonic()
    results = fetch_all([FetchRequest(url) for url in urls], FetchLimits(host_gap=0.6))
    elapsed = time.monotonic() - started
    assert [r.error for r in results] == [None] * 4
    when = dict(arrivals)
    assert when["/b.xml"] - when["/a.xml"] >= 0.55 and when["/d.xml"] - when["/c.xml"] >= 0.55
    assert elapsed < 1.75  # one gap (0.6 s), not three (at least 1.8 s)

    # Default limits against loopback: no spacing at all.
    arrivals.clear()
    fetch_all([FetchRequest(feed_server.url(p)) for p in paths], FetchLimits())
    spread = max(t for _p, t in arrivals) - min(t for _p, t in arrivals)
    assert spread < DEFAULT_HOST_GAP


def test_entry_cap(feed_server: FeedServer, tmp_path: Path, db_path: Path) -> None:
    """A feed with more entries than MAX_ENTRIES keeps the first ones and says so (title and body caps on
    10 MB single lines are in test_hostile.py)."""
    from feeds.parse import MAX_ENTRIES

    feed_server.feed("/many.xml", make_rss("Many", MAX_ENTRIES + 300, feed_id="m"))
    config = _config(tmp_path, {"Many": feed_server.url("/many.xml")})
    result = _ingest(config, db_path)
    assert result.status == 0
    assert f"Many: feed has {MAX_ENTRIES + 300} entries; kept the first {MAX_ENTRIES}" in result.stderr
    assert _source(db_path, "Many")["articles"] == MAX_ENTRIES
    guids = {row["guid"] for row in articles_of(db_path, "Many")}
    assert "m-0" in guids and f"m-{MAX_ENTRIES - 1}" in guids and f"m-{MAX_ENTRIES}" not in guids


def test_a_pass_over_many_big_feeds_holds_a_bounded_backlog_of_bodies(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """250 feeds of 2 MB each (500 MB in all) from a server that answers faster than feeds are parsed and
    stored: the fetcher waits while the pass holds more than `BACKLOG_BYTES` of bodies, so the ingest's memory
    does not grow with the size of the feed list (without the bound this run peaked at 423 MiB; with it, at
    128-175, placement's numpy and tables included). The bodies are mostly an XML comment, so the pass is
    short and the articles small: what is measured is the bodies held."""
    from newswatch.pipeline import BACKLOG_BYTES

    feeds, size = 250, 2_000_000
    padding = "x" * size
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title><!-- {padding} -->'
        "<item><title>Item</title><guid>big-1</guid><description>short</description></item></channel></rss>"
    ).encode()
    sources = {}
    for n in range(feeds):
        feed_server.feed(f"/big{n}.xml", body)  # one bytes object: the test process does not hold 500 MB
        sources[f"big-{n}"] = feed_server.url(f"/big{n}.xml")
    config = write_config(tmp_path / "big.toml", sources, {"max_body_mb": 4, "concurrency": 8})
    run = run_ingest(config, tmp_path / "big.db")
    assert run.status == 0, run.stderr
    assert run.stdout.strip() == f"{feeds} new, 0 updated, 0 unchanged, 0 failed sources"
    assert feeds * size > 4 * BACKLOG_BYTES  # the bound is what keeps the peak down, not the list's size
    print(f"\nbig feeds: peak RSS {run.peak_rss_mib:.0f} MiB")
    assert run.peak_rss_mib < 300


def _eval_files() -> list[Path]:
    from tests.test_eval_feeds import candidate_files

    return candidate_files()


_CONTENT_TYPES = {".html": "text/html", ".htm": "text/html", ".txt": "text/plain"}


@pytest.mark.skipif(not (SHARED_EVAL / "feeds").is_dir(), reason=f"eval corpus absent at {SHARED_EVAL}")
def test_every_eval_file_goes_through_ingest(feed_server: FeedServer, tmp_path: Path) -> None:
    """Each corpus file served as a feed over HTTP and ingested in one run: nothing escapes as an exception."""
    files = _eval_files()
    assert files
    sources = {}
    for n, path in enumerate(files):
        # No charset in the header: the declared and sniffed encodings decide, as for most real servers.
        feed_server.feed(
            f"/eval/{n}", path.read_bytes(), content_type=_CONTENT_TYPES.get(path.suffix, "application/xml")
        )
        sources[f"eval-{n}"] = feed_server.url(f"/eval/{n}")
    db = tmp_path / "eval.db"
    settings = {"timeout": 10, "deadline": 20, "run_deadline": 240}
    run = run_ingest(write_config(tmp_path / "eval.toml", sources, settings), db, timeout=300)
    assert run.status == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    rows = source_rows(db)
    assert len(rows) == len(files)
    errors = {name: row["last_error"] for name, row in rows.items() if row["last_error"]}
    counts = {
        "files tried": len(files),
        "parsed": len(files) - len(errors),
        "with items": sum(1 for row in rows.values() if row["articles"]),
        "recorded errors": len(errors),
        "articles": sum(row["articles"] for row in rows.values()),
    }
    print(f"\neval corpus through ingest: {counts}, {run.wall:.1f} s, peak RSS {run.peak_rss_mib:.0f} MiB")
    for row in rows.values():
        assert row["last_attempt_at"], row["name"]  # every source was tried and its outcome recorded
    for name, error in errors.items():
        assert "\n" not in error and error.strip() == error, (name, error)
        # Parse and content problems only: the local server never failed a fetch.
        assert not error.startswith(
            ("HTTP ", "timed out", "not fetched", "unexpected error", "parser failed")
        ), (
            files[int(name.split("-")[1])],
            error,
        )
    assert counts["with items"] > len(files) / 2
    assert run.stdout.strip().endswith(f"{len(errors)} failed sources")
