"""Full text of article pages (feeds.fulltext), fetched from a real HTTP server on 127.0.0.1 with the feed
fetcher's limits: realistic pages (navigation, ads, comments, related links, a paywall stub), a page over the
size limit, a slow page, robots.txt disallowing a path, a non-HTML response."""

from __future__ import annotations

import json
from pathlib import Path

from feeds.fetch import FetchLimits
from feeds.fulltext import RobotsCache, extract_main_text, fetch_pages, wants_full_text
from testkit.feedserver import FeedServer

FIXTURES = Path(__file__).parent / "fixtures" / "fulltext"
HTML = "text/html; charset=utf-8"


def test_auto_fetches_only_short_bodies() -> None:
    assert wants_full_text("auto", 120) and not wants_full_text("auto", 2400)
    assert wants_full_text(True, 5000) and not wants_full_text(False, 10)


def test_pages_from_a_real_server_give_the_article_and_no_boilerplate(feed_server: FeedServer) -> None:
    expected = json.loads((FIXTURES / "expected.json").read_text())
    feed_server.feed("/news/g7.html", (FIXTURES / "article.html").read_bytes(), content_type=HTML)
    feed_server.feed("/news/premium.html", (FIXTURES / "paywall.html").read_bytes(), content_type=HTML)
    feed_server.feed("/news/report.pdf", b"%PDF-1.4 not a page", content_type="application/pdf")
    feed_server.huge("/news/huge.html", 3 * 1024 * 1024)
    feed_server.slow("/news/slow.html", 5.0, (FIXTURES / "article.html").read_bytes())
    feed_server.feed("/private/memo.html", (FIXTURES / "article.html").read_bytes(), content_type=HTML)
    feed_server.feed("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    urls = [
        feed_server.url(path)
        for path in (
            "/news/g7.html",
            "/news/premium.html",
            "/news/report.pdf",
            "/news/huge.html",
            "/news/slow.html",
            "/private/memo.html",
        )
    ]
    limits = FetchLimits(max_body_bytes=1024 * 1024, deadline=1.0)
    g7, premium, pdf, huge, slow, private = fetch_pages(urls, limits)

    assert g7.error is None
    for paragraph in expected["article"]:
        assert paragraph in g7.text
    for junk in expected["boilerplate"]:
        assert junk not in g7.text, junk
    assert premium.text == "" and "paywall" in premium.error
    assert pdf.error == "not an HTML page (application/pdf)"
    assert huge.error == "body exceeds 1 MiB limit"
    assert slow.error == "timed out after 1s"
    assert private.error == "disallowed by robots.txt" and not feed_server.requests_for("/private/memo.html")
    # robots.txt was asked for once, with the fetcher's user agent.
    assert len(feed_server.requests_for("/robots.txt")) == 1


def test_robots_rules_follow_rfc_9309_on_errors(feed_server: FeedServer) -> None:
    feed_server.status("/robots.txt", 503)
    cache = RobotsCache()
    cache.load([feed_server.url("/a.html")])
    assert not cache.allowed(feed_server.url("/a.html"))  # server error: try later
    with FeedServer() as other:  # no robots.txt at all (404): everything allowed
        cache.load([other.url("/b.html")])
        assert cache.allowed(other.url("/b.html"))


def test_extraction_is_total_on_hostile_markup() -> None:
    for page in (b"", b"<html", b"\x00\xff" * 100, b"<p>" * 10_000):
        result = extract_main_text(page, "https://example.org/x", "text/html")
        assert result.text == "" and result.error
