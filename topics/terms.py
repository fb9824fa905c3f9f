"""How text becomes searchable terms, in Python, the same way the FTS5 index sees it.

Two pieces live here because both the FTS compiler and the Python matcher need them:

* :func:`tokenize` mirrors SQLite's ``unicode61 remove_diacritics 2`` tokenizer (the one the articles index
  uses, see :data:`FTS5_TOKENIZE`): runs of letters and digits are tokens, everything else separates,
  tokens are lower-cased and Latin accents are removed. Measured against SQLite 3.40 for every code point in
  Latin-1, Latin Extended-A/B, Latin Extended Additional and General Punctuation: identical except for
  the rare U+01E0/U+01E1 (double-accented a). Other scripts are lower-cased but keep their accents, as in
  SQLite.
* :func:`word_forms` gives the regular English inflections of a word (troop/troops, sanction/sanctions/
  sanctioned/sanctioning, policy/policies, agree/agreed). The index is not stemmed, so a bare word in a
  query is expanded to these forms at compile time; prefixes (``deploy*``) stay literal.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["FTS5_TOKENIZE", "Token", "fold", "tokenize", "word_forms"]

#: The ``tokenize=`` argument the articles FTS5 table must be created with for queries compiled here to
#: mean what the documentation says. No porter: porter stems prefixes too (``deploy*`` becomes ``deploi*``
#: and misses "deployment"), so inflection is done on the query side instead.
FTS5_TOKENIZE = "unicode61 remove_diacritics 2"

# Characters SQLite 3.40 folds differently from Python's str.lower() + NFD.
_SPECIAL_FOLD = {"\u0130": "i", "\u017f": "s", "\u1e9b": "s", "\u00b5": "\u03bc"}


@dataclass(frozen=True, slots=True)
class Token:
    """One searchable token: its folded form and where it sits in the original text."""

    text: str
    start: int
    end: int


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch.isascii():
        return ch.lower()
    if ch in _SPECIAL_FOLD:
        return _SPECIAL_FOLD[ch]
    if "\u0300" <= ch <= "\u036f":
        # A bare combining accent is part of the token but removed, as remove_diacritics does.
        return ""
    low = ch.lower()
    if len(low) != 1:
        low = ch
    decomposed = unicodedata.normalize("NFD", low)
    # Only accents on a Latin base are removed; SQLite leaves Greek and Cyrillic accents alone.
    if (
        len(decomposed) > 1
        and decomposed[0].isascii()
        and all(unicodedata.category(c) == "Mn" for c in decomposed[1:])
    ):
        return decomposed[0]
    return low


def fold(text: str) -> str:
    """Lower-case and strip Latin accents the way the index does (no splitting)."""
    return "".join(_fold_char(ch) for ch in text)


# A token is a run of letters and digits (Python's \w minus "_", i.e. Unicode L* and N*), like SQLite's
# default "L* N* Co" categories, plus private use (Co), the combining accents that remove_diacritics drops,
# and the bidi isolates, which SQLite's older Unicode tables keep inside tokens.
_TOKEN_RUN = re.compile(
    r"(?:[^\W_]|[\u0300-\u036f\u2066-\u2069\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd])+"
)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into folded tokens with their character spans."""
    tokens: list[Token] = []
    for m in _TOKEN_RUN.finditer(text):
        word = m.group()
        folded = word.lower() if word.isascii() else fold(word)
        if folded:
            tokens.append(Token(folded, m.start(), m.end()))
    return tokens


# --- inflection -------------------------------------------------------------------------------------------

# Words that look inflected but are not, or whose "lemma" is a common word that would flood results
# ("shed" is not "she" + d, "news" is not "new" + s). Neither expanded from nor generated as a form.
_FROZEN = frozenset(
    {
        "news",
        "series",
        "species",
        "means",
        "always",
        "perhaps",
        "thus",
        "this",
        "his",
        "hers",
        "its",
        "was",
        "has",
        "does",
        "is",
        "as",
        "us",
        "yes",
        "she",
        "the",
        "her",
        "doe",
        "thi",
        "ha",
        "wa",
        "bu",
        "ne",
        "bee",
        "being",
        "during",
        "evening",
        "morning",
        "nothing",
        "something",
        "anything",
        "everything",
    }
)
_VOWELS = frozenset("aeiouy")
_SIBILANT_ENDS = ("s", "x", "z", "ch", "sh")


def _has_vowel(word: str) -> bool:
    return any(c in _VOWELS for c in word)


def _lemmas(word: str) -> set[str]:
    """Plausible base forms of ``word`` by undoing one regular English suffix."""
    out: set[str] = set()

    def add(lemma: str) -> None:
        if len(lemma) >= 3 and _has_vowel(lemma) and lemma not in _FROZEN:
            out.add(lemma)

    if word.endswith("ies") and len(word) > 4:
        add(word[:-3] + "y")
    if word.endswith("es"):
        base = word[:-2]
        if base.endswith(_SIBILANT_ENDS) or base.endswith("o"):
            add(base)
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        add(word[:-1])
    if word.endswith("ied") and len(word) > 4:
        add(word[:-3] + "y")
    if word.endswith("ed"):
        base = word[:-2]
        add(base)
        if base.endswith("e") or len(base) >= 2:
            add(word[:-1])
        if len(base) >= 2 and base[-1] == base[-2] and base[-1] not in _VOWELS:
            add(base[:-1])
    if word.endswith("ing"):
        base = word[:-3]
        add(base)
        add(base + "e")
        if len(base) >= 2 and base[-1] == base[-2] and base[-1] not in _VOWELS:
            add(base[:-1])
    return out


def _inflect(lemma: str) -> set[str]:
    """Regular plural / past / -ing forms of a base word."""
    forms = {lemma}
    last, before = lemma[-1], lemma[-2]
    consonant_y = last == "y" and before not in _VOWELS
    if consonant_y:
        forms |= {lemma[:-1] + "ies", lemma[:-1] + "ied"}
    elif lemma.endswith(_SIBILANT_ENDS):
        forms.add(lemma + "es")
    else:
        forms.add(lemma + "s")
        if last == "o":
            forms.add(lemma + "es")
    if last == "e":
        forms.add(lemma + "d")
        forms.add(lemma + "s")
        # "agreeing", "dyeing" keep the e; "using", "making" drop it.
        forms.add(lemma + "ing" if before in "eyo" else lemma[:-1] + "ing")
    else:
        if not consonant_y:
            forms.add(lemma + "ed")
        forms.add(lemma + "ing")
    # Consonant doubling ("planned", "targeting" vs "targetting") depends on stress we cannot see; both
    # spellings are generated, the wrong one simply never occurs.
    if (
        len(lemma) >= 3
        and last not in _VOWELS
        and last not in "wx"
        and before in _VOWELS
        and lemma[-3] not in _VOWELS
    ):
        forms |= {lemma + last + "ed", lemma + last + "ing"}
    return forms


@lru_cache(maxsize=8192)
def word_forms(token: str, surface: str | None = None) -> tuple[str, ...]:
    """The folded forms a bare query word matches, ``token`` first.

    ``surface`` is the word as the user typed it: an all-capitals word of two or more letters is taken
    as an acronym (US, UN, DPRK) and only gets a plural ("UNSCRs"), so "US" never matches "used".
    Words of one or two letters, words with digits or non-ASCII letters are matched as they are.
    """
    if len(token) <= 2 or not (token.isascii() and token.isalpha()) or token in _FROZEN:
        return (token,)
    if surface is not None and len(surface) >= 2 and surface.isupper():
        return (token, token + "s")
    lemmas = _lemmas(token)
    forms: set[str] = set()
    for lemma in lemmas or {token}:
        forms |= _inflect(lemma)
    forms.discard(token)
    forms -= _FROZEN
    return (token, *sorted(forms))
