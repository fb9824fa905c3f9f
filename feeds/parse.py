"""RSS 0.9x/1.0/2.0, Atom and RDF bytes → `ParseResult` (plain records, no I/O).

feedparser does the heavy lifting, but only ever sees a BytesIO: given a str *or bytes* that look like a
path or URL, `feedparser.parse` opens or fetches it. Before it runs we choose the charset ourselves
(`feeds.feed_encoding`) and remove any DOCTYPE internal subset: feedparser drops nested and external entities
(so billion laughs and XXE stay literal text) but keeps "safe" literal entities, and one 100 KB entity
referenced a thousand times turned a 100 KB document into 100 MB of text and 300 MB of memory.

Entry identity (`guid`): the entry's id (RSS guid / Atom id); else its link; else
"hash:" + the first 32 hex digits of sha256(title, link, published) as the feed wrote them, so an entry
without id or link keeps the same guid across polls until one of those three changes.
"""

from __future__ import annotations

import calendar
import hashlib
import importlib.util
import io
import re
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser
import feedparser.api

from feeds.feed_encoding import decode_feed
from feeds.html_text import DEFAULT_MAX_CHARS, html_to_text
from feeds.records import DATE_FROM_FEED, DATE_FROM_FETCH, ArticleRecord, ParseResult
from feeds.sanitize import clean_line, clean_text, safe_url, strip_controls

MAX_ENTRIES = 5_000
MAX_TITLE_CHARS = 500
MAX_AUTHOR_CHARS = 200
MAX_GUID_CHARS = 512
MAX_BODY_CHARS = DEFAULT_MAX_CHARS
# A title made up from the body, for entries that have none (microblog-style feeds).
_FALLBACK_TITLE_CHARS = 120

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})

_DOCTYPE = re.compile(r"<!DOCTYPE\b", re.IGNORECASE)
_ELEMENT = re.compile(r"<[A-Za-z_]")
# The DOCTYPE's name and external id up to "[" (internal subset follows) or ">" (none).
_DOCTYPE_HEAD = re.compile(r"""<!DOCTYPE((?:[^\[>"']++|"[^"]*+"|'[^']*+')*+)([\[>])""", re.IGNORECASE)
# The rest of an internal subset. Possessive quantifiers: no backtracking on hostile input.
_SUBSET_REST = re.compile(r"""(?:<!--(?s:.*?)-->|[^\]"'<]++|<|"[^"]*+"|'[^']*+')*+\]\s*>""")

# A numeric character reference. feedparser's lenient parser crashes (UnicodeEncodeError) on one that names
# a surrogate (&#xD800;), costing the whole feed; such a reference can only mean U+FFFD.
_CHAR_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# feedparser's strict parser reads through the first of these XML readers that imports (xml.sax.make_parser);
# ours buffers character data (see feeds.expat_reader). It goes after the installed ones, so a libxml2 reader
# still wins where installed; one that is not installed is dropped, as make_parser would search sys.path for
# it again for every feed (~45 us each time).
_READER = "feeds.expat_reader"
if _READER not in feedparser.api.PREFERRED_XML_PARSERS:
    feedparser.api.PREFERRED_XML_PARSERS[:] = [
        *filter(_installed, feedparser.api.PREFERRED_XML_PARSERS),
        _READER,
    ]

_HTML_START = re.compile(
    r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html\b|head\b|body\b)",
    re.IGNORECASE | re.DOTALL,
)


def parse_feed(
    body: bytes,
    *,
    url: str,
    default_outlet: str,
    fetched_at: datetime,
    response_headers: dict | None = None,
) -> ParseResult:
    """Parse one feed document. Total: problems come back in `error` / `warnings`, never as exceptions."""
    try:
        return _parse(body, url, default_outlet, fetched_at, response_headers or {})
    except Exception as exc:  # a parser bug must cost one feed, not the whole poll
        return ParseResult(error=clean_line(f"parser failed: {type(exc).__name__}: {exc}"))


def _parse(body: bytes, url: str, default_outlet: str, fetched_at: datetime, headers: dict) -> ParseResult:
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    if not body or not body.strip():
        return ParseResult(error="empty response")
    content_type = _header(headers, "content-type")
    decoded = decode_feed(bytes(body), content_type)
    warnings = [f"charset: {decoded.warning}"] if decoded.warning else []
    text = decoded.text

    # Whitespace before the XML declaration is a fatal error to a strict parser and common in the wild.
    text = text.lstrip("\ufeff \t\r\n")
    first = text[:1]
    if first in ("{", "["):
        return ParseResult(error="not a feed (got JSON; JSON Feed is not supported)", warnings=warnings)
    if first != "<":
        return ParseResult(error="not a feed (no XML markup)", warnings=warnings)

    text = _CHAR_REFERENCE.sub(_no_surrogate_reference, text)
    text, stripped = _strip_internal_subsets(text)
    if stripped:
        warnings.append("DOCTYPE internal subset removed (entity declarations are not expanded)")

    if not text.startswith("<?xml"):
        # feedparser would add one followed by a newline, shifting every reported line number by one.
        text = "<?xml version='1.0' encoding='utf-8'?>" + text
    # No Content-Location on purpose: with a base URI feedparser resolves a relative <guid> into a URL,
    # so the guid would change whenever the feed moves. Links are resolved below, against `url`.
    parsed = feedparser.parse(
        io.BytesIO(text.encode("utf-8", "surrogatepass")),
        response_headers={"content-type": "application/xml; charset=utf-8"},
        # We keep plain text only (feeds.html_text drops scripts and styles) and resolve links ourselves,
        # so feedparser's HTML sanitizer and URI rewriting would be work thrown away.
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    entries = parsed.get("entries") or []
    feed = parsed.get("feed") or {}
    bozo_exc = parsed.get("bozo_exception") if parsed.get("bozo") else None

    if not entries:
        looks_html = bool(_HTML_START.match(text[:4096])) or "html" in (content_type or "").lower()
        if looks_html and not parsed.get("version"):
            return ParseResult(error="not a feed (got an HTML page)", warnings=warnings)
        if bozo_exc is not None and not _only_undefined_entity(bozo_exc):
            return ParseResult(error=f"malformed XML: {_describe(bozo_exc)}", warnings=warnings)
        if not parsed.get("version") and not feed.get("title"):
            return ParseResult(error="not a feed (no RSS, Atom or RDF root element)", warnings=warnings)
    if bozo_exc is not None:
        warnings.append(f"malformed XML, read leniently: {_describe(bozo_exc)}")

    feed_title = _title_of(feed)
    # The outlet is the source as the user configured it (its `outlet`, else its name), not the feed's
    # <title>: many feeds are titled "News" or "Top stories", and two of them must stay two outlets. An
    # aggregator's per-item <source> still names each item's outlet.
    outlet = clean_line(default_outlet, max_chars=MAX_AUTHOR_CHARS) or feed_title
    if len(entries) > MAX_ENTRIES:
        warnings.append(f"feed has {len(entries)} entries; kept the first {MAX_ENTRIES}")
        entries = entries[:MAX_ENTRIES]

    records: list[ArticleRecord] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        try:
            record = _record(entry, url, outlet, fetched_at)
        except Exception as exc:
            warnings.append(clean_line(f"entry {index}: skipped ({type(exc).__name__}: {exc})"))
            continue
        if record.guid in seen:
            # Some feeds reuse one guid (often the homepage) for every item; keep distinct items apart.
            record.guid = f"{record.guid}#{_fallback_guid(entry)}"
            if record.guid in seen:
                warnings.append(f"entry {index}: exact duplicate of an earlier entry, skipped")
                continue
            warnings.append(f"entry {index}: duplicate guid, made unique")
        seen.add(record.guid)
        records.append(record)

    return ParseResult(
        records=records,
        error=None,
        feed_title=feed_title,
        warnings=warnings,
        ttl_seconds=_ttl_seconds(feed.get("ttl")),
    )


def _record(entry: dict, feed_url: str, outlet: str, fetched_at: datetime) -> ArticleRecord:
    body = _body_text(entry)
    title = _title_of(entry)
    if not title and body:
        title = clean_line(body.split("\n", 1)[0], max_chars=_FALLBACK_TITLE_CHARS)

    link = entry.get("link") or ""
    resolved = urljoin(feed_url, strip_controls(link).strip()) if link else ""
    url = safe_url(resolved) or ""

    # dict.get: FeedParserDict maps a missing updated_parsed onto published_parsed, with a warning.
    published = _utc(dict.get(entry, "published_parsed"))
    updated = _utc(dict.get(entry, "updated_parsed"))
    date_origin = DATE_FROM_FEED
    if published is None:
        published = updated
    if published is None:
        published = fetched_at
        date_origin = DATE_FROM_FETCH

    source = entry.get("source") or {}
    entry_outlet = _title_of(source) if isinstance(source, dict) else ""

    return ArticleRecord(
        guid=_guid(entry, url),
        title=title,
        body=body,
        url=url,
        author=clean_line(_author(entry), max_chars=MAX_AUTHOR_CHARS),
        outlet=entry_outlet or outlet,  # aggregators name each item's outlet in <source>
        published=published,
        updated=updated,
        date_origin=date_origin,
    )


def _guid(entry: dict, url: str) -> str:
    for candidate in (entry.get("id"), entry.get("link"), url):
        guid = clean_line(candidate if isinstance(candidate, str) else "", max_chars=None)
        if guid:
            if len(guid) > MAX_GUID_CHARS:
                return "sha256:" + hashlib.sha256(guid.encode("utf-8", "surrogatepass")).hexdigest()
            return guid
    return _fallback_guid(entry)


def _fallback_guid(entry: dict) -> str:
    digest = hashlib.sha256()
    for key in ("title", "link", "published"):
        value = entry.get(key)
        digest.update((value if isinstance(value, str) else "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return "hash:" + digest.hexdigest()[:32]


def _body_text(entry: dict) -> str:
    # dict.get: FeedParserDict's own lookups map missing keys onto others (summary → content).
    summary = dict.get(entry, "summary_detail") or {}
    best_value = summary.get("value") or "" if isinstance(summary, dict) else ""
    best_type = summary.get("type", "text/html") if isinstance(summary, dict) else "text/html"
    for content in dict.get(entry, "content") or []:
        value = content.get("value") or ""
        if len(value) >= len(best_value):
            best_value, best_type = value, content.get("type") or "text/html"
    if not best_value:
        return ""
    if best_type in _HTML_TYPES:
        return html_to_text(best_value, max_chars=MAX_BODY_CHARS)
    # Plain text must not go through an HTML parser: "a <b> c" would lose "<b>".
    return clean_text(best_value, max_chars=MAX_BODY_CHARS)


def _title_of(item: dict) -> str:
    title = item.get("title") or ""
    if not isinstance(title, str) or not title:
        return ""
    detail = item.get("title_detail") or {}
    if isinstance(detail, dict) and detail.get("type") in _HTML_TYPES and ("<" in title or "&" in title):
        title = html_to_text(title, max_chars=MAX_TITLE_CHARS * 4)
    return clean_line(title, max_chars=MAX_TITLE_CHARS)


def _author(entry: dict) -> str:
    author = entry.get("author")
    if isinstance(author, str) and author:
        return author
    detail = entry.get("author_detail") or {}
    name = detail.get("name") if isinstance(detail, dict) else None
    return name if isinstance(name, str) else ""


def _utc(struct) -> datetime | None:
    """feedparser's *_parsed values are UTC struct_times; out-of-range years become None."""
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _ttl_seconds(value) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes * 60 if 0 < minutes <= 525_600 else None  # at most a year


def _only_undefined_entity(exc: BaseException) -> bool:
    """HTML entities such as &eacute; in XML: strictly an error, but the lenient parse reads them fine."""
    message = exc.getMessage() if hasattr(exc, "getMessage") else str(exc)
    return str(message) == "undefined entity"


def _describe(exc: BaseException) -> str:
    message = exc.getMessage() if hasattr(exc, "getMessage") else str(exc)
    line = exc.getLineNumber() if hasattr(exc, "getLineNumber") else None
    text = clean_line(str(message) or type(exc).__name__, max_chars=200)
    return f"{text} (line {line})" if line else text


def _no_surrogate_reference(match: re.Match[str]) -> str:
    hex_digits, decimal = match.groups()
    code = int(hex_digits, 16) if hex_digits else int(decimal)
    return "&#xFFFD;" if 0xD800 <= code <= 0xDFFF else match.group(0)


def _header(headers: dict, name: str) -> str | None:
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return value if isinstance(value, str) else None
    return None


def _strip_internal_subsets(text: str) -> tuple[str, bool]:
    """Remove the internal subset of any DOCTYPE before the root element, keeping its name and public id."""
    stripped = False
    position = 0
    while True:
        start = _DOCTYPE.search(text, position)
        if start is None:
            return text, stripped
        element = _ELEMENT.search(text, position, start.start())
        if element is not None:  # a DOCTYPE after the root element is content, not a declaration
            return text, stripped
        head = _DOCTYPE_HEAD.match(text, start.start())
        if head is None:
            return text, stripped
        if head.group(2) == ">":
            position = head.end()
            continue
        rest = _SUBSET_REST.match(text, head.end())
        if rest is not None:
            end = rest.end()
        else:
            close = text.find("]>", head.end())
            # Unterminated subset: nothing after it can be a well-formed feed, drop it all.
            end = close + 2 if close >= 0 else len(text)
        replacement = f"<!DOCTYPE{head.group(1).rstrip()}>"
        text = text[: start.start()] + replacement + text[end:]
        position = start.start() + len(replacement)
        stripped = True
