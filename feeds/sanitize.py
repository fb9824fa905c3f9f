"""Make untrusted feed text safe to store and to print.

Feed text is written by strangers. It may carry ANSI/CSI and OSC sequences (clear the screen, retitle the
window, write the clipboard with OSC 52), C0/C1 control characters, NUL, bidi overrides that reorder what a
reader sees, and zero-width characters that hide words from search. We keep the readable text and drop the
rest, once at ingest (`clean_text`) and again at every output boundary (`terminal_safe`), because stored
data may predate a rule and because the database can be written by other tools.
"""

from __future__ import annotations

import re
import unicodedata

# A whole escape sequence first, so its parameters ("[2J", "]52;c;...") go with the ESC byte rather than
# being left behind as visible junk. CSI: ESC [ params final; OSC/DCS/APC/PM/SOS: ESC ] ... (BEL | ESC \).
_ESCAPE_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]              # CSI (7-bit or 8-bit introducer)
    | (?:\x1b[\]PX^_]|[\x90\x9d\x98\x9e\x9f])     # OSC, DCS, SOS, PM, APC introducers
      [^\x07\x1b\x9c]{0,4096}(?:\x07|\x1b\\|\x9c)?
    | \x1b[ -/]*[0-~]                             # other two/three-byte ESC sequences
    """,
    re.VERBOSE,
)

# C0 controls except TAB and LF, DEL, C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Characters that show as nothing but split or disguise words: Unicode's Default_Ignorable_Code_Point set
# (soft hyphen, combining grapheme joiner, Arabic letter mark, Hangul fillers, Mongolian and other variation
# selectors, zero-width characters, bidi embeddings/overrides/isolates, invisible operators, the BOM, tag
# characters, shorthand and musical format controls) plus the interlinear annotation controls. "DP\u00adRK"
# shows as "DPRK" but would match no DPRK topic. tests/test_invisible.py checks this class against the
# property itself. ZWJ (U+200D) is in it, but is kept between two emoji (see `_drop_invisible`).
_INVISIBLE_CLASS = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff"
)
_INVISIBLE = re.compile(f"[{_INVISIBLE_CLASS}]+")
_ZWJ = "\u200d"
# Pictographs a ZWJ may join (👨‍👩‍👧‍👦, ❤‍🔥), with the skin-tone modifiers that may sit before the joiner.
_EMOJI = re.compile(
    "[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u27bf\u2934\u2935"
    "\u2b05-\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff]"
)

# Surrogate code points. A Python str holds a pair only as one astral character, so any surrogate left is
# lone ("\ud800" in JSON, "&#xD800;" in XML): UTF-8 cannot encode it and SQLite cannot store it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")

# One character class covering everything the rules above remove: most text has none of it, and a single
# class scan is far cheaper than the escape-sequence alternation.
_ANYTHING_TO_STRIP = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{_INVISIBLE_CLASS}]")
# The ASCII characters that class leaves alone. ASCII text (most feed text) is checked by deleting these from
# its bytes, a table lookup per byte, where the class costs a dozen range tests per character.
_ASCII_KEPT = bytes(range(0x20, 0x7F)) + b"\t\n"

_SPACE_CHARS = " \t\u00a0\u2000-\u200a\u202f\u205f\u3000"
# Runs of spaces to fold into one " ": two or more, or one that is not a plain space. A lone " " (between
# most words) is left as it is rather than replaced by itself, which made this the costliest step.
_SPACES = re.compile(f"[{_SPACE_CHARS}]{{2,}}|[{_SPACE_CHARS[1:]}]")
# Whether there is anything for it to do: a double space (a fast find) or a space that is not " " (a
# search that, unlike _SPACES', does not stop at every space between words).
_ODD_SPACE = re.compile(f"[{_SPACE_CHARS[1:]}]")
_BLANK_LINES = re.compile(r"\n{3,}")


def strip_controls(text: str) -> str:
    """Remove escape sequences, control characters (but newline and tab) and invisible characters; a lone
    surrogate becomes U+FFFD, so the text can always be encoded and stored."""
    if not text:
        return ""
    if text.isascii():  # O(1): Python knows each string's widest character
        if not text.encode("ascii").translate(None, _ASCII_KEPT):
            return text
    elif not _ANYTHING_TO_STRIP.search(text):
        return text
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _SURROGATE.sub("\ufffd", text)
    return _INVISIBLE.sub(_drop_invisible, text)


def _drop_invisible(match: re.Match[str]) -> str:
    """Nothing, except a ZWJ between two emoji: it makes 👨‍👩‍👧‍👦 one family rather than four people."""
    if _ZWJ not in match.group():
        return ""
    text, start, end = match.string, match.start(), match.end()
    before = text[start - 1] if start > 0 else ""
    if "\U0001f3fb" <= before <= "\U0001f3ff" and start > 1:  # a skin tone: look at its emoji
        before = text[start - 2]
    after = text[end] if end < len(text) else ""
    if before and after and _EMOJI.match(before) and _EMOJI.match(after):
        return _ZWJ
    return ""


def clean_text(text: str | None, *, max_chars: int | None = None) -> str:
    """Normalise stored body text: controls removed, NFC, runs of spaces collapsed, at most one blank line."""
    if not text:
        return ""
    if max_chars is not None and len(text) > max_chars * 2:
        # Cut before the regexes run, so a 10 MB single line costs no more than the cap allows.
        text = text[: max_chars * 2]
    text = unicodedata.normalize("NFC", strip_controls(text))
    if "  " in text or ("\t" in text if text.isascii() else _ODD_SPACE.search(text) is not None):
        text = _SPACES.sub(" ", text)  # no newline among them: the same as line by line
    text = "\n".join([line.strip() for line in text.split("\n")])
    if "\n\n\n" in text:  # a find is a fraction of the regex scan, which stops at every paragraph break
        text = _BLANK_LINES.sub("\n\n", text)
    text = text.strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars].rstrip() + "…"
    return text


def clean_line(text: str | None, *, max_chars: int | None = 1000) -> str:
    """A single-line field (title, author, outlet): like `clean_text`, with all whitespace folded to spaces."""
    return clean_text(" ".join((text or "").split()), max_chars=max_chars)


def terminal_safe(text: str | None) -> str:
    """Text for a terminal: no escape sequences or controls, newlines kept."""
    return strip_controls(text or "")


def safe_url(url: str | None) -> str | None:
    """The URL if a browser may be pointed at it (http or https only), else None."""
    if not url:
        return None
    candidate = strip_controls(url).strip()
    if re.match(r"(?i)^https?://[^\s/]", candidate) and not any(ch.isspace() for ch in candidate):
        return candidate
    return None
