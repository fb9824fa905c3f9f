"""Full text for summary-only feed items: fetch the article page politely, extract its main text.

The first brick of issue 15's full text (not yet wired into ingest; see docs in the closing note): which
items need a page (`wants_full_text`), robots.txt per host (fetched once per run, cached), the pages fetched
with `feeds.fetch`'s own limits and politeness (per-host concurrency and spacing, size and time caps,
redirects, Retry-After), and extraction with trafilatura. Every per-page problem is a one-line reason on its
`PageText`; nothing here raises for a bad page, a bad robots.txt or a dead host. No SQL, no textual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from feeds.fetch import USER_AGENT, FetchLimits, FetchRequest, fetch_all
from feeds.sanitize import clean_text

# "auto" fetches the page when the feed's body is shorter than this many characters.
AUTO_THRESHOLD_CHARS = 600
# Extracted text no longer than this is a stub (a paywall teaser, a cookie wall), not the article.
MIN_ARTICLE_CHARS = 400
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# An article page larger than this is refused even when feeds may be larger ([fetch] max_body_mb): lxml and
# trafilatura hold ~30x a page in memory (an 11 MB page peaked at ~350 MiB in a worker, 1.4 s), and real
# article pages, scripts and inline styles included, stay well under it.
PAGE_MAX_BYTES = 4 * 1024 * 1024
# Article pages ask for HTML, not for a feed.
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
# Names reserved for documentation and testing (RFC 2606, RFC 6761): no outlet publishes there, so an
# item linking there (a sample feed, a test) never sends a request anywhere.
_RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".example.com", ".example.net", ".example.org")
_RESERVED_NAMES = ("example", "test", "invalid", "example.com", "example.net", "example.org")


def wants_full_text(setting: str | bool, body_chars: int, *, threshold: int = AUTO_THRESHOLD_CHARS) -> bool:
    """Per source `fulltext = "auto" | true | false`: should this item's page be fetched?"""
    if setting is True:
        return True
    if setting is False:
        return False
    return body_chars < threshold


def fetchable_page(url: str) -> bool:
    """An http(s) link on a name that can host a real page (not one reserved for examples and tests)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    return host not in _RESERVED_NAMES and not host.endswith(_RESERVED_SUFFIXES)


@dataclass(slots=True)
class PageText:
    url: str
    text: str = ""  # the article's main text, cleaned like any stored body; "" on failure
    error: str | None = None  # one line: why there is no text
    retry_after_seconds: float | None = None


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def parse_robots(body: bytes | None, status: int | None) -> RobotFileParser:
    """Rules from a fetched robots.txt. As RFC 9309 says: a 4xx (or no file) allows everything; a 5xx or
    an unreachable host disallows everything for now (the pages are tried again on a later run)."""
    rules = RobotFileParser()
    if status is not None and 200 <= status < 300 and body is not None:
        rules.parse(body.decode("utf-8", "replace").splitlines())
    elif status is not None and 400 <= status < 500:
        rules.allow_all = True
    else:
        rules.disallow_all = True
    return rules


# Character references to C0 controls other than tab, newline and CR (&#27; is ESC). lxml refuses them and
# trafilatura then drops the whole page: one stray &#27; would cost an article its text. Raw control
# characters parse, and `clean_text` removes them from what is kept.
_CONTROL_REFERENCE = re.compile(
    rb"&#(?:0*(?:[0-8]|1[1-2]|1[4-9]|2[0-9]|3[01]|127)|[xX]0*(?:[0-8]|[bcefBCEF]|1[0-9a-fA-F]|7[fF]));?"
)


def extract_main_text(html: bytes | str, url: str = "", content_type: str | None = None) -> PageText:
    """The article text of one page, without navigation, ads, comments or related links (total)."""
    if content_type and not content_type.split(";")[0].strip().lower().startswith(_HTML_TYPES):
        return PageText(url, error=f"not an HTML page ({content_type.split(';')[0].strip()})")
    if isinstance(html, bytes):
        html = _CONTROL_REFERENCE.sub(b"", html)
    else:
        html = _CONTROL_REFERENCE.sub(b"", html.encode("utf-8", "surrogatepass")).decode("utf-8", "replace")
    import trafilatura  # slow to import: only runs that fetch pages pay for it

    try:
        text = trafilatura.extract(
            html,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            favor_precision=True,
            # trafilatura's deduplication remembers paragraphs across calls in a process: a wire story's
            # second reprint would lose the paragraphs the first had, depending on which worker saw what.
            deduplicate=False,
        )
    except Exception as error:  # trafilatura on hostile markup: the page fails, not the run
        return PageText(url, error=f"extraction failed: {type(error).__name__}")
    text = clean_text(text or "", max_chars=200_000)
    if len(text) < MIN_ARTICLE_CHARS:
        return PageText(url, error=f"no article text on the page (only {len(text)} characters: paywall?)")
    return PageText(url, text=text)


class RobotsCache:
    """robots.txt rules per scheme://host, fetched at most once per cache (one ingest run)."""

    def __init__(self, limits: FetchLimits | None = None) -> None:
        self.limits = limits or FetchLimits()
        self.rules: dict[str, RobotFileParser] = {}

    def load(self, urls: Iterable[str]) -> None:
        wanted = sorted({robots_url(url) for url in urls} - set(self.rules))
        if not wanted:
            return
        for result in fetch_all([FetchRequest(url) for url in wanted], self.limits):
            self.rules[result.url] = parse_robots(result.body, None if result.error else result.status)
            if result.error and result.status is not None and 400 <= result.status < 500:
                self.rules[result.url] = parse_robots(None, result.status)

    def allowed(self, url: str) -> bool:
        rules = self.rules.get(robots_url(url))
        return rules is not None and rules.can_fetch(USER_AGENT, url)


def fetch_pages(
    urls: Sequence[str], limits: FetchLimits | None = None, *, robots: RobotsCache | None = None
) -> list[PageText]:
    """Fetch and extract each page (in order), honouring robots.txt; a page's failure is its `error`."""
    limits = limits or FetchLimits()
    robots = robots or RobotsCache(limits)
    robots.load(urls)
    out: dict[str, PageText] = {}
    allowed = []
    for url in urls:
        if robots.allowed(url):
            allowed.append(url)
        else:
            out[url] = PageText(url, error="disallowed by robots.txt")
    for result in fetch_all([FetchRequest(url) for url in allowed], limits):
        if result.error or result.body is None:
            out[result.url] = PageText(
                result.url, error=result.error or "no body", retry_after_seconds=result.retry_after_seconds
            )
        else:
            out[result.url] = extract_main_text(result.body, result.final_url, result.content_type)
            out[result.url].url = result.url
    return [out[url] for url in urls]
