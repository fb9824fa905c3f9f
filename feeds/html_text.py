"""HTML fragments from feed entries → readable plain text.

Feed summaries and content are HTML written by strangers. A reader wants the words with paragraph breaks,
not markup: block elements become line breaks, scripts and styles vanish, entities are decoded (lexbor does
that), and the result goes through `clean_text` so control characters and escape sequences never survive.
"""

from __future__ import annotations

import html as html_lib
import re

from selectolax.lexbor import LexborHTMLParser

from feeds.sanitize import clean_text

DEFAULT_MAX_CHARS = 200_000

# Their text is code or chrome, never article prose.
_SKIP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "svg",
        "canvas",
        "head",
        "select",
    }
)
# Elements that end a paragraph: a blank line after them keeps paragraphs apart after clean_text.
_PARAGRAPH = frozenset(
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl",
        "figure", "hr", "article", "section", "aside", "header", "footer", "address", "details",
    }
)  # fmt: skip
# Elements that start a new line but are not paragraphs of their own.
_LINE = frozenset(
    {
        "div", "li", "tr", "dt", "dd", "figcaption", "nav", "main", "form", "fieldset", "legend",
        "summary", "caption", "option", "center",
    }
)  # fmt: skip
_CELL = frozenset({"td", "th"})

_HTML_WHITESPACE = re.compile(r"[ \t\n\r\f]+")

# lexbor checks the stack of open elements for each block start tag, so thousands of nested <div>s cost
# quadratic time (20k nested divs: 0.5 s, 100k: 23 s). Deeper fragments than this take the regex path.
_MAX_BLOCK_DEPTH = 2000
_DEPTH_CHECK_ABOVE = 10_000  # shorter fragments cannot nest deep enough to matter
_BLOCK_TAG = re.compile(
    r"<(/?)(?:div|blockquote|section|article|aside|header|footer|nav|main|ul|ol|dl|dir|menu|fieldset|figure"
    r"|details|center|form|table|address|hgroup|search|dialog)\b",
    re.IGNORECASE,
)
_STRIP_SKIPPED = re.compile(r"<(script|style|noscript|template|svg)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_STRIP_BREAK = re.compile(
    r"<(?:br|/?(?:p|div|li|tr|h[1-6]|blockquote|pre|table|ul|ol|section|article))\b[^>]*>", re.IGNORECASE
)
_STRIP_TAG = re.compile(r"<[^>]*>")
# Anything that makes a string need an HTML parser at all.
_NEEDS_PARSER = re.compile(r"[<&]")


def html_to_text(html: str | None, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Plain text of an HTML fragment: block elements as line breaks, at most `max_chars` characters."""
    if not html:
        return ""
    if not _NEEDS_PARSER.search(html):
        return clean_text(html, max_chars=max_chars)
    # Bound the parser's work: markup rarely exceeds ten times the text it carries.
    html = html[: max_chars * 10]
    if len(html) > _DEPTH_CHECK_ABOVE and _block_depth(html) > _MAX_BLOCK_DEPTH:
        return clean_text(_strip_tags(html), max_chars=max_chars)
    try:
        tree = LexborHTMLParser(html)
    except Exception:  # lexbor refuses some inputs (e.g. lone surrogates); fall back to the raw text
        return clean_text(html, max_chars=max_chars)
    root = tree.root
    if root is None:
        return ""
    return clean_text(_render(root), max_chars=max_chars)


# Break markers in the output stream; adjacent breaks merge into the strongest one, so "</li><li>"
# gives one newline rather than two.
_NEWLINE = 1
_PARAGRAPH_BREAK = 2


def _render(root) -> str:
    parts: list[str | int] = []
    append = parts.append
    pre_depth = 0
    root_id = root.mem_id
    # Walked by first child / next sibling / parent links rather than recursion or a stack: hostile HTML
    # nests thousands of elements deep, and each link is one lookup (listing each node's children cost
    # twice the whole walk). An element's closing break is added when the walk climbs back out of it.
    node = root
    while True:
        tag = node.tag
        if tag == "-text":
            text = node.text_content or ""
            if not pre_depth and _has_html_whitespace_to_fold(text):
                text = _HTML_WHITESPACE.sub(" ", text)
            append(text)
        elif tag == "br":
            append("\n")  # text, not a marker: two <br>s are a deliberate blank line
        elif tag == "img":
            alt = node.attributes.get("alt")
            if alt:
                append(f" {alt} ")
        # No tag: a processing instruction (<?php …?>), code rather than prose; "-…": comments, doctype.
        elif tag is not None and tag not in _SKIP and not tag.startswith("-"):
            if tag in _PARAGRAPH:
                append(_PARAGRAPH_BREAK)
            elif tag in _LINE:
                append(_NEWLINE)
            elif tag in _CELL:
                append(" ")
            if tag == "pre":
                pre_depth += 1
            child = node.first_child
            if child is not None:
                node = child
                continue
            pre_depth -= _close(tag, append)
        # Done with this node: on to its next sibling, closing every element the walk climbs out of.
        while True:
            if node.mem_id == root_id:
                return _join(parts)
            sibling = node.next
            if sibling is not None:
                node = sibling
                break
            node = node.parent
            pre_depth -= _close(node.tag, append)


def _close(tag: str, append) -> int:
    """Leave an element: its closing break; 1 if it was a <pre> (for the caller's depth), else 0."""
    if tag in _PARAGRAPH:
        append(_PARAGRAPH_BREAK)
    elif tag in _LINE:
        append(_NEWLINE)
    return 1 if tag == "pre" else 0


def _has_html_whitespace_to_fold(text: str) -> bool:
    """Whether `_HTML_WHITESPACE.sub(" ", text)` changes text: most text nodes hold single spaces only, and
    a few `in` tests cost far less than a substitution that replaces every space with itself."""
    return "  " in text or "\n" in text or "\t" in text or "\r" in text or "\f" in text


def _join(parts: list[str | int]) -> str:
    out: list[str] = []
    pending = 0
    for part in parts:
        if isinstance(part, int):
            pending = max(pending, part)
            continue
        if pending:
            out.append("\n" * pending)
            pending = 0
        out.append(part)
    return "".join(out)


def _block_depth(html: str) -> int:
    depth = deepest = 0
    for match in _BLOCK_TAG.finditer(html):
        if match.group(1):
            depth = max(depth - 1, 0)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _strip_tags(html: str) -> str:
    """A linear-time approximation for pathological markup: the words survive, the layout is rougher."""
    text = _STRIP_SKIPPED.sub(" ", html)
    text = _STRIP_BREAK.sub("\n", text)
    return html_lib.unescape(_STRIP_TAG.sub("", text))
