"""Feed bytes → text, choosing the character set the data actually supports.

feedparser follows RFC 3023 literally: `text/xml` without a charset means US-ASCII, a missing Content-Type
means ISO-8859-1, and a declared single-byte charset always "succeeds", so a UTF-8 feed labelled
ISO-8859-1 comes out as mojibake ("Ã©"). We decide here instead, with every hint weighed against the
bytes, and hand feedparser UTF-8 that says so.

Order: a byte-order mark wins; then the HTTP charset, then the XML declaration, then UTF-8, each only if the
bytes decode under it. A declared single-byte charset loses to UTF-8 when the bytes are valid UTF-8 with
multi-byte sequences, which real single-byte text practically never is. ISO-8859-1 and ASCII labels are
read as windows-1252, as browsers do, so curly quotes in the 0x80–0x9F range survive.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# "<" in UTF-32 and "<?" in UTF-16 without a BOM (XML spec, appendix F); UTF-32 first, as its LE form
# starts like UTF-16 LE.
_WIDE_MARKERS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)

_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)

_ASCII_BYTES = bytes(range(128))
_MULTIBYTE_PREFIXES = ("utf", "gb", "big5", "shift_jis", "euc", "iso2022", "cp932", "cp949", "cp950", "hz")
_WINDOWS_1252_ALIASES = frozenset({"latin_1", "ascii", "iso8859_1"})


@dataclass(slots=True)
class Decoded:
    text: str
    encoding: str
    # Set when the declared charset was wrong or unknown, or bytes had to be replaced.
    warning: str | None = None


def http_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header value, if any."""
    if not content_type:
        return None
    match = _HTTP_CHARSET.search(content_type)
    return match.group(1) if match else None


def xml_declared_encoding(body: bytes) -> str | None:
    match = _XML_ENCODING.match(body[:512])
    return match.group(1).decode("ascii") if match else None


def decode_feed(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode feed bytes; never raises (undecodable bytes become U+FFFD and a warning)."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return _decode_or_replace(body[len(bom) :], codec, "byte-order mark")
    for marker, codec in _WIDE_MARKERS:
        if body.startswith(marker):
            return _decode_or_replace(body, codec, "markup without byte-order mark")

    declared = [(name, source) for name, source in ((http_charset(content_type), "HTTP"),) if name]
    xml_name = xml_declared_encoding(body)
    if xml_name:
        declared.append((xml_name, "XML declaration"))

    problems: list[str] = []
    utf8_ok = _valid_utf8(body)
    has_non_ascii = not body.isascii()
    for name, source in declared:
        codec = _normalise(name)
        if codec is None:
            problems.append(f"unknown charset {name!r} in {source}")
            continue
        if _single_byte(codec) and has_non_ascii and utf8_ok:
            problems.append(f"{source} says {name} but the bytes are UTF-8")
            return Decoded(body.decode("utf-8"), "utf-8", "; ".join(problems))
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            if codec == "cp1252":  # five bytes are undefined in windows-1252 but fine in latin-1
                return Decoded(body.decode("latin_1"), "latin_1", "; ".join(problems) or None)
            problems.append(f"{source} says {name} but the bytes are not valid {name}")
            continue
        return Decoded(text, codec, "; ".join(problems) or None)

    if utf8_ok:
        return Decoded(body.decode("utf-8"), "utf-8", "; ".join(problems) or None)
    # Nothing declared fits: mostly-UTF-8 with a few broken bytes reads better as UTF-8; otherwise the
    # bytes are most likely a Western single-byte charset.
    lossy = body.decode("utf-8", "replace")
    non_ascii = len(body.translate(None, _ASCII_BYTES))
    if lossy.count("\ufffd") * 20 <= non_ascii:
        problems.append("invalid UTF-8 bytes replaced")
        return Decoded(lossy, "utf-8", "; ".join(problems))
    detected = _detect(body)
    if detected is not None:
        problems.append(f"no declared charset fits; detected {detected}")
        return Decoded(body.decode(detected, "replace"), detected, "; ".join(problems))
    problems.append("no declared charset fits; read as windows-1252")
    return Decoded(body.decode("cp1252", "replace"), "cp1252", "; ".join(problems))


def _detect(body: bytes) -> str | None:
    """Statistical detection, only when every declaration was wrong (a cp1251 feed labelled UTF-8 reads as
    Cyrillic rather than as windows-1252 mojibake)."""
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    if best is None or best.encoding in ("utf_8", "ascii"):
        return None
    codec = _normalise(best.encoding) or best.encoding
    # On short Western text detectors confuse windows-1252 with its Central European cousins ("crème"
    # becomes "crčme"); windows-1252 stays the answer unless the bytes spell a non-Latin script.
    letters = [ch for ch in body.decode(codec, "replace") if ord(ch) > 127 and ch.isalpha()]
    non_latin = sum(1 for ch in letters if "LATIN" not in unicodedata.name(ch, "LATIN"))
    return codec if letters and non_latin * 2 > len(letters) else None


def _decode_or_replace(body: bytes, codec: str, source: str) -> Decoded:
    try:
        return Decoded(body.decode(codec), codec)
    except UnicodeDecodeError:
        return Decoded(body.decode(codec, "replace"), codec, f"invalid {codec} bytes replaced ({source})")


def _normalise(name: str) -> str | None:
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    if codec.replace("-", "_") in _WINDOWS_1252_ALIASES:
        return "cp1252"
    return codec


def _single_byte(codec: str) -> bool:
    return not codec.replace("-", "_").startswith(_MULTIBYTE_PREFIXES)


def _valid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
