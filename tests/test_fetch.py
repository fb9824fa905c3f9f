"""fetch_feeds against a real HTTP server on 127.0.0.1 (testkit/feedserver.py)."""

from __future__ import annotations

import asyncio
import threading
import time
import tracemalloc

import pytest

from feeds.fetch import BodyBacklog, FetchLimits, FetchRequest, FetchResult, fetch_all, fetch_feeds
from newswatch import __version__
from testkit.feedserver import FeedServer, make_rss

FAST = FetchLimits(connect_timeout=2, read_timeout=2, deadline=5)
ETAG = '"v1"'
LAST_MODIFIED = "Mon, 04 Nov 2024 10:00:00 GMT"


@pytest.fixture
def feed_server():
    with FeedServer() as server:
        yield server


def fetch_one(server: FeedServer, path: str, limits: FetchLimits = FAST, **kwargs) -> FetchResult:
    [result] = fetch_all([FetchRequest(server.url(path), **kwargs)], limits)
    return result


def test_200_returns_body_and_validators(feed_server):
    body = make_rss("Wire", 3)
    feed_server.feed(
        "/feed.xml", body, etag=ETAG, last_modified=LAST_MODIFIED, headers={"Cache-Control": "max-age=900"}
    )
    result = fetch_one(feed_server, "/feed.xml")
    assert result.error is None
    assert result.status == 200
    assert result.body == body
    assert result.etag == ETAG and result.last_modified == LAST_MODIFIED
    assert result.final_url == result.url == feed_server.url("/feed.xml")
    assert result.permanent_redirect_url is None
    assert result.not_modified is False
    assert result.max_age_seconds == 900
    assert result.content_type.startswith("application/rss+xml")
    assert result.elapsed > 0


def test_conditional_get_sends_validators_and_gets_304(feed_server):
    feed_server.feed("/feed.xml", make_rss("Wire", 2), etag=ETAG, last_modified=LAST_MODIFIED)
    first = fetch_one(feed_server, "/feed.xml")
    second = fetch_one(feed_server, "/feed.xml", etag=first.etag, last_modified=first.last_modified)
    sent = feed_server.requests_for("/feed.xml")
    assert "if-none-match" not in sent[0] and "if-modified-since" not in sent[0]
    assert sent[1]["if-none-match"] == ETAG
    assert sent[1]["if-modified-since"] == LAST_MODIFIED
    assert second.status == 304
    assert second.not_modified is True
    assert second.body is None
    assert second.error is None
    assert second.etag == ETAG and second.last_modified == LAST_MODIFIED  # kept when the 304 omits them


def test_last_modified_alone_gets_304(feed_server):
    feed_server.feed("/lm.xml", make_rss("Wire", 1), last_modified=LAST_MODIFIED)
    result = fetch_one(feed_server, "/lm.xml", last_modified=LAST_MODIFIED)
    assert result.not_modified is True


@pytest.mark.parametrize(
    ("code", "message"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error")]
)
def test_http_errors(feed_server, code, message):
    feed_server.status("/x", code, body=b"<html>oops</html>")
    result = fetch_one(feed_server, "/x")
    assert result.status == code
    assert result.error == message
    assert result.body is None


def test_permanent_redirect_is_reported(feed_server):
    feed_server.feed("/new.xml", make_rss("Moved", 1))
    for code in (301, 308):
        feed_server.redirect(f"/old{code}.xml", "/new.xml", code)
        result = fetch_one(feed_server, f"/old{code}.xml")
        assert result.error is None and result.status == 200
        assert result.permanent_redirect_url == feed_server.url("/new.xml")
        assert result.final_url == feed_server.url("/new.xml")
        assert result.url == feed_server.url(f"/old{code}.xml")


def test_temporary_redirect_is_followed_but_not_reported(feed_server):
    feed_server.feed("/new.xml", make_rss("Moved", 1))
    feed_server.redirect("/temp.xml", "/new.xml", 302)
    feed_server.redirect("/perm-then-temp.xml", "/temp.xml", 301)
    result = fetch_one(feed_server, "/temp.xml")
    assert result.status == 200 and result.permanent_redirect_url is None
    # 301 then 302: the permanent hop's target is what to store, not the temporary one's.
    chained = fetch_one(feed_server, "/perm-then-temp.xml")
    assert chained.permanent_redirect_url == feed_server.url("/temp.xml")


def test_redirect_loop_and_too_many_redirects(feed_server):
    feed_server.redirect("/a", "/b")
    feed_server.redirect("/b", "/a")
    loop = fetch_one(feed_server, "/a")
    assert loop.error is not None and loop.error.startswith("redirect loop at")
    assert loop.permanent_redirect_url is None
    for n in range(8):
        feed_server.redirect(f"/hop{n}", f"/hop{n + 1}", 302)
    long = fetch_one(feed_server, "/hop0", FetchLimits(max_redirects=3, deadline=5))
    assert long.error == "too many redirects (more than 3)"


def test_redirect_to_non_http_scheme(feed_server):
    feed_server.redirect("/evil", "file:///etc/passwd")
    result = fetch_one(feed_server, "/evil")
    assert result.error.startswith("redirect to file:")
    assert result.body is None


def test_slow_response_times_out(feed_server):
    feed_server.slow("/slow", delay=5)
    started = time.monotonic()
    result = fetch_one(feed_server, "/slow", FetchLimits(read_timeout=0.5, deadline=5))
    assert result.error == "read timed out after 0.5s (127.0.0.1)"
    assert time.monotonic() - started < 4.5  # not the server's 5 s


def test_slow_drip_is_cut_by_the_deadline(feed_server):
    # Each byte arrives well within the read timeout; only the total deadline stops it.
    feed_server.drip("/drip", size=1000, interval=0.2)
    started = time.monotonic()
    result = fetch_one(feed_server, "/drip", FetchLimits(read_timeout=1, deadline=1.5))
    assert result.error == "timed out after 1.5s"
    assert result.body is None
    assert 1.4 < time.monotonic() - started < 10  # not the drip's 200 s


@pytest.mark.parametrize("content_length", [True, False])
def test_body_over_the_limit(feed_server, content_length):
    feed_server.huge("/huge", 3 * 1024 * 1024, content_length=content_length)
    result = fetch_one(feed_server, "/huge", FetchLimits(max_body_bytes=1024 * 1024, deadline=10))
    assert result.error == "body exceeds 1 MiB limit"
    assert result.body is None


def test_gzip_bomb_is_cut_off_with_bounded_memory(feed_server):
    feed_server.gzip_bomb("/bomb", 1024 * 1024 * 1024)  # 1 GiB inflated, ~1 MB on the wire
    tracemalloc.start()
    result = fetch_one(feed_server, "/bomb", FetchLimits(max_body_bytes=2 * 1024 * 1024, deadline=20))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.error == "body exceeds 2 MiB limit"
    assert peak < 16 * 1024 * 1024


def test_gzip_body_is_decoded(feed_server):
    import gzip

    body = make_rss("Zipped", 20)
    feed_server.feed("/gz.xml", gzip.compress(body), headers={"Content-Encoding": "gzip"})
    result = fetch_one(feed_server, "/gz.xml")
    assert result.error is None and result.body == body
    assert feed_server.requests_for("/gz.xml")[0]["accept-encoding"] == "gzip, deflate"


def test_retry_after_seconds_and_date(feed_server):
    feed_server.status("/busy", 429, headers={"Retry-After": "120"})
    feed_server.status("/down", 503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    feed_server.status("/junk", 503, headers={"Retry-After": "soon"})
    busy = fetch_one(feed_server, "/busy")
    down = fetch_one(feed_server, "/down")
    junk = fetch_one(feed_server, "/junk")
    assert busy.error == "HTTP 429 Too Many Requests" and busy.retry_after_seconds == 120
    assert down.error == "HTTP 503 Service Unavailable" and down.retry_after_seconds > 365 * 24 * 3600
    assert junk.retry_after_seconds is None


def test_per_host_concurrency_is_honoured(feed_server):
    for n in range(8):
        feed_server.feed(f"/c/{n}.xml", make_rss("C", 1), delay=0.2)
    limits = FetchLimits(concurrency=32, per_host=2, deadline=10)
    results = fetch_all([FetchRequest(feed_server.url(f"/c/{n}.xml")) for n in range(8)], limits)
    assert all(r.error is None for r in results)
    assert feed_server.max_concurrent("/c") == 2


def test_global_concurrency_is_honoured(feed_server):
    for n in range(6):
        feed_server.feed(f"/g/{n}.xml", make_rss("G", 1), delay=0.2)
    limits = FetchLimits(concurrency=3, per_host=10, deadline=10)
    fetch_all([FetchRequest(feed_server.url(f"/g/{n}.xml")) for n in range(6)], limits)
    assert feed_server.max_concurrent("/g") == 3


def test_user_agent_names_newswatch(feed_server):
    feed_server.feed("/ua.xml", make_rss("UA", 1))
    fetch_one(feed_server, "/ua.xml")
    user_agent = feed_server.requests_for("/ua.xml")[0]["user-agent"]
    assert user_agent == f"newswatch/{__version__} (+https://github.com/newswatch)"


def test_connection_errors_are_one_line():
    results = fetch_all(
        [
            FetchRequest("ftp://example.com/feed"),
            FetchRequest("not a url"),
            FetchRequest("http://does-not-exist.invalid/feed"),
            FetchRequest("http://127.0.0.1:1/feed"),
        ],
        FAST,
    )
    errors = [r.error for r in results]
    assert errors[0] == "not an http(s) URL: ftp://example.com/feed"
    assert errors[1] is not None
    assert errors[2] == "DNS lookup failed for does-not-exist.invalid"
    assert errors[3] == "connection refused by 127.0.0.1:1"
    assert all("\n" not in e for e in errors)
    assert all(r.body is None and r.status is None for r in results)


def test_results_keep_request_order_and_reach_on_result(feed_server):
    for n in range(5):
        feed_server.feed(f"/o/{n}.xml", make_rss(f"O{n}", 1), delay=0.05 * (5 - n))
    seen: list[str] = []

    def on_result(result: FetchResult) -> None:
        seen.append(result.url)
        if result.url.endswith("/2.xml"):
            raise RuntimeError("a careless callback")  # logged, does not stop the others

    urls = [feed_server.url(f"/o/{n}.xml") for n in range(5)]
    results = fetch_all([FetchRequest(u) for u in urls], FAST, on_result=on_result)
    assert [r.url for r in results] == urls
    assert sorted(seen) == sorted(urls)


def test_fetch_feeds_runs_inside_an_existing_loop(feed_server):
    feed_server.feed("/async.xml", make_rss("A", 1))
    [result] = asyncio.run(fetch_feeds([FetchRequest(feed_server.url("/async.xml"))], FAST))
    assert result.status == 200
    assert asyncio.run(fetch_feeds([], FAST)) == []


def test_keep_alive_reuses_connections(feed_server):
    for n in range(20):
        feed_server.feed(f"/k/{n}.xml", make_rss("K", 1))
    results = fetch_all(
        [FetchRequest(feed_server.url(f"/k/{n}.xml")) for n in range(20)], FetchLimits(per_host=1)
    )
    assert all(r.error is None for r in results)
    assert all(
        h.get("connection", "keep-alive").lower() != "close" for h in feed_server.requests_for("/k/0.xml")
    )
    assert feed_server.connections() == 1


def test_304s_and_redirects_keep_their_connection(feed_server):
    """A warm pass (every feed 304) and redirects reuse connections: their bodies are read, not dropped."""
    for n in range(10):
        feed_server.feed(f"/w/{n}.xml", make_rss("W", 1), etag=ETAG)
    feed_server.redirect("/moved.xml", "/w/0.xml", code=302)
    requests = [FetchRequest(feed_server.url(f"/w/{n}.xml"), etag=ETAG) for n in range(10)]
    requests.append(FetchRequest(feed_server.url("/moved.xml"), etag=ETAG))
    results = fetch_all(requests, FetchLimits(per_host=1))
    assert all(r.not_modified and r.error is None for r in results)
    assert feed_server.connections() == 1


def test_idle_connections_are_capped_at_the_concurrency():
    """A pass over many hosts keeps at most `concurrency` idle connections, not one per host."""
    with FeedServer() as a, FeedServer() as b, FeedServer() as c:
        for server in (a, b, c):
            server.feed("/f.xml", make_rss("F", 1))
        order = [a, b, c, a, a]
        results = fetch_all([FetchRequest(s.url("/f.xml")) for s in order], FetchLimits(concurrency=1))
        assert all(r.error is None for r in results)
        # a's idle connection was closed for c's (one kept idle), then a's second one was reused.
        assert (a.connections(), b.connections(), c.connections()) == (2, 1, 1)


def test_every_connection_verifies_tls_and_the_ca_bundle_loads_only_for_https():
    import ssl

    from feeds.fetch import _Connections

    connections = _Connections(keep_idle=1)
    plain = connections._context(tls=False)
    assert connections.tls is None  # no https URL yet: the CA bundle is not loaded
    secure = connections._context(tls=True)
    for context in (plain, secure):
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert secure.cert_store_stats()["x509_ca"] > 0
    assert plain.cert_store_stats()["x509_ca"] == 0  # trusts nothing, should it ever be used
    assert connections._context(tls=True) is secure


def test_requests_wait_while_the_callers_backlog_of_bodies_is_over_its_bound(feed_server: FeedServer) -> None:
    """Over the bound, no request starts until the caller (another thread) says it is done with enough bytes;
    `lift` lets every waiting request go."""
    for n in range(6):
        feed_server.feed(f"/b{n}.xml", make_rss(f"B{n}", 1, feed_id=str(n)))
    backlog = BodyBacklog(limit=100)
    results: list[FetchResult] = []

    def on_result(result: FetchResult) -> None:
        results.append(result)
        backlog.add(1000)  # every body puts the caller over its bound

    requests = [FetchRequest(feed_server.url(f"/b{n}.xml")) for n in range(6)]
    limits = FetchLimits(concurrency=1)
    fetching = threading.Thread(
        target=fetch_all, args=(requests, limits), kwargs={"on_result": on_result, "backlog": backlog}
    )
    fetching.start()
    deadline = time.monotonic() + 10
    while not results and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    assert len(results) == 1  # the others wait for room
    backlog.done(1000)
    while len(results) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    assert len(results) == 2
    backlog.lift()
    fetching.join(timeout=10)
    assert not fetching.is_alive() and len(results) == 6
    assert all(result.status == 200 and result.body for result in results)
