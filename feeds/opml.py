"""OPML subscription lists in and out.

Reading is tolerant (outlines at any depth, a missing <body> or a wrong root element is fine) but only
http(s) feed URLs come out: newsboat-style `|command` and `exec:` entries would run programs, and we never
build commands from file data. Python's expat never fetches external entities; we refuse any DOCTYPE so
internal entity expansion (billion laughs) cannot happen either.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

from feeds.sanitize import clean_line, safe_url

MAX_OPML_BYTES = 20 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


class OpmlError(ValueError):
    """An OPML file that cannot be read; the message is one line and names the file."""


def read_opml(path: str | Path) -> list[tuple[str, str]]:
    """(name, feed URL) for every http(s) feed outline, in document order, names made unique."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_OPML_BYTES + 1)
    except OSError as error:
        raise OpmlError(f"{path}: cannot read: {error.strerror or error}") from None
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"{path}: larger than {MAX_OPML_BYTES // (1024 * 1024)} MiB, not an OPML list")
    if _DOCTYPE.search(data):
        raise OpmlError(f"{path}: DOCTYPE declarations are not allowed in OPML")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        line, column = error.position
        message = str(error).split(":", 1)[0]
        raise OpmlError(f"{path}: not valid XML: {message} (line {line}, column {column + 1})") from None

    feeds: list[tuple[str, str]] = []
    seen_urls: set[str] = set()
    used_names: set[str] = set()
    for outline in root.iter():
        if not isinstance(outline.tag, str) or _local(outline.tag) != "outline":
            continue
        attrs = {_local(key).lower(): value for key, value in outline.attrib.items()}
        url = safe_url((attrs.get("xmlurl") or "").strip())
        if not url or url in seen_urls:
            continue
        seen_urls.add(url)
        name = clean_line(attrs.get("title") or attrs.get("text"), max_chars=200) or _name_from_url(url)
        feeds.append((_unique(name, used_names), url))
    return feeds


def write_opml(feeds: list[tuple[str, str]], *, title: str = "newswatch feeds") -> str:
    """An OPML 2.0 document listing `feeds` as (name, URL) pairs."""
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = clean_line(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(opml, "body")
    for name, url in feeds:
        # XML 1.0 cannot carry control characters at all; clean_line removes them.
        label = clean_line(name)
        ET.SubElement(
            body, "outline", type="rss", text=label, title=label, xmlUrl=clean_line(url, max_chars=None)
        )
    ET.indent(opml, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(opml, encoding="unicode") + "\n"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _name_from_url(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return (parts.hostname or url) + (path if path else "")


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 2
    while candidate in used:
        candidate = f"{name} ({n})"
        n += 1
    used.add(candidate)
    return candidate
