"""Markdown to readable plain text, plus the simple front matter that static-site exports carry.

Not a Markdown renderer: it removes the markup a reader would otherwise see as noise (heading markers,
emphasis, link and image syntax, fences, rules, quote markers) and keeps the words, line by line, so the
plain-text heuristics (title, date line, boilerplate) can run on the result.
"""

from __future__ import annotations

import re

_FRONT_MATTER_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:\s*(?P<value>.*)$")
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)|!\[[^\]\n]*\]\[[^\]\n]*\]")
_INLINE_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_REFERENCE_LINK = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s+\S+.*$")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(?:=+|-+)\s*$")
_RULE = re.compile(r"^\s{0,3}(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})$")
_FENCE = re.compile(r"^\s{0,3}(?:```|~~~)")
_QUOTE = re.compile(r"^\s{0,3}(?:>\s?)+")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_CODE = re.compile(r"`+([^`\n]+)`+")
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>\n]{0,200}>")


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split a leading `---` ... `---` block of `key: value` lines from the text.

    Only flat scalar keys are read (lowercased, quotes removed); anything else in the block is ignored, since
    we want title/date/author/source and not a YAML parser's attack surface.
    """
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, min(len(lines), 200)):
        if lines[end].strip() in {"---", "..."}:
            break
    else:
        return {}, text
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        m = _FRONT_MATTER_KEY.match(line.strip())
        if m:
            value = m["value"].strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            meta.setdefault(m["key"].lower(), value)
    return meta, "\n".join(lines[end + 1 :])


def _inline(line: str) -> str:
    line = _IMAGE.sub("", line)
    line = _INLINE_LINK.sub(r"\1", line)
    line = _REFERENCE_LINK.sub(r"\1", line)
    line = _AUTOLINK.sub(r"\1", line)
    line = _CODE.sub(r"\1", line)
    line = _STRONG.sub(r"\2", line)
    line = _STRIKE.sub(r"\1", line)
    line = _EMPHASIS_STAR.sub(r"\1", line)
    line = _EMPHASIS_UNDERSCORE.sub(r"\1", line)
    return _HTML_TAG.sub("", line)


def markdown_to_text(text: str) -> str:
    """Plain text from Markdown: one output line per input line, markup removed, fences and rules dropped."""
    out: list[str] = []
    for raw in text.split("\n"):
        if _FENCE.match(raw) or _RULE.match(raw) or _REFERENCE_DEFINITION.match(raw):
            out.append("")
            continue
        if _SETEXT_UNDERLINE.match(raw) and out and out[-1].strip():
            # "Title\n=====": the underline only marks the line above as a heading.
            out.append("")
            continue
        line = _QUOTE.sub("", raw)
        heading = _HEADING.match(line)
        if heading:
            line = heading.group(1)
        out.append(_inline(line))
    return "\n".join(out)
