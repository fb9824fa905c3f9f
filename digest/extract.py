"""A one- or two-sentence extract of a story's lead, for a digest."""

from __future__ import annotations

import re

from feeds.sanitize import strip_controls

# Abbreviations that end in a full stop without ending a sentence ("Dec. 16", "Mr. Rutte", "No. 10").
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "rep",
        "sen",
        "gov",
        "st",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "corp",
        "vs",
        "etc",
        "no",
        "nos",
        "fig",
        "approx",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
    ]
)
# A sentence ends at . ! or ? (perhaps followed by a closing quote or bracket) before a space and a capital,
# a digit or an opening quote.
_BOUNDARY = re.compile(r"(?<=[.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9\u00c0-\u024f\u0370-\u04ff])")
_LAST_WORD = re.compile(r"(\S+)\.$")


def _sentences(paragraph: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        candidate = paragraph[start : match.start()].rstrip()
        word = _LAST_WORD.search(candidate)
        if word is not None:
            token = word.group(1).strip("\"'“‘(").lower()
            # "U.S." and single initials ("J. Smith") are abbreviations too.
            if token in _ABBREVIATIONS or len(token) == 1 or re.fullmatch(r"(?:[a-z]\.)+[a-z]", token):
                continue
        pieces.append(paragraph[start : match.end(1)].strip())
        start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _is_kicker(line: str) -> bool:
    """A short opening line that is not prose: a section name ("NATO"), a dateline ("Dec. 16 () –")."""
    return len(line) < 60 and not re.search(r"[.!?][\"'”’)]*$", line)


def lead_extract(body: str, title: str = "", *, sentences: int = 2, max_chars: int = 320) -> str:
    """The first one or two sentences of `body` on one line, within `max_chars` (cut at a word, with '…').

    Opening lines that repeat the headline or are kickers and datelines are skipped; the second sentence is
    added only if it fits."""
    lines = [" ".join(strip_controls(line).split()) for line in (body or "").split("\n")]
    lines = [line for line in lines if line]
    headline = " ".join(strip_controls(title).split()).casefold()
    while lines and (_is_kicker(lines[0]) or lines[0].casefold() == headline) and len(lines) > 1:
        lines.pop(0)
    if not lines:
        return ""
    found: list[str] = []
    for line in lines:
        for sentence in _sentences(line):
            found.append(sentence)
            if len(found) >= sentences:
                break
        if len(found) >= sentences or len(" ".join(found)) >= max_chars // 2:
            break
    text = found[0]
    for sentence in found[1:]:
        if len(text) + 1 + len(sentence) > max_chars:
            break
        text = f"{text} {sentence}"
    if len(text) > max_chars:
        cut = text[: max_chars - 1]
        text = (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(",;:—– ") + "…"
    return text
