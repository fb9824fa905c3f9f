"""Text preprocessing for grouping: tokens, terms, shingles.

Everything the grouper knows about language lives here, so the bench, the tests and the real
ingest path all see the same terms for the same title and body.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zlib
from collections import Counter

import numpy as np

from feeds.dates import MONTH_NUMBERS, WEEKDAYS

# Curly quotes and dashes from feeds and pasted statements must tokenize like their ASCII forms,
# or "Russia’s" and "Russia's" become different terms.
_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)
_TRANSLATE_PAIRS = tuple((chr(code), ascii_form) for code, ascii_form in _TRANSLATE.items())

# A word (letters, inner apostrophes/dots for "U.S."), or a number with thousands separators and decimals.
_TOKEN_RE = re.compile(r"[^\W\d_][^\W_]*(?:['.][^\W\d_][^\W_]*)*|\d+(?:[.,]\d+)*")
# The same pattern for ASCII text, where letters and digits are exactly these ranges; character ranges
# match faster than the Unicode category tests (~30% of the cost of tokenizing).
_ASCII_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['.][A-Za-z][A-Za-z0-9]*)*|[0-9]+(?:[.,][0-9]+)*")
_SENTENCE_END_RE = re.compile(r"[.!?:;\"]\s*$")

STOPWORDS: frozenset[str] = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "almost",
        "along",
        "already",
        "also",
        "although",
        "always",
        "am",
        "among",
        "an",
        "and",
        "another",
        "any",
        "anyone",
        "anything",
        "are",
        "around",
        "as",
        "at",
        "away",
        "back",
        "be",
        "became",
        "because",
        "become",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "cannot",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "either",
        "else",
        "enough",
        "even",
        "ever",
        "every",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "getting",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "however",
        "i",
        "if",
        "in",
        "including",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "last",
        "least",
        "less",
        "let",
        "like",
        "made",
        "make",
        "many",
        "may",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "my",
        "myself",
        "near",
        "need",
        "neither",
        "never",
        "next",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "often",
        "on",
        "once",
        "one",
        "only",
        "onto",
        "or",
        "other",
        "others",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "per",
        "perhaps",
        "put",
        "rather",
        "really",
        "said",
        "same",
        "say",
        "saying",
        "says",
        "see",
        "seen",
        "several",
        "shall",
        "she",
        "should",
        "since",
        "so",
        "some",
        "still",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "though",
        "through",
        "thus",
        "to",
        "told",
        "too",
        "toward",
        "towards",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "use",
        "used",
        "very",
        "via",
        "was",
        "way",
        "we",
        "well",
        "were",
        "what",
        "whatever",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yet",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "s",
        "t",
        "re",
        "ve",
        "ll",
        "d",
        "m",
        "don",
        "didn",
        "doesn",
        "isn",
        "wasn",
        "weren",
        "won",
        "wouldn",
        "couldn",
        "shouldn",
        "hasn",
        "haven",
        "hadn",
        "aren",
        "ago",
        "already",
        "according",
        "told",
        "reported",
        "report",
        "reports",
        "reportedly",
        "reuters",
        "ap",
        "afp",
        "dpa",
        "update",
        "updated",
        "news",
        "http",
        "https",
        "www",
        "com",
        "html",
        "htm",
    ]
)


def normalize(text: str) -> str:
    """Unicode-normalize and map typographic punctuation to ASCII."""
    # NFKC and the table change only non-ASCII characters, and isascii() is O(1) in CPython: most news
    # text, and every text normalized once already, passes straight through.
    if text.isascii():
        return text
    # str.translate with a dict looks every character up (~40 ns each); a replace per mapped character
    # that occurs is a fast scan. Same result: no replacement is itself a key of the table.
    text = unicodedata.normalize("NFKC", text)
    for char, ascii_form in _TRANSLATE_PAIRS:
        if char in text:
            text = text.replace(char, ascii_form)
    return text


@functools.lru_cache(maxsize=1 << 18)
def stem(word: str) -> str:
    """A deliberately light suffix stripper (plurals, -ing, -ed).

    Heavier stemmers merge words that mean different things in news ("united"/"unit", "general"/"gener");
    this only folds the inflections that differ between two write-ups of the same event.
    """
    n = len(word)
    if n <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and n > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "ews")):
        word = word[:-1]
        n -= 1
    if word.endswith("ing") and n >= 7:
        return word[:-3]
    if word.endswith("ed") and n >= 6 and not word.endswith("eed"):
        return word[:-2]
    return word


@functools.lru_cache(maxsize=1 << 18)
def word_traits(raw: str) -> tuple[str | None, bool, bool]:
    """(term or None for a dropped word, is name-like whatever its place, is capitalized) of one word as
    written; a number is name-like ("1,874" and "1874" are the same figure; decimals stay as written).

    Cached: news reuses a small vocabulary, and this is most of the per-word work of tokenizing.
    """
    if raw[0].isdigit():
        return raw.replace(",", ""), True, False
    word = raw[:-2] if raw.endswith("'s") else raw
    low = word.lower().replace(".", "").replace("'", "")
    if low in ("us", "usa") and word.isupper():
        low = "usa"  # the country, not the pronoun
    elif len(low) < 2 or low in STOPWORDS:
        return None, False, False
    is_acronym = len(word) >= 2 and word.replace(".", "").isupper()
    return stem(low), is_acronym, word[0].isupper()


# A word that opens a sentence: first on its line (after any bullets or quotes), or after sentence punctuation.
_OPENING_RE = re.compile(r"""(?:^\W*?|[.!?:;"]\s*)([^\W\d_][^\W_]*(?:['.][^\W\d_][^\W_]*)*)""", re.M)


def term_counts(
    text: str, *, entities: bool = True, tokens: list[str] | None = None
) -> tuple[dict[str, int], set[str]]:
    """Term counts of already `normalize`d text, and the terms that look like names.

    A term is name-like when some occurrence is an acronym, a number, or capitalized other than at the
    start of a sentence; `entities=False` marks none (for headlines, whose capitals say little). Counts
    distinct words as written first, so the per-word work runs once per distinct word, not per token.
    """
    counts: dict[str, int] = {}
    names: set[str] = set()
    count_of = counts.get
    opening_count = Counter(opening_words(text)).get if entities else None
    for raw, n in Counter(_TOKEN_RE.findall(text) if tokens is None else tokens).items():
        term, name_like, capital = word_traits(raw)
        if term is None:
            continue
        counts[term] = count_of(term, 0) + n
        if opening_count is not None and (name_like or (capital and n > opening_count(raw, 0))):
            names.add(term)
    return counts, names


# _OPENING_RE with a newline standing for "start of a line", so every match starts with one of a few
# characters and the regex engine skips to those instead of trying a match at every position (2x faster).
# Same matches: `^` only ever follows a newline (or starts the text, hence the newline put in front), and
# a match never ends on one. Checked against _OPENING_RE on fuzzed text in tests/test_feature_identity.py.
_OPENING_FAST_RE = re.compile(
    r"""[\n.!?:;"](?:(?<=\n)\W*?|(?<!\n)\s*)([^\W\d_][^\W_]*(?:['.][^\W\d_][^\W_]*)*)"""
)


def opening_words(text: str) -> list[str]:
    """The words of already `normalize`d text that open a sentence, as written, each time they do
    (what _OPENING_RE finds)."""
    return _OPENING_FAST_RE.findall("\n" + text)


_token_codes: dict[str, int] = {}


def words(text: str) -> list[str]:
    """The words and numbers of already `normalize`d text, as written (what `term_counts` counts)."""
    return (_ASCII_TOKEN_RE if text.isascii() else _TOKEN_RE).findall(text)


def shingle_hashes(tokens: list[str], k: int) -> np.ndarray:
    """Distinct 64-bit hashes of the k-grams of `words(text)`: crc32 of each word as written (stable across
    processes, unlike hash()), combined in numpy."""
    codes = _token_codes
    if len(codes) > 1 << 19:
        codes.clear()
    if not tokens:
        return np.zeros(0, np.uint64)
    for w in set(tokens).difference(codes):
        codes[w] = token_code(w)
    return np.unique(
        shingles_of_codes(np.fromiter(map(codes.__getitem__, tokens), np.uint64, len(tokens)), k)
    )


def token_code(word: str) -> int:
    """A word's code in its shingles: crc32 of it lowercased, plus one (never 0)."""
    return zlib.crc32(word.lower().encode("utf-8", "surrogatepass")) + 1


def shingles_of_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """The k-gram hashes of a sequence of `token_code`s (uint64), in text order, repeats included; a text of
    fewer than k words is one shingle."""
    if not len(codes):
        return np.zeros(0, np.uint64)
    k = min(k, len(codes))
    n = len(codes) - k + 1
    # h = (h * prime + code) with h ^= h >> 31 after each word, from h = 0; in place, wrapping (numpy never
    # checks overflow of integer arrays, only of scalars).
    h = codes[:n] ^ (codes[:n] >> _SHIFT)
    for i in range(1, k):
        h *= _PRIME
        h += codes[i : n + i]
        h ^= h >> _SHIFT
    return h


_PRIME = np.uint64(0x100000001B3)
_SHIFT = np.uint64(31)


# Capitalized month names (feeds.dates' table, longest first); abbreviations and the words that are also
# verbs ("May", "March") only next to a day or year number, so "may" and "March on Washington" don't count.
_MONTH_NAMES = "|".join(name.capitalize() for name in sorted(MONTH_NUMBERS, key=len, reverse=True))
_MONTH_RE = re.compile(rf"(?:\b\d{{1,2}}\s+)?\b({_MONTH_NAMES})\b\.?(?:\s+\d{{1,4}}\b)?")
_UNAMBIGUOUS = {
    "January",
    "February",
    "April",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
}
_ISO_DATE_RE = re.compile(r"\b(?:19|20)\d\d-(0[1-9]|1[0-2])-[0-3]\d\b")
# What every match of the patterns above and below contains. They start with \b or an optional group, so
# the regex engine tries a match at every position (~15 µs a lead); these start with a literal or a small
# set of first characters and scan fast, and most leads have no month name or date at all.
_ISO_DATE_HINT = re.compile(r"-(?:0[1-9]|1[0-2])-[0-3]\d")
_MONTH_HINT = re.compile("|".join(sorted({name[:3].capitalize() for name in MONTH_NUMBERS})))


def _iso_months(text: str) -> set[int]:
    if not _ISO_DATE_HINT.search(text):
        return set()
    return {int(m.group(1)) for m in _ISO_DATE_RE.finditer(text)}


def mentioned_months(text: str) -> list[int]:
    """Months (1-12) a text explicitly mentions, sorted: when an article's own date is unknown,
    the dates it talks about are the best evidence of when its event happened."""
    text = normalize(text)
    found = _iso_months(text)
    if not _MONTH_HINT.search(text):
        return sorted(found)
    for m in _MONTH_RE.finditer(text):
        name = m.group(1)
        has_number = m.group(0) != name and any(c.isdigit() for c in m.group(0))
        if name in _UNAMBIGUOUS or has_number:
            found.add(MONTH_NUMBERS[name.lower()])
    return sorted(found)


# A day and a month, either way round ("6 November", "November 6, 2024", "Dec. 16").
_DAY_MONTH_RE = re.compile(rf"\b\d{{1,2}}\s+({_MONTH_NAMES})\b|\b({_MONTH_NAMES})\.?\s+\d{{1,2}}\b")


def dated_months(text: str) -> list[int]:
    """Months (1-12) of the dates a text gives with a day ("on November 6"), sorted.

    A bare month name deep in a report is often background ("since August"); a day and month in its
    first paragraphs is usually when the event happened."""
    text = normalize(text)
    found = _iso_months(text)
    if not _MONTH_HINT.search(text):
        return sorted(found)
    for m in _DAY_MONTH_RE.finditer(text):
        found.add(MONTH_NUMBERS[(m.group(1) or m.group(2)).lower()])
    return sorted(found)


_WEEKDAY_NAMES = tuple(day.capitalize() for day in WEEKDAYS)  # Monday = 0, as feeds.dates counts
_WEEKDAY_RE = re.compile(rf"\b({'|'.join(_WEEKDAY_NAMES)})\b")
_WEEKDAY_HINT = re.compile("|".join(_WEEKDAY_NAMES))  # in every match, and scans fast (see _MONTH_HINT)


def mentioned_weekdays(text: str) -> list[int]:
    """Weekdays (Monday = 0) a text names, sorted: an undated report's lead says on which day its
    event happened ("died on Friday"), and two events of one kind rarely share it."""
    text = normalize(text)
    if not _WEEKDAY_HINT.search(text):
        return []
    return sorted({_WEEKDAY_NAMES.index(m.group(1)) for m in _WEEKDAY_RE.finditer(text)})
