"""OPML subscription lists in and out.

Reading is tolerant (outlines at any depth, a missing <body> or a wrong root element is fine) but only
http(s) feed URLs come out: newsboat-style `|command` and `exec:` entries would run programs, and we never
build commands from file data; the outlines left out are returned too, so the caller can name them.
The parser (expat) refuses any DOCTYPE as it meets it, after decoding, so internal entity expansion (billion
laughs, an entity-defined URL) cannot happen in any encoding, and it never fetches external entities.
"""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.parsers import expat

from feeds.sanitize import clean_line, safe_url

MAX_OPML_BYTES = 20 * 1024 * 1024


class OpmlError(ValueError):
    """An OPML file that cannot be read; the message is one line and names the file."""


@dataclass(slots=True)
class OpmlOutlines:
    """What an OPML file lists: its http(s) feeds as (name, URL), names unique ignoring case, and the
    outlines left out (a command, another scheme, a repeated URL) as (name, what it pointed at, why)."""

    feeds: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)


class _DoctypeRefused(Exception):
    pass


def read_opml(path: str | Path) -> list[tuple[str, str]]:
    """(name, feed URL) for every http(s) feed outline, in document order, names made unique."""
    return read_opml_outlines(path).feeds


def read_opml_outlines(path: str | Path) -> OpmlOutlines:
    """Every outline of an OPML file: the feeds it lists and the outlines left out. Raises OpmlError."""
    path = Path(path)
    data = _read_regular_file(path)
    found = OpmlOutlines()
    seen_urls: set[str] = set()
    used_names: set[str] = set()

    def outline(tag: str, attributes: dict[str, str]) -> None:
        if _local(tag) != "outline":
            return
        attrs = {_local(key).lower(): value for key, value in attributes.items()}
        label = clean_line(attrs.get("title") or attrs.get("text"), max_chars=200)
        raw_url = clean_line(attrs.get("xmlurl"), max_chars=300)
        if not raw_url:
            return  # a folder: its children are read on their own
        url = safe_url(attrs["xmlurl"].strip())
        if not url:
            found.skipped.append((label, raw_url, "not an http(s) feed URL"))
            return
        if url in seen_urls:
            found.skipped.append((label, raw_url, "listed twice"))
            return
        seen_urls.add(url)
        found.feeds.append((_unique(label or _name_from_url(url), used_names), url))

    def refuse_doctype(*_args: object) -> None:
        raise _DoctypeRefused

    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.StartElementHandler = outline
    try:
        parser.Parse(data, True)
    except _DoctypeRefused:
        raise OpmlError(f"{path}: DOCTYPE declarations are not allowed in OPML") from None
    except expat.ExpatError as error:
        message = expat.ErrorString(error.code)
        raise OpmlError(
            f"{path}: not valid XML: {message} (line {error.lineno}, column {error.offset + 1})"
        ) from None
    return found


def _read_regular_file(path: Path) -> bytes:
    """At most MAX_OPML_BYTES of a regular file. A FIFO or a device would block every command that reads
    the config (or never end), so it is refused before it is opened for reading."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise OpmlError(f"{path}: cannot read: {kind}")
        # O_NONBLOCK: if the path is swapped for a FIFO after the check, open() still does not wait.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise OpmlError(f"{path}: cannot read: not a regular file")
            data = handle.read(MAX_OPML_BYTES + 1)
    except OSError as error:
        raise OpmlError(f"{path}: cannot read: {error.strerror or error}") from None
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"{path}: larger than {MAX_OPML_BYTES // (1024 * 1024)} MiB, not an OPML list")
    return data


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
    """`name`, or `name (2)`, `name (3)`…: unique ignoring case, as source names are. `used` holds casefolded
    names."""
    candidate, n = name, 2
    while candidate.casefold() in used:
        candidate = f"{name} ({n})"
        n += 1
    used.add(candidate.casefold())
    return candidate
