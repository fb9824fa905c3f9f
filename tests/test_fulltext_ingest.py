"""Full text in ingest (issue 15): the real CLI, a real SQLite file and a real HTTP server on 127.0.0.1
serving a feed of summaries and the article pages they link to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from testkit.article_pages import BOILERPLATE, article_page, paragraphs, rss_with_links
from testkit.feedserver import FeedServer
from tests.conftest import connect_store, run_cli

HTML = "text/html; charset=utf-8"
FIXTURES = Path(__file__).parent / "fixtures" / "fulltext"
G7 = [
    "Ministers from the G7 met in Rome on Tuesday to agree a common response to the deployment of North Korean"
    " troops in the Kursk region.",
    "The foreign ministers said the deployment marked a dangerous expansion of the war and called on Pyongyang"
    " to withdraw its soldiers at once.",
    "Officials in Seoul estimate that between 11,000 and 12,000 soldiers have crossed into Russia since October,"
    " most of them from special forces units.",
    "The statement also asked China to use its influence on Pyongyang, a request Beijing has so far declined to"
    " answer in public.",
    "Diplomats said the ministers would meet again in December to review new sanctions on shipping companies"
    " that carry North Korean munitions.",
]


def _config(tmp_path: Path, sources: dict[str, str], extra: str = "", fulltext: str = "") -> Path:
    text = "".join(f'[[sources]]\nname = "{n}"\nurl = "{u}"\n{fulltext}\n' for n, u in sources.items())
    path = tmp_path / "fulltext.toml"
    path.write_text(text + extra)
    return path


@pytest.fixture
def db_path(store_target: str) -> str:
    """The full-text pass on an SQLite file and on a PostgreSQL database."""
    return store_target


def _rows(db: Path | str, sql: str, *params: object) -> list[tuple]:
    with connect_store(db) as conn:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]


def _serve_pages(server: FeedServer) -> None:
    server.feed("/news/g7.html", article_page("G7 ministers condemn troop deployment", G7), content_type=HTML)
    server.feed("/news/premium.html", (FIXTURES / "paywall.html").read_bytes(), content_type=HTML)
    server.feed("/news/report.pdf", b"%PDF-1.4 not a page", content_type="application/pdf")
    server.feed("/private/memo.html", article_page("Memo", paragraphs(9)), content_type=HTML)
    server.feed("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")


def test_ingest_stores_the_page_text_as_body_and_tags_and_places_it(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    _serve_pages(feed_server)
    summary = "G7 ministers meet in Rome."  # mentions neither Kursk nor Pyongyang: only the page does
    items = [
        ("g7", "G7 ministers condemn troop deployment", feed_server.url("/news/g7.html"), summary),
        ("premium", "Premium story", feed_server.url("/news/premium.html"), "A teaser."),
        ("pdf", "The report", feed_server.url("/news/report.pdf"), "A report."),
        ("memo", "A memo", feed_server.url("/private/memo.html"), "A memo."),
    ]
    feed_server.feed("/feed.xml", rss_with_links("Wire", items))
    topics = '[topics.Kursk]\nquery = "Kursk AND Pyongyang"\nalert = true\n'
    config = _config(tmp_path, {"Wire": feed_server.url("/feed.xml")}, topics)
    base = ("--config", str(config), "--db", str(db_path))

    first = run_cli(*base, "ingest", "--alerts")
    assert first.status == 0, first.stderr
    assert "4 new" in first.stderr and "1 page fetched, 3 failed" in first.stderr, first.stderr
    assert "G7 ministers condemn troop deployment" in first.stdout  # the alert, from the page's words

    [(body, kept, chars, story, duplicate)] = _rows(
        db_path,
        "SELECT body, summary, body_chars, story_id, duplicate_of FROM articles WHERE guid = 'g7'",
    )
    assert all(paragraph in body for paragraph in G7)
    assert not any(junk in body for junk in BOILERPLATE)
    assert not body.startswith("G7 ministers condemn troop deployment")  # the headline is the title
    assert kept == summary and chars == len(body)
    assert story is not None and duplicate is None  # placed, once, with its full text
    assert _rows(db_path, "SELECT count(*) FROM article_features") == [(0,)]
    # The index and the tags see the page's words.
    found = run_cli(*base, "search", "Kursk", "--json").json_lines()
    assert [row["title"] for row in found] == ["G7 ministers condemn troop deployment"]
    reasons = dict(
        _rows(
            db_path,
            """SELECT a.guid, f.last_error FROM article_fulltext f JOIN articles a ON a.id = f.article_id
               WHERE f.state = 'pending' ORDER BY a.guid""",
        )
    )
    assert reasons["premium"].startswith("no article text on the page")
    assert reasons["pdf"] == "not an HTML page (application/pdf)"
    assert reasons["memo"] == "disallowed by robots.txt"
    assert not feed_server.requests_for("/private/memo.html")
    assert "text/html" in feed_server.requests_for("/news/g7.html")[0]["accept"]
    # A second pass: the failed pages wait for their backoff, nothing is fetched or announced again.
    second = run_cli(*base, "ingest", "--alerts")
    assert second.stdout == "" and second.stderr.strip() == "0 new, 0 updated, 4 unchanged, 0 failed sources"
    assert len(feed_server.requests_for("/news/g7.html")) == 1


def test_a_feed_whose_pages_all_fail_still_stores_its_items(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    feed_server.status("/robots.txt", 404)
    feed_server.status("/gone.html", 404)
    feed_server.slow("/slow.html", 5.0, article_page("Slow", paragraphs(1)))
    feed_server.huge("/huge.html", 3 * 1024 * 1024)
    items = [
        ("gone", "Gone", feed_server.url("/gone.html"), "Short."),
        ("slow", "Slow", feed_server.url("/slow.html"), "Short."),
        ("huge", "Huge", feed_server.url("/huge.html"), "Short."),
        ("dead", "Dead host", "http://127.0.0.1:9/page.html", "Short."),
    ]
    feed_server.feed("/feed.xml", rss_with_links("Broken pages", items))
    fetch = "[fetch]\ndeadline = 1\nmax_body_mb = 1\n"
    config = _config(tmp_path, {"Broken": feed_server.url("/feed.xml")}, fetch)
    result = run_cli("--config", str(config), "--db", str(db_path), "ingest")
    assert result.status == 0, result.stderr
    assert result.stdout.strip() == (
        "4 new, 0 updated, 0 unchanged, 0 failed sources, 0 pages fetched, 4 failed"
    ), result.stdout
    reasons = dict(
        _rows(
            db_path,
            "SELECT a.guid, f.last_error FROM article_fulltext f JOIN articles a ON a.id = f.article_id",
        )
    )
    assert reasons == {
        "gone": "HTTP 404 Not Found",
        "slow": "timed out after 1s",
        "huge": "body exceeds 1 MiB limit",
        "dead": "disallowed by robots.txt",  # robots.txt unreachable: RFC 9309 says wait
    }
    # Every item is stored, tagged and placed with its feed text.
    assert _rows(db_path, "SELECT count(*) FROM articles WHERE story_id IS NOT NULL AND summary IS NULL") == [
        (4,)
    ]


def test_settings_say_which_sources_fetch_pages(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    _serve_pages(feed_server)
    long_summary = " ".join(G7)  # longer than the threshold
    items = [
        ("short", "Short", feed_server.url("/news/g7.html"), "Short."),
        ("long", "Long", feed_server.url("/news/g7.html?long"), long_summary),
    ]
    feed_server.feed("/auto.xml", rss_with_links("Auto", items))
    feed_server.feed(
        "/off.xml", rss_with_links("Off", [("off", "Off", feed_server.url("/news/g7.html?off"), "x")])
    )
    feed_server.feed(
        "/sample.xml",
        rss_with_links("Sample", [("ex", "Example", "https://news.example.com/a.html", "x")]),
    )
    text = (
        f'[[sources]]\nname = "Auto"\nurl = "{feed_server.url("/auto.xml")}"\n\n'
        f'[[sources]]\nname = "Off"\nurl = "{feed_server.url("/off.xml")}"\nfulltext = false\n\n'
        f'[[sources]]\nname = "Sample"\nurl = "{feed_server.url("/sample.xml")}"\nfulltext = true\n\n'
        "[fulltext]\nthreshold = 300\n"
    )
    config = tmp_path / "modes.toml"
    config.write_text(text)
    result = run_cli("--config", str(config), "--db", str(db_path), "ingest")
    assert result.status == 0, result.stderr
    # Only the short item of the "auto" source wants its page; a reserved example name is never asked.
    assert _rows(db_path, "SELECT a.guid FROM article_fulltext f JOIN articles a ON a.id = f.article_id") == [
        ("short",)
    ]


def test_budget_fetches_the_newest_first_and_the_rest_on_later_passes(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    for n in range(5):
        feed_server.feed(f"/p/{n}.html", article_page(f"Story {n}", paragraphs(n)), content_type=HTML)
    items = [(f"i{n}", f"Story {n}", feed_server.url(f"/p/{n}.html"), "Short.") for n in range(5)]
    feed_server.feed("/feed.xml", rss_with_links("Many", items))  # i4 is the newest
    config = _config(tmp_path, {"Many": feed_server.url("/feed.xml")}, "[fulltext]\nmax_pages = 2\n")
    base = ("--config", str(config), "--db", str(db_path))

    def fetched() -> list[str]:
        return [
            guid
            for (guid,) in _rows(
                db_path,
                """SELECT a.guid FROM article_fulltext f JOIN articles a ON a.id = f.article_id
                   WHERE f.state = 'done' ORDER BY a.guid""",
            )
        ]

    first = run_cli(*base, "ingest")
    assert first.stdout.strip().endswith("2 pages fetched, 3 left for later"), first.stdout
    assert fetched() == ["i3", "i4"]
    second = run_cli(*base, "ingest")
    assert second.stdout.strip().endswith("2 pages fetched, 1 left for later"), second.stdout
    assert fetched() == ["i1", "i2", "i3", "i4"]
    run_cli(*base, "ingest")
    assert fetched() == ["i0", "i1", "i2", "i3", "i4"]
    for n in range(5):
        assert len(feed_server.requests_for(f"/p/{n}.html")) == 1
    assert len(feed_server.requests_for("/robots.txt")) == 3  # once per host per pass


def _replacement_scenario(server: FeedServer, tmp_path: Path, db: Path) -> list[tuple]:
    """A wire's full report (no page wanted) and an outlet's summary of the same event, whose page comes
    one pass late (the budget took a newer page first): placed with its summary, then placed again."""
    server.feed("/news/g7.html", article_page("G7 ministers condemn troop deployment", G7), content_type=HTML)
    server.feed("/news/other.html", article_page("Harbour strike ends", paragraphs(3)), content_type=HTML)
    wire = rss_with_links("Wire", [("w", "G7 condemns North Korean deployment", "", "\n\n".join(G7))])
    outlet = rss_with_links(
        "Outlet",
        [
            ("g7", "Ministerial closes", server.url("/news/g7.html"), "Talks are over."),
            ("other", "Harbour strike ends", server.url("/news/other.html"), "The strike is over."),
        ],
    )
    server.feed("/wire.xml", wire)
    server.feed("/outlet.xml", outlet)
    topics = '[topics.Rome]\nquery = "Rome OR ministerial"\nalert = true\n'
    config = _config(
        tmp_path,
        {"Wire": server.url("/wire.xml"), "Outlet": server.url("/outlet.xml")},
        topics + "[fulltext]\nmax_pages = 1\n",
    )
    base = ("--config", str(config), "--db", str(db))
    first = run_cli(*base, "ingest", "--alerts")
    assert first.status == 0, first.stderr
    before = dict(_rows(db, "SELECT guid, story_id FROM articles"))
    assert before["g7"] != before["w"]  # "Talks are over." alone is not the wire's story
    alerts = [line for line in first.stdout.splitlines() if "Rome" in line]
    second = run_cli(*base, "ingest", "--alerts")
    assert second.status == 0, second.stderr
    assert second.stderr.strip().endswith("1 page fetched"), second.stderr
    # Stories by their members' guids (article ids follow the order the feeds' fetches finished in).
    rows = _rows(
        db,
        """SELECT a.guid, (SELECT group_concat(guid) FROM (SELECT guid FROM articles m
                           WHERE m.story_id = a.story_id ORDER BY guid)),
                  (SELECT guid FROM articles c WHERE c.id = a.duplicate_of)
           FROM articles a ORDER BY a.guid""",
    )
    return [alerts, second.stdout, rows]


def test_an_article_whose_page_comes_later_is_placed_again_and_not_announced_twice(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    alerts, second_out, after = _replacement_scenario(feed_server, tmp_path, tmp_path / "a.db")
    assert len(alerts) == 2, alerts  # the outlet's summary and the wire's report: two stories, both "Rome"
    # The page made the outlet's article the wire's story; that story's "Rome" alert was printed already,
    # and the story the article left had one too: nothing is announced again.
    assert second_out == "", second_out
    assert after[0][:2] == ("g7", "g7,w") and after[-1][:2] == ("w", "g7,w")
    db = tmp_path / "a.db"
    stories = dict(_rows(db, "SELECT guid, story_id FROM articles"))
    assert _rows(db, "SELECT count(*) FROM article_replacements") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM article_features") == [(0,)]
    # The stories table agrees with the articles.
    assert _rows(db, "SELECT size FROM stories WHERE id = ?", stories["w"]) == [(2,)]
    # Alerts of the story it left followed it.
    [(count,)] = _rows(db, "SELECT count(*) FROM alerts WHERE story_id = ?", stories["w"])
    assert count == 1
    # Placing again is deterministic: the same feeds in a fresh database give the same stories.
    (tmp_path / "again").mkdir()
    with FeedServer() as other:
        _, _, again = _replacement_scenario(other, tmp_path / "again", tmp_path / "b.db")
    assert again == after


def test_a_feed_update_keeps_the_page_text(feed_server: FeedServer, tmp_path: Path, db_path: Path) -> None:
    _serve_pages(feed_server)
    items = [("g7", "G7 ministers", feed_server.url("/news/g7.html"), "First summary.")]
    feed_server.feed("/feed.xml", rss_with_links("Wire", items))
    config = _config(tmp_path, {"Wire": feed_server.url("/feed.xml")})
    base = ("--config", str(config), "--db", str(db_path))
    run_cli(*base, "ingest")
    items = [("g7", "G7 ministers", feed_server.url("/news/g7.html"), "Corrected summary.")]
    feed_server.feed("/feed.xml", rss_with_links("Wire", items))
    result = run_cli(*base, "ingest")
    assert "1 updated" in result.stdout
    [(body, summary)] = _rows(db_path, "SELECT body, summary FROM articles")
    assert G7[0] in body and summary == "Corrected summary."


def test_failures_back_off_and_are_given_up(db_path: Path) -> None:
    from feeds.records import ArticleRecord
    from store import fulltext
    from store.articles import upsert_articles
    from store.db import open_db, write_batch
    from store.sources import SourceSpec, sync_sources

    now = datetime(2024, 11, 5, 12, tzinfo=UTC)
    db = open_db(db_path)  # created and migrated
    with write_batch(db):
        sync_sources(db, [SourceSpec("S", "url", "http://127.0.0.1:1/feed.xml", None)], now=now)
        record = ArticleRecord(guid="a", title="A", body="short", url="http://127.0.0.1:1/a.html")
        [article] = upsert_articles(db, 1, [record], now=now).new_ids
        fulltext.queue_pages(db, [article])
    for attempt, wait in enumerate([1, 2, 4, 8], start=1):
        with write_batch(db):
            fulltext.record_page_failure(db, article, "HTTP 503 Service Unavailable", now=now)
        assert fulltext.due_pages(db, now=now + timedelta(hours=wait, minutes=-1), limit=5) == ([], 0)
        assert len(fulltext.due_pages(db, now=now + timedelta(hours=wait), limit=5)[0]) == 1
        assert fulltext.fulltext_status(db, article)["attempts"] == attempt
    with write_batch(db):
        fulltext.queue_pages(db, [article])  # already queued: its attempts stand
    assert fulltext.fulltext_status(db, article)["attempts"] == 4
    with write_batch(db):  # the fifth failure gives up, whatever Retry-After says
        fulltext.record_page_failure(
            db, article, "HTTP 429 Too Many Requests", now=now, retry_after_seconds=1
        )
    status = fulltext.fulltext_status(db, article)
    assert status["state"] == "failed" and status["last_error"] == "HTTP 429 Too Many Requests"
    assert fulltext.due_pages(db, now=now + timedelta(days=30), limit=5) == ([], 0)


def _reworded(paragraph_list: list[str], variant: int) -> str:
    """The same report in other words: every fourth word changed, so it is no copy (few shared 3-word
    shingles) but shares most of its terms."""
    words = " ".join(paragraph_list).split()
    fillers = ["indeed", "reportedly", "notably", "meanwhile"]
    return " ".join(fillers[variant % 4] if (i + variant) % 4 == 0 else word for i, word in enumerate(words))


def test_the_first_article_of_a_story_leaving_it_hands_the_id_to_the_next(db_path: Path) -> None:
    from feeds.records import ArticleRecord
    from newswatch.placement import SETTINGS, place_pending
    from newswatch.workers import feature_blobs
    from store import fulltext
    from store.articles import upsert_articles
    from store.db import open_db, write_batch
    from store.sources import SourceSpec, sync_sources
    from stories.engine import StoryEngine

    now = datetime(2024, 11, 6, tzinfo=UTC)
    db = open_db(db_path)  # created and migrated
    records = [
        ArticleRecord(
            guid=f"r{n}",
            title=f"G7 ministers condemn deployment ({n})",
            body=_reworded(G7, n),
            url=f"http://127.0.0.1:1/{n}",
            published=datetime(2024, 11, 5, 10 + n, tzinfo=UTC),
        )
        for n in range(3)
    ]
    with write_batch(db):
        sync_sources(db, [SourceSpec("S", "url", "http://127.0.0.1:1/feed.xml", None)], now=now)
        first, second, third = upsert_articles(
            db, 1, records, now=now, features=lambda rs: feature_blobs([(r.title, r.body) for r in rs])
        ).new_ids
    place_pending(db)
    assert {row[0] for row in _rows(db_path, "SELECT story_id FROM articles")} == {first}
    with write_batch(db):
        db.conn.execute(
            "INSERT INTO topics (id, name, query, query_hash, alert) VALUES (1, 'G7', 'G7', 'h', 1)"
        )
        db.conn.execute(
            "INSERT INTO alerts (story_id, topic_id, article_id, alerted_at) VALUES (?, 1, ?, 'then')",
            [first, first],
        )
        taken = fulltext.withdraw_from_story(db, first, SETTINGS, StoryEngine(SETTINGS))
    assert taken == [first]
    # What is left is the story of its first remaining article, with the alert already printed.
    stories = dict(_rows(db_path, "SELECT id, story_id FROM articles"))
    assert stories == {first: None, second: second, third: second}
    assert _rows(db_path, "SELECT id, size FROM stories") == [(second, 2)]
    assert _rows(db_path, "SELECT story_id FROM alerts ORDER BY story_id") == [(first,), (second,)]
    [(blob,)] = _rows(db_path, "SELECT blob FROM grouping_stories WHERE story_id = ?", second)
    assert blob
    # Placed again (its features from its text), it rejoins the story, which keeps its new id.
    with write_batch(db):
        fulltext.replace_features(db, [(first, feature_blobs([(records[0].title, records[0].body)])[0])])
    place_pending(db)
    with write_batch(db):
        fulltext.share_alerts_of_replaced(db)
    assert {row[0] for row in _rows(db_path, "SELECT story_id FROM articles")} == {second}
    assert _rows(db_path, "SELECT id, size FROM stories") == [(second, 3)]
    assert _rows(db_path, "SELECT count(*) FROM article_replacements") == [(0,)]
    db.conn.close()


def test_a_pass_with_no_page_due_never_imports_trafilatura(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    import subprocess
    import sys

    _serve_pages(feed_server)
    items = [("g7", "G7 ministers", feed_server.url("/news/g7.html"), "Short.")]
    feed_server.feed("/feed.xml", rss_with_links("Wire", items))
    config = _config(tmp_path, {"Wire": feed_server.url("/feed.xml")})
    assert run_cli("--config", str(config), "--db", str(db_path), "ingest").status == 0
    probe = (
        "import sys; from newswatch.cli import main; "
        f"main(['--config', {str(config)!r}, '--db', {str(db_path)!r}, 'ingest', '--quiet', '--alerts']); "
        "print([m for m in ('trafilatura', 'lxml') if m in sys.modules])"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_a_host_that_asks_to_wait_is_not_asked_again_until_then(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    for n in range(3):
        feed_server.feed(f"/p/{n}.html", article_page(f"Story {n}", paragraphs(n)), content_type=HTML)
    feed_server.status("/p/3.html", 429, headers={"Retry-After": "7200"})
    items = [(f"i{n}", f"Story {n}", feed_server.url(f"/p/{n}.html"), "Short.") for n in range(4)]
    feed_server.feed("/feed.xml", rss_with_links("Busy", items))  # i3, the newest, is asked first
    config = _config(tmp_path, {"Busy": feed_server.url("/feed.xml")}, "[fetch]\nper_host = 1\n")
    base = ("--config", str(config), "--db", str(db_path))
    first = run_cli(*base, "ingest")
    assert first.stdout.strip().endswith("0 pages fetched, 1 failed, 3 left for later"), first.stderr
    assert [len(feed_server.requests_for(f"/p/{n}.html")) for n in range(4)] == [0, 0, 0, 1]
    rows = _rows(
        db_path,
        """SELECT a.guid, f.attempts, f.last_error, f.next_attempt_after > ? FROM article_fulltext f
           JOIN articles a ON a.id = f.article_id ORDER BY a.guid""",
        (datetime.now(UTC) + timedelta(minutes=119)).isoformat(),
    )
    assert rows == [
        ("i0", 0, None, 1),
        ("i1", 0, None, 1),
        ("i2", 0, None, 1),
        ("i3", 1, "HTTP 429 Too Many Requests", 1),
    ]
    second = run_cli(*base, "ingest")
    assert second.stdout.strip() == "0 new, 0 updated, 4 unchanged, 0 failed sources"
    assert [len(feed_server.requests_for(f"/p/{n}.html")) for n in range(4)] == [0, 0, 0, 1]
