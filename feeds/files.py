"""Local article files (.txt, .md, .markdown, .html, .htm, .jsonl) read into plain `ArticleRecord`s.

Every reader here is total (feedparser's habit): bad input yields a `ParseResult` whose `error` names the file
and the problem, never an exception, so one broken file cannot stop an ingest of thousands.

Title, date, outlet and body come from general heuristics over the text, never from rules about particular
files: the title is the first non-blank line (a Markdown heading marker removed), a date is taken only from a
line that is nothing but a date within the first few lines, the outlet from a byline, a wire dateline
("BERLIN (AP) -") or a copyright footer, and page furniture goes through `feeds.boilerplate`.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import stat
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from feeds.boilerplate import strip_boilerplate
from feeds.dates import first_weekday, match_date_line, mentioned_date, parse_timestamp, resolve_yearless
from feeds.markdown import markdown_to_text, split_front_matter
from feeds.records import (
    DATE_FROM_MENTION,
    DATE_FROM_MTIME,
    DATE_FROM_RECORD,
    DATE_FROM_TEXT,
    DATE_FROM_TEXT_NO_YEAR,
    ArticleRecord,
    ParseResult,
)
from feeds.sanitize import clean_line, clean_text, safe_url

__all__ = [
    "MAX_BODY_CHARS",
    "MAX_FILE_BYTES",
    "SUPPORTED_SUFFIXES",
    "JsonlReader",
    "read_article_file",
    "read_jsonl_file",
    "read_path",
]

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".jsonl"})
_HTML_SUFFIXES = frozenset({".html", ".htm"})
_MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})

# A single article file larger than this is a mistake or an attack; read this much and say so.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_BODY_CHARS = 200_000
MAX_TITLE_CHARS = 300
# A .jsonl file is streamed, so only a single line is capped.
MAX_JSONL_LINE_BYTES = 2 * 1024 * 1024
# Date and byline lines are looked for only this many non-blank lines below the title.
HEADER_LINES = 5
# A headline made from a lede paragraph is cut to this length.
_MAX_LEDE_TITLE_CHARS = 200

_BINARY_SAMPLE_BYTES = 8192
_MAX_CONTROL_SHARE = 0.05  # of the sampled characters

_HEADING_MARK = re.compile(r"^#{1,6}\s+")
# "BERLIN (AP) - ...", "WASHINGTON, Nov 5 (Reuters) - ...": an upper-case place, the wire in brackets.
_WIRE_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z .'’/-]{1,40}?)(?:,[^()\n]{1,30}?)?\s*\((?P<credit>[^()\n]*[A-Za-z][^()\n]{0,38})\)"
    r"\s*[-–—:]+\s*"
)
_BYLINE = re.compile(r"^(?:by|from|source|via)\s*[:\-–]?\s+(?P<name>\S.{0,79})$", re.IGNORECASE)
# Words that make a byline an organisation (the outlet) rather than a person (the author).
_ORGANISATION = re.compile(
    r"\b(?:agency|agencies|news|press|service|wire|wires|times|post|journal|herald|tribune|gazette|daily"
    r"|media|network|radio|tv|television|broadcasting|reuters|afp|ap|dpa|bloomberg|staff|bureau|desk"
    r"|online|magazine|observer|telegraph|guardian|ministry|office|council|commission)\b|\.(?:com|org|net)\b",
    re.IGNORECASE,
)
_COPYRIGHT_NAME = re.compile(
    r"^(?:copyright\b\s*|©\s*|\(c\)\s*)+(?:\d{4}(?:\s*[-–]\s*\d{4})?\s*,?\s*)?(?:by\s+)?"
    r"(?P<name>.+?)\s*(?:[.,]?\s*all rights reserved\.?)?$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?][\"”’']?$")
_FIRST_SENTENCE = re.compile(r"(?<=[.!?])[\"”’]?\s+(?=[\"“‘A-Z0-9])")


@dataclass(slots=True)
class _Article:
    title: str = ""
    body: str = ""
    published: datetime | None = None
    outlet: str = ""
    author: str = ""
    yearless: tuple[int, int] | None = None  # (month, day) of a date line without a year


# --------------------------------------------------------------------------------------------------------
# Public API


def read_path(path: Path, *, default_outlet: str, guid: str | None = None) -> ParseResult:
    """Read any supported file, choosing the reader by its (case-insensitive) suffix.

    `guid` names an article file within its source (see `feeds.paths.local_guid`); default: its file name.
    A .jsonl file's records carry their own guids."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl_file(path, default_outlet=default_outlet)
    if suffix in SUPPORTED_SUFFIXES:
        return read_article_file(path, default_outlet=default_outlet, guid=guid)
    return ParseResult(error=f"{path}: unsupported file type {suffix or '(no suffix)'!r}")


def read_article_file(path: Path, *, default_outlet: str, guid: str | None = None) -> ParseResult:
    """One article from a .txt, .md/.markdown or .html/.htm file; never raises on bad input."""
    path = Path(path)
    warnings: list[str] = []
    try:
        data, size, mtime = _read_capped(path, MAX_FILE_BYTES)
    except OSError as exc:
        return ParseResult(error=f"{path}: cannot read: {exc.strerror or exc}")
    except ValueError as exc:
        return ParseResult(error=f"{path}: {exc}")
    truncated = size > len(data)
    if truncated:
        warnings.append(f"{path.name}: file is {size:,} bytes; read only the first {len(data):,}")
    if not data.strip():
        return ParseResult(error=f"{path}: empty file", warnings=warnings)
    text, encoding = _decode(data, final=not truncated)
    if _looks_binary(text):
        return ParseResult(error=f"{path}: not a text file (binary content)", warnings=warnings)
    if encoding != "utf-8":
        warnings.append(f"{path.name}: not valid UTF-8; decoded as {encoding}")

    suffix = path.suffix.lower()
    try:
        if suffix in _HTML_SUFFIXES:
            article = _from_html(text)
        elif suffix in _MARKDOWN_SUFFIXES:
            article = _from_markdown(text)
        else:
            article = _from_plain(text)
    except Exception as exc:  # a heuristic or library bug must cost one file, not the whole ingest
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        return ParseResult(error=f"{path}: could not parse: {reason}", warnings=warnings)

    title = article.title or clean_line(path.stem.replace("_", " "), max_chars=MAX_TITLE_CHARS)
    if not title and not article.body:
        return ParseResult(error=f"{path}: no readable text", warnings=warnings)
    published, origin = _best_date(article, mtime)
    record = ArticleRecord(
        guid=guid or path.name,
        title=title,
        body=article.body,
        url=_file_uri(path),
        author=article.author,
        outlet=article.outlet or clean_line(default_outlet),
        published=published,
        date_origin=origin,
    )
    return ParseResult(records=[record], warnings=warnings)


def _best_date(article: _Article, file_time: datetime) -> tuple[datetime, str]:
    """The best publication date the text gives, else the file's time as a stand-in (marked as such).

    A date line wins; then a date line without a year, placed in the nearest past year that fits the
    weekday the opening names (or the nearest past one); then the latest full date mentioned in the text."""
    if article.published is not None:
        return article.published, DATE_FROM_TEXT
    if article.yearless is not None:
        month, day = article.yearless
        weekday = first_weekday(article.body[:600])
        if (when := resolve_yearless(month, day, file_time, weekday=weekday)) is not None:
            return when, DATE_FROM_TEXT_NO_YEAR
    if (when := mentioned_date(article.body, file_time)) is not None:
        return when, DATE_FROM_MENTION
    return file_time, DATE_FROM_MTIME


def read_jsonl_file(path: Path, *, default_outlet: str) -> ParseResult:
    """Articles from a .jsonl file, one JSON object per line; bad lines become warnings and are skipped.

    Each warning reads "<file name>:<line number>: <reason>". The whole file's records are returned; to hold
    only a slice at a time, use `JsonlReader` directly.
    """
    reader = JsonlReader(Path(path), default_outlet=default_outlet)
    records = [record for batch in reader.batches(1 << 30) for record in batch]
    return ParseResult(records=records, warnings=reader.warnings, error=reader.error)


class JsonlReader:
    """A .jsonl file read line by line, in batches of records: its size is not limited, only one line's.

    `warnings` and `error` are complete once `batches()` is exhausted; `error` is set when the file cannot
    be read or holds no readable article at all (the batches read before a read failure stand).

    With an `executor`, lines are turned into records there (JSON decoding and cleaning are most of the
    cost), `ahead` batches at a time, and come back in file order. A batch whose task failed is read here,
    unless it failed with TimeoutError (its worker was stopped as hung, and so could this process be): its
    lines are then reported as not read."""

    def __init__(self, path: Path, *, default_outlet: str) -> None:
        self.path = path
        self.default_outlet = default_outlet
        self.warnings: list[str] = []
        self.error: str | None = None
        self.count = 0

    def batches(
        self, size: int, *, executor: Executor | None = None, ahead: int = 2
    ) -> Iterator[list[ArticleRecord]]:
        path = self.path
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                self.error = f"{path}: not a regular file"
                return
            handle = open(path, "rb")  # noqa: SIM115 - closed by the with-block below
        except OSError as exc:
            self.error = f"{path}: cannot read: {exc.strerror or exc}"
            return
        mtime = datetime.fromtimestamp(info.st_mtime, tz=UTC)
        outlet_default = clean_line(self.default_outlet)
        seen: set[str] = set()
        lines_seen = 0
        fallback_noted = False
        pending: deque[tuple[Future[JsonlBatch] | None, list[tuple[int, bytes | None]]]] = deque()

        def take() -> list[ArticleRecord]:
            nonlocal fallback_noted
            future, lines = pending.popleft()
            try:
                parsed = future.result() if future is not None else None
            except TimeoutError as error:  # stopped as hung: read here, it could hang this process
                first, last = lines[0][0], lines[-1][0]
                self.warnings.append(f"{path.name}:{first}-{last}: lines not read: {error}")
                return []
            except Exception:  # a worker that died costs time, not the lines it held
                parsed = None
            if parsed is None:
                parsed = parse_jsonl_lines(lines, mtime=mtime, default_outlet=outlet_default)
            for number, warning, encoding_note in parsed.warnings:
                if encoding_note:  # said once a file
                    if fallback_noted:
                        continue
                    fallback_noted = True
                self.warnings.append(f"{path.name}:{number}: {warning}")
            for number, record in parsed.records:
                if record.guid in seen:
                    self.warnings.append(
                        f"{path.name}:{number}: duplicate guid {record.guid[:80]!r}; the later line wins on store"
                    )
                seen.add(record.guid)
            self.count += len(parsed.records)
            return [record for _, record in parsed.records]

        def submit(lines: list[tuple[int, bytes | None]]) -> None:
            future = None
            if executor is not None:
                try:
                    future = executor.submit(
                        parse_jsonl_lines, lines, mtime=mtime, default_outlet=outlet_default
                    )
                except Exception:  # a broken pool: parse here
                    future = None
            pending.append((future, lines))

        lines: list[tuple[int, bytes | None]] = []
        try:
            with handle:
                for number, raw in _jsonl_lines(handle):
                    lines_seen += 1
                    lines.append((number, raw))
                    if len(lines) >= size:
                        submit(lines)
                        lines = []
                        while len(pending) > (ahead if executor is not None else 0):
                            yield take()
        except OSError as exc:
            self.error = f"{path}: read failed: {exc}"
        if lines:
            submit(lines)
        while pending:
            batch = take()
            if batch:
                yield batch
        if not self.count and self.error is None:
            problem = "empty file" if lines_seen == 0 else "no readable articles"
            self.error = f"{path}: {problem}"


@dataclass(slots=True)
class JsonlBatch:
    records: list[tuple[int, ArticleRecord]]  # (line number, record)
    warnings: list[tuple[int, str, bool]]  # (line number, reason, is the "not valid UTF-8" note)


def parse_jsonl_lines(
    lines: Sequence[tuple[int, bytes | None]], *, mtime: datetime, default_outlet: str
) -> JsonlBatch:
    """Records of a run of .jsonl lines (None: a line over the size cap); total, bad lines become warnings."""
    out = JsonlBatch([], [])
    for number, raw in lines:
        if raw is None:
            out.warnings.append((number, f"line longer than {MAX_JSONL_LINE_BYTES:,} bytes", False))
            continue
        if not raw.strip():
            continue
        text, encoding = _decode(raw, final=True, bom_ok=number == 1)
        if encoding != "utf-8":
            out.warnings.append((number, f"not valid UTF-8; decoded as {encoding}", True))
        try:
            out.records.append((number, _record_from_json(text, mtime=mtime, default_outlet=default_outlet)))
        except _BadLine as exc:
            out.warnings.append((number, str(exc), False))
    return out


def _read_capped(path: Path, cap: int) -> tuple[bytes, int, datetime]:
    """At most `cap` bytes of a regular file, its full size and its mtime (UTC)."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end; a directory cannot be read at all.
        raise ValueError("not a regular file")
    with open(path, "rb") as handle:
        data = handle.read(cap)
        size = max(info.st_size, len(data) + (1 if handle.read(1) else 0))
    return data, size, datetime.fromtimestamp(info.st_mtime, tz=UTC)


def _decode(data: bytes, *, final: bool, bom_ok: bool = True) -> tuple[str, str]:
    """Text and the encoding that worked: UTF-8 (BOM allowed), UTF-16 with a BOM, then cp1252, latin-1."""
    if bom_ok and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    try:
        # Incremental, so a read cut inside a multi-byte character loses that character, not the encoding.
        decoder = codecs.getincrementaldecoder("utf-8-sig" if bom_ok else "utf-8")()
        return decoder.decode(data, final=final), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _looks_binary(text: str) -> bool:
    # A share, not a presence test: a stray NUL or ESC in a text file is hostile content for the sanitizer
    # to drop, while real binary data (images, archives, UTF-16 without a BOM) is full of control bytes.
    sample = text[:_BINARY_SAMPLE_BYTES]
    controls = sum(
        1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f\x1b") or 0x7F <= ord(ch) < 0xA0
    )
    return controls > _MAX_CONTROL_SHARE * len(sample)


def _file_uri(path: Path) -> str:
    try:
        return path.absolute().as_uri()
    except ValueError:
        return ""


# --------------------------------------------------------------------------------------------------------
# Plain text: the heuristics every format ends up in


def _from_plain(text: str, *, title: str = "", first_line_is_heading: bool | None = None) -> _Article:
    """Title, date, outlet and body from article text.

    `title` is a title already known (HTML <title>, front matter); then a first line equal to it is dropped.
    `first_line_is_heading` says the format marked the first line as a heading (Markdown); None means judge by
    a leading "#".
    """
    text = clean_text(text[: MAX_BODY_CHARS * 2])
    lines = [line.strip() for line in text.split("\n")]
    article = _Article()
    wire_credit = ""

    # Date lines above the title (" date 2024-11-07 " at the top of a page dump).
    while (index := _first_content(lines)) is not None:
        found = match_date_line(lines[index])
        if found is None:
            break
        article.published = article.published or found.when
        del lines[index]

    index = _first_content(lines)
    if index is not None:
        first = lines[index]
        is_heading = (
            bool(_HEADING_MARK.match(first)) if first_line_is_heading is None else first_line_is_heading
        )
        if title:
            article.title = title
            if _same_title(first, title):
                del lines[index]
        elif not is_heading and _looks_like_lede(first):
            # The file starts with its first paragraph: make a headline from it, keep the paragraph.
            article.title = _headline_from_lede(first)
        else:
            article.title = _HEADING_MARK.sub("", first)
            del lines[index]

    _take_header(lines, article)

    index = _first_content(lines)
    if index is not None and (m := _WIRE_DATELINE.match(lines[index])):
        wire_credit = m["credit"].strip()
    copyright_names = _copyright_names(lines)

    lines = strip_boilerplate(lines)
    article.body = clean_text("\n".join(lines), max_chars=MAX_BODY_CHARS)
    article.title = clean_line(article.title, max_chars=MAX_TITLE_CHARS)
    if not article.outlet:
        article.outlet = _pick_outlet(wire_credit, copyright_names)
    return article


def _first_content(lines: list[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if line), None)


def _same_title(line: str, title: str) -> bool:
    return clean_line(_HEADING_MARK.sub("", line)).casefold() == clean_line(title).casefold()


def _looks_like_lede(line: str) -> bool:
    """A first line that is a paragraph of prose rather than a headline."""
    if _WIRE_DATELINE.match(line):
        return True
    return len(line) > 300 or (len(line) > 150 and bool(_SENTENCE_END.search(line)))


def _headline_from_lede(line: str) -> str:
    text = _WIRE_DATELINE.sub("", line, count=1)
    sentence = _FIRST_SENTENCE.split(text, maxsplit=1)[0].strip()
    if len(sentence) > _MAX_LEDE_TITLE_CHARS:
        cut = sentence[:_MAX_LEDE_TITLE_CHARS].rsplit(" ", 1)[0]
        return cut.rstrip(" ,;:-–—") + "…"
    return sentence[:-1] if sentence.endswith(".") and not sentence.endswith("..") else sentence


def _take_header(lines: list[str], article: _Article) -> None:
    """Consume date lines and a byline among the first HEADER_LINES non-blank lines (after the title)."""
    seen = 0
    index = 0
    while index < len(lines) and seen < HEADER_LINES:
        line = lines[index]
        if not line:
            index += 1
            continue
        seen += 1
        found = match_date_line(line)
        if found is not None and found.when is not None:
            article.published = article.published or found.when
            del lines[index]
            continue
        if found is not None:
            # A date without a year ("Dec. 16 –"): its year comes from context once the file's time is known
            # (`_best_date`), and the line stays, since story grouping reads months from the lead.
            if found.month is not None and article.yearless is None:
                article.yearless = (found.month, found.day or 1)
            index += 1
            continue
        byline = _BYLINE.match(line)
        if byline and not (article.outlet and article.author) and _plausible_name(byline["name"]):
            name = clean_line(byline["name"].strip(" |,;-–—"), max_chars=120)
            if _ORGANISATION.search(name) or line.lower().startswith(("source", "via")):
                article.outlet = article.outlet or name
            else:
                article.author = article.author or name
            del lines[index]
            continue
        index += 1


def _plausible_name(name: str) -> bool:
    words = name.split()
    return 0 < len(words) <= 8 and name[:1].isupper() and not _SENTENCE_END.search(name.strip())


def _copyright_names(lines: list[str]) -> list[str]:
    """Names from copyright lines among the last few non-blank lines, nearest to the article first."""
    tail = [line for line in lines[-40:] if line][-8:]
    names = []
    for line in tail:
        if len(line) > 160:
            continue
        m = _COPYRIGHT_NAME.match(line)
        if m:
            name = clean_line(m["name"].strip(" .,;-–—"), max_chars=120)
            if name and len(name.split()) <= 6 and any(ch.isalpha() for ch in name):
                names.append(name)
    return names


def _pick_outlet(wire_credit: str, copyright_names: list[str]) -> str:
    # A copyright line that names the wire credit ("Copyright Example News/AP" for "(AP)") says more
    # than either alone; otherwise the dateline credit names who wrote the text, the footer who published it.
    if wire_credit:
        for name in copyright_names:
            if wire_credit.casefold() in name.casefold():
                return name
        return clean_line(wire_credit, max_chars=120)
    return copyright_names[0] if copyright_names else ""


# --------------------------------------------------------------------------------------------------------
# Markdown and HTML


def _from_markdown(text: str) -> _Article:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta, rest = split_front_matter(text)
    first = next((line for line in rest.split("\n") if line.strip()), "")
    plain = markdown_to_text(rest)
    article = _from_plain(
        plain,
        title=clean_line(meta.get("title", ""), max_chars=MAX_TITLE_CHARS),
        first_line_is_heading=first.lstrip().startswith("#"),
    )
    meta_date = next((meta[key] for key in ("date", "published", "pubdate") if meta.get(key)), "")
    if meta_date and (when := parse_timestamp(meta_date)) is not None:
        article.published = when
    meta_outlet = next((meta[k] for k in ("source", "outlet", "publisher", "site_name") if meta.get(k)), "")
    if meta_outlet:
        article.outlet = clean_line(meta_outlet, max_chars=120)
    if meta.get("author"):
        article.author = clean_line(meta["author"], max_chars=120)
    return article


def _from_html(html: str) -> _Article:
    import trafilatura  # slow to import; only HTML files pay for it
    from trafilatura.settings import set_date_params

    # No url argument and a string input: trafilatura parses what it is given and fetches nothing. Only
    # structured dates (meta tags, JSON-LD, <time>): the extensive search also picks dates out of prose.
    document = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        date_extraction_params=set_date_params(False),
    )
    title = date = sitename = author = text = ""
    if document is not None:
        data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
        title = data.get("title") or ""
        date = data.get("date") or ""
        sitename = data.get("sitename") or ""
        author = data.get("author") or ""
        text = data.get("text") or ""
    if not text.strip():
        fallback_title, text = _selectolax_text(html)
        title = title or fallback_title
    article = _from_plain(text, title=clean_line(title, max_chars=MAX_TITLE_CHARS))
    if date and (when := parse_timestamp(date)) is not None:
        article.published = when
    if sitename:
        article.outlet = clean_line(sitename, max_chars=120)
    if author:
        article.author = clean_line(author, max_chars=120)
    return article


def _selectolax_text(html: str) -> tuple[str, str]:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title") or tree.css_first("h1")
    title = title_node.text(strip=True) if title_node else ""
    for node in tree.css("script, style, noscript, template, head, nav, footer, aside, form"):
        node.decompose()
    root = tree.body or tree.root
    text = root.text(separator="\n", strip=True) if root is not None else ""
    return title, text


# --------------------------------------------------------------------------------------------------------
# JSON Lines


class _BadLine(ValueError):
    """A .jsonl line that cannot become a record; its message is the reason shown to the user."""


def _jsonl_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) pairs; bytes is None for a line over the cap (its rest is skipped unread)."""
    number = 0
    while True:
        raw = handle.readline(MAX_JSONL_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_JSONL_LINE_BYTES and not raw.endswith(b"\n"):
            while True:
                chunk = handle.readline(1 << 20)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield number, None
            continue
        yield number, raw


def _text_field(obj: dict, *keys: str) -> str:
    for key in keys:
        value = obj.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _BadLine(f"field {key!r} is not a string")
        return str(value)
    return ""


def _record_from_json(text: str, *, mtime: datetime, default_outlet: str) -> ArticleRecord:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise _BadLine(f"invalid JSON ({reason})") from None
    if not isinstance(obj, dict):
        raise _BadLine(f"not a JSON object (got {type(obj).__name__})")
    raw_title = _text_field(obj, "title")
    raw_body = _text_field(obj, "body", "text", "content")
    title = clean_line(raw_title, max_chars=MAX_TITLE_CHARS)
    body = clean_text(raw_body, max_chars=MAX_BODY_CHARS)
    if not title and not body:
        raise _BadLine("no title and no body")
    if not title:
        first = next((line for line in body.split("\n") if line), "")
        title = clean_line(_headline_from_lede(first), max_chars=MAX_TITLE_CHARS)

    published_raw = obj.get("published")
    if published_raw is None or (isinstance(published_raw, str) and not published_raw.strip()):
        published, origin = mtime, DATE_FROM_MTIME
    else:
        published = parse_timestamp(published_raw)
        if published is None:
            raise _BadLine(f"unparseable date {str(published_raw)[:60]!r}")
        origin = DATE_FROM_RECORD

    url = _text_field(obj, "url", "link").strip()
    guid = _text_field(obj, "guid", "id").strip() or url
    if not guid:
        digest = hashlib.sha256()
        digest.update(raw_title.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
        digest.update(raw_body.encode("utf-8", "surrogatepass"))
        guid = "sha256:" + digest.hexdigest()[:32]
    return ArticleRecord(
        guid=clean_line(guid, max_chars=2000),
        title=title,
        body=body,
        # The link is opened in a browser: http(s) only ("javascript:..." or "file:///etc/passwd" go).
        url=safe_url(clean_line(url, max_chars=4000)) or "",
        author=clean_line(_text_field(obj, "author"), max_chars=300),
        outlet=clean_line(_text_field(obj, "source", "outlet"), max_chars=300) or default_outlet,
        published=published,
        date_origin=origin,
    )
