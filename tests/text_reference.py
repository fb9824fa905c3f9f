"""The plain versions of the text functions that feeds/ speeds up: what the fast paths must match exactly.

These are `feeds.html_text._render` and `feeds.sanitize.strip_controls` / `clean_text` as they were before
the fast paths (commits after 146f5a6): the walk listed each node's children onto a stack, every text node
and line went through the whitespace regexes, and every string through the full strip-class search. Slower,
and obviously right; tests/test_text_fast_paths.py checks the shipped versions give the same text.
"""

from __future__ import annotations

import unicodedata

from selectolax.lexbor import LexborHTMLParser

from feeds import html_text, sanitize
from feeds.html_text import (
    _CELL,
    _DEPTH_CHECK_ABOVE,
    _HTML_WHITESPACE,
    _LINE,
    _MAX_BLOCK_DEPTH,
    _NEEDS_PARSER,
    _PARAGRAPH,
    _SKIP,
    DEFAULT_MAX_CHARS,
    _block_depth,
    _strip_tags,
)
from feeds.sanitize import _BLANK_LINES, _CONTROL, _ESCAPE_SEQUENCE, _INVISIBLE, _SURROGATE, _drop_invisible

_ANYTHING_TO_STRIP = sanitize._ANYTHING_TO_STRIP
_SPACES = sanitize.re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def strip_controls(text: str) -> str:
    if not text or not _ANYTHING_TO_STRIP.search(text):
        return text or ""
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _SURROGATE.sub("\ufffd", text)
    return _INVISIBLE.sub(_drop_invisible, text)


def clean_text(text: str | None, *, max_chars: int | None = None) -> str:
    if not text:
        return ""
    if max_chars is not None and len(text) > max_chars * 2:
        text = text[: max_chars * 2]
    text = unicodedata.normalize("NFC", strip_controls(text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars].rstrip() + "…"
    return text


def clean_line(text: str | None, *, max_chars: int | None = 1000) -> str:
    return clean_text(" ".join((text or "").split()), max_chars=max_chars)


def render(root) -> str:
    """The text of a parsed tree, as `html_text._render` gives it."""
    parts: list[str | int] = []
    pre_depth = 0
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        tag = node.tag
        if leaving:
            if tag == "pre":
                pre_depth -= 1
            if tag in _PARAGRAPH:
                parts.append(html_text._PARAGRAPH_BREAK)
            elif tag in _LINE:
                parts.append(html_text._NEWLINE)
            continue
        if tag == "-text":
            text = node.text_content or ""
            parts.append(text if pre_depth else _HTML_WHITESPACE.sub(" ", text))
            continue
        if tag is None or tag in _SKIP or tag.startswith("-"):
            continue
        if tag == "br":
            parts.append("\n")
            continue
        if tag in _PARAGRAPH:
            parts.append(html_text._PARAGRAPH_BREAK)
        elif tag in _LINE:
            parts.append(html_text._NEWLINE)
        elif tag in _CELL:
            parts.append(" ")
        elif tag == "img":
            alt = node.attributes.get("alt")
            if alt:
                parts.append(f" {alt} ")
            continue
        if tag == "pre":
            pre_depth += 1
        stack.append((node, True))
        children = list(node.iter(include_text=True))
        stack.extend((child, False) for child in reversed(children))
    return html_text._join(parts)


def html_to_text(html: str | None, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    if not html:
        return ""
    if not _NEEDS_PARSER.search(html):
        return clean_text(html, max_chars=max_chars)
    html = html[: max_chars * 10]
    if len(html) > _DEPTH_CHECK_ABOVE and _block_depth(html) > _MAX_BLOCK_DEPTH:
        return clean_text(_strip_tags(html), max_chars=max_chars)
    try:
        tree = LexborHTMLParser(html)
    except Exception:
        return clean_text(html, max_chars=max_chars)
    root = tree.root
    if root is None:
        return ""
    return clean_text(render(root), max_chars=max_chars)
