"""Stateless story features of one article, computed once, in the parse workers, in one pass over its text.

Nothing here depends on other articles (no document frequencies, no index), so it runs in any process and
the result is a compact blob the store keeps until the article is placed (`article_features`):

- terms: hashed term ids (crc32 of the stemmed term, masked to `TERM_BITS`) with their pre-IDF weight
  (sublinear tf, name-like tokens and headline words boosted), heaviest first;
- signature: a MinHash of the word 3-shingles, for wire copies;
- months / weekdays the lead names (bitmasks), for undated articles;
- embedding: the static embedding of headline and lead when a model is installed (else empty).
"""

from __future__ import annotations

import re
import struct
import threading
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

from stories import embedding
from stories.minhash import MinHasher
from stories.tokens import (
    dated_months,
    mentioned_months,
    mentioned_weekdays,
    normalize,
    opening_words,
    shingles_of_codes,
    token_code,
    word_traits,
    words,
)

# Term ids index a dense array of document frequencies in the placer: 2^22 entries (16 MB of int32).
# Two terms sharing an id is rare at that size and only blurs one IDF; never a wrong group on its own.
TERM_BITS = 22
TERM_MASK = (1 << TERM_BITS) - 1
NUM_PERM = 128
LSH_BANDS = 32
SHINGLE_SIZE = 3
ENTITY_BOOST = 3.0
TITLE_BOOST = 1.0
RAW_TERMS = 192  # terms kept before IDF is known (the placer keeps fewer after weighting)
LEAD_CHARS = 250  # where a dateline / lead's month mention counts
DATED_LEAD_CHARS = 400  # where a date with a day ("November 6") counts
EMBED_LEAD_CHARS = 600  # headline and lead: what the event is, before background paragraphs
# A body's first this many characters make its features: the opening ~3,000 words of a long read say what it
# is and carry its copies' shingles. It also bounds what placement reads of each text: a chunk of 2,000
# articles at the parsers' 200,000-character cap would otherwise be 400 million characters.
FEATURE_BODY_CHARS = 20_000

_HASHER = MinHasher(NUM_PERM, LSH_BANDS)
_HEADER = struct.Struct("<BHBHH")  # version, months mask, weekdays mask, n terms, embedding dims
_VERSION = 1
_EMPTY_SIG = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)

_term_ids: dict[str, int] = {}


def term_id(term: str) -> int:
    """Stable across processes and runs (crc32, not hash()): ids end up in the database."""
    tid = _term_ids.get(term)
    if tid is None:
        if len(_term_ids) > 1 << 19:
            _term_ids.clear()
        tid = _term_ids[term] = zlib.crc32(term.encode("utf-8", "surrogatepass")) & TERM_MASK
    return tid


@dataclass(frozen=True, slots=True)
class ArticleFeatures:
    terms: np.ndarray  # uint32 term ids, heaviest first
    weights: np.ndarray  # float32 pre-IDF weights, same order
    signature: np.ndarray  # uint32[NUM_PERM]; all ones when the text has no words
    months: int  # bit m-1 set: the lead names month m
    weekdays: int  # bit d set: the lead names weekday d (Monday = 0)
    embedding: np.ndarray  # float16 unit vector, or shape (0,) without a model

    @property
    def has_text(self) -> bool:
        return bool(len(self.terms)) or not bool((self.signature == 0xFFFFFFFF).all())

    def to_bytes(self) -> bytes:
        head = _HEADER.pack(_VERSION, self.months, self.weekdays, len(self.terms), len(self.embedding))
        return pack_arrays(
            head,
            [(self.terms, "<u4"), (self.weights, "<f4"), (self.signature, "<u4"), (self.embedding, "<f2")],
        )

    @classmethod
    def from_bytes(cls, blob: bytes) -> ArticleFeatures:
        version, months, weekdays, n, dims = _HEADER.unpack_from(blob)
        if version != _VERSION:
            raise ValueError(f"story features blob version {version} (expected {_VERSION})")
        terms, weights, signature, embedding = unpack_arrays(
            blob, _HEADER.size, [("<u4", n), ("<f4", n), ("<u4", NUM_PERM), ("<f2", dims)]
        )
        return cls(terms, weights, signature, months, weekdays, embedding)


def pack_arrays(head: bytes, arrays: list[tuple[np.ndarray, str]]) -> bytes:
    """A header followed by arrays, each written as the given dtype (what `unpack_arrays` reads back)."""
    return b"".join([head, *(array.astype(dtype).tobytes() for array, dtype in arrays)])


def unpack_arrays(blob: bytes, offset: int, layout: list[tuple[str, int]]) -> list[np.ndarray]:
    """Consecutive arrays (dtype, length) read from a blob, starting at `offset` (views, not copies)."""
    out = []
    for dtype, count in layout:
        array = np.frombuffer(blob, dtype, count, offset)
        offset += array.nbytes
        out.append(array)
    return out


def _mask(values: list[int], offset: int) -> int:
    out = 0
    for v in values:
        out |= 1 << (v - offset)
    return out


_DIGIT_LETTER = re.compile("[0-9][A-Za-z]")
_NAME_LIKE, _CAPITAL = 1, 2  # a word's name flag: name-like wherever it is, or capitalized (see term_counts)


class _Vocabulary(dict[str, int]):
    """Word as written -> its row in arrays of everything derived from the word alone: its term (a dense
    index, -1 for a dropped word), its shingle code, its name flag and its embedding row ids; per term, its
    id. Texts are read through `chunks` (see _Chunks).

    One lookup per word, then numpy: several dicts (term, code, id, flag) each cost a cache miss per word
    once the tables outgrow the CPU cache. A word not seen before is learned once per process (news reuses
    a small vocabulary, so after a few thousand articles nearly every word is a hit) by `__missing__`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.chunks = _Chunks(self)
        self._terms: dict[str, int] = {}
        self._first_with_id: dict[int, int] = {}
        self.word_term = np.empty(1024, np.int32)
        self.word_code = np.empty(1024, np.uint64)
        self.word_flag = np.empty(1024, np.uint8)
        self.term_id = np.empty(1024, np.int64)
        # The static embedding's row ids of an ASCII word (embedding.ascii_ids of it), in `embed_ids`.
        self.word_embed_start = np.empty(1024, np.int64)
        self.word_embed_len = np.empty(1024, np.int64)
        self.embed_ids = np.empty(4096, np.intp)
        self._embed_used = 0
        self.term_id_shared = np.empty(1024, bool)  # another term has the same id (crc32 collision)

    def rows(self, text: str) -> np.ndarray:
        """The rows of the words of already normalized text, in order (learning new words)."""
        return np.frombuffer(b"".join(map(self.chunks.__getitem__, text.split())), np.int32)

    def __missing__(self, raw: str) -> int:
        term, name_like, capital = word_traits(raw)
        with self._lock:  # one row per word even when two threads learn words at once
            row = self.get(raw)
            if row is not None:
                return row
            row = len(self)
            if row == len(self.word_term):
                self.word_term, self.word_code, self.word_flag, self.word_embed_start, self.word_embed_len = (
                    _grown(a)
                    for a in (
                        self.word_term,
                        self.word_code,
                        self.word_flag,
                        self.word_embed_start,
                        self.word_embed_len,
                    )
                )
            pieces = embedding.ascii_ids(raw) if raw.isascii() else []  # only ASCII leads use them
            used = self._embed_used
            while used + len(pieces) > len(self.embed_ids):
                self.embed_ids = _grown(self.embed_ids)
            self.embed_ids[used : used + len(pieces)] = pieces
            self.word_embed_start[row] = used
            self.word_embed_len[row] = len(pieces)
            self._embed_used = used + len(pieces)
            t = -1 if term is None else self._term(term)
            self.word_term[row] = t
            self.word_code[row] = token_code(raw)
            self.word_flag[row] = 0 if t < 0 else _NAME_LIKE if name_like else _CAPITAL if capital else 0
            self[raw] = row  # last: a reader that finds the word finds its row filled in
        return row

    def _term(self, term: str) -> int:
        t = self._terms.get(term)
        if t is None:
            t = self._terms[term] = len(self._terms)
            if t == len(self.term_id):
                self.term_id, self.term_id_shared = _grown(self.term_id), _grown(self.term_id_shared)
            tid = term_id(term)
            other = self._first_with_id.setdefault(tid, t)
            self.term_id[t] = tid
            self.term_id_shared[t] = other != t
            self.term_id_shared[other] |= other != t
        return t


class _Chunks(dict[str, bytes]):
    """Text between whitespace as written -> the vocabulary rows of its words (`words` of it).

    Splitting at whitespace (str.split, ~4x faster than the token regex) and looking each chunk up here
    gives the rows of `words(text)`, in order: no token contains a whitespace character, and the token
    pattern has no anchors or lookarounds, so the tokens of a text are those of its chunks. Most chunks are
    one word, often with its punctuation ("said," "Monday."), and recur as much as words do. The rows are
    kept as int32 bytes, joined per text in one call: a tuple of ints costs a cache miss per int object.
    """

    def __init__(self, vocabulary: _Vocabulary) -> None:
        super().__init__()
        self.vocabulary = vocabulary

    def __missing__(self, chunk: str) -> bytes:
        rows = self[chunk] = np.array([self.vocabulary[w] for w in words(chunk)], np.int32).tobytes()
        return rows


def _grown(array: np.ndarray) -> np.ndarray:
    out = np.empty(2 * len(array), array.dtype)
    out[: len(array)] = array
    return out


# Replaced, not cleared, when full: an article holds on to the one it started with, so every word it
# learned is still there at its end, whatever another thread does meanwhile.
_VOCABULARY_LIMIT = 1 << 19
_vocabulary = _Vocabulary()


def extract_features(title: str, body: str) -> ArticleFeatures:
    """Everything the story engine needs from one article's text that does not depend on other articles."""
    global _vocabulary
    title, body = normalize(title), normalize(body[:FEATURE_BODY_CHARS])
    vocabulary = _vocabulary
    if max(len(vocabulary.chunks), len(vocabulary)) > _VOCABULARY_LIMIT:
        vocabulary = _vocabulary = _Vocabulary()
    # The embedding's words are those of the headline and the body's first EMBED_LEAD_CHARS characters,
    # lowercased and split at every non-alphanumeric character. On ASCII text they are the tokens' parts,
    # unless a number runs into a word ("1990s" is two tokens, one embedding word), so the tokens serve
    # both when the body is tokenized in two at a space before that limit (no token spans a space) and no
    # digit is followed by a letter; the few characters between the space and the limit are split apart.
    cut = len(body) if len(body) <= EMBED_LEAD_CHARS else body.rfind(" ", 0, EMBED_LEAD_CHARS)
    embed_tokens = (
        cut >= 0
        and title.isascii()
        and body[:EMBED_LEAD_CHARS].isascii()
        and embedding.available()
        and not _DIGIT_LETTER.search(title)
        and not _DIGIT_LETTER.search(body, 0, cut)
    )
    if embed_tokens and cut < len(body):
        head_rows = vocabulary.rows(body[:cut])
        body_rows = np.concatenate((head_rows, vocabulary.rows(body[cut:])))
        n_lead = len(head_rows)
    else:
        body_rows = vocabulary.rows(body)
        n_lead = len(body_rows)
    n_body = len(body_rows)
    rows = np.concatenate((body_rows, vocabulary.rows(title)))
    word_term = vocabulary.word_term  # read after every word of the text was learned

    # Term counts over body and headline. term_counts kept them in order of first use; the weights below
    # do not depend on that order (np.log is element-wise, the sort is total on (weight, id)).
    term_of_word = word_term[rows]
    terms_used, counts = _distinct(term_of_word)
    if len(terms_used):
        ids = vocabulary.term_id[terms_used]
        tf = 1.0 + np.log(counts.astype(np.float64))
        names = _name_terms(vocabulary, rows[:n_body], body)
        if len(names):
            is_name = np.zeros(len(terms_used), bool)
            is_name[np.searchsorted(terms_used, names)] = True  # every name is a term of the body
            tf[is_name] *= ENTITY_BOOST
        if TITLE_BOOST != 1.0:
            tf[np.isin(terms_used, term_of_word[n_body:])] *= TITLE_BOOST
        # Heaviest first, ties by id, never by hash order.
        order = np.lexsort((ids, -tf))
        ids, tf = ids[order], tf[order]
        if vocabulary.term_id_shared[terms_used].any():  # two terms may share an id: keep the heavier
            _, first = np.unique(ids, return_index=True)
            first.sort()
            ids, tf = ids[first], tf[first]
        terms = ids[:RAW_TERMS].astype(np.uint32)
        weights = tf[:RAW_TERMS].astype(np.float32)
    else:
        terms, weights = np.zeros(0, np.uint32), np.zeros(0, np.float32)

    # Shingles of headline then body. Repeated shingles are kept: a MinHash takes minima.
    if len(rows):
        codes = vocabulary.word_code[np.concatenate((rows[n_body:], rows[:n_body]))]
        signature = _HASHER.signature(shingles_of_codes(codes, SHINGLE_SIZE))
    else:
        signature = _EMPTY_SIG

    # Only the dateline/lead: later months are usually background ("since August"), but a date with a
    # day a little further on ("on November 6", in the third paragraph) still says when it happened.
    lead = f"{title}\n{body[:LEAD_CHARS]}"
    months = _mask(sorted({*mentioned_months(lead), *dated_months(body[:DATED_LEAD_CHARS])}), 1)
    weekdays = _mask(mentioned_weekdays(lead), 0)
    if embed_tokens:
        ids = _embed_ids(vocabulary, np.concatenate((rows[n_body:], rows[:n_lead])))
        if cut < len(body):  # the lead ends within the body: its last characters after the cut
            ids = np.concatenate((ids, np.array(embedding.ascii_ids(body[cut:EMBED_LEAD_CHARS]), np.intp)))
        vector = embedding.embed_rows(ids)
    else:
        vector = embedding.embed_text(f"{title}\n{body[:EMBED_LEAD_CHARS]}")
    return ArticleFeatures(terms, weights, signature, months, weekdays, vector)


def _distinct(terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(terms[terms >= 0], return_counts=True), without its general-purpose overhead."""
    ordered = np.sort(terms)
    ordered = ordered[np.searchsorted(ordered, 0) :]
    if not len(ordered):
        return ordered, ordered
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[starts], np.concatenate((starts[1:], [len(ordered)])) - starts


def _embed_ids(vocabulary: _Vocabulary, rows: np.ndarray) -> np.ndarray:
    """The embedding row ids of these words, in order (each word has zero or more)."""
    starts, lens = vocabulary.word_embed_start[rows], vocabulary.word_embed_len[rows]
    if (lens == 1).all():
        return vocabulary.embed_ids[starts]
    ends = np.cumsum(lens)
    return vocabulary.embed_ids[
        np.repeat(starts - (ends - lens), lens) + np.arange(ends[-1] if len(ends) else 0)
    ]


def _name_terms(vocabulary: _Vocabulary, rows: np.ndarray, body: str) -> np.ndarray:
    """Terms the body marks as names (term_counts' rule): a word that is name-like wherever it is, or one
    capitalized more often than it opens a sentence. Headline capitals, numbers and acronyms are too
    inconsistent ("Apple Releases…", "$1.8B") to mark names; the body's mid-sentence capitals are reliable."""
    flag = vocabulary.word_flag[rows]
    names = vocabulary.word_term[rows[flag == _NAME_LIKE]]
    capital = rows[flag == _CAPITAL]
    if not len(capital):
        return names
    # A body word opening a sentence is in the vocabulary: every word of the text was learned.
    openings = Counter(map(vocabulary.get, opening_words(body)))
    if openings:
        capital = np.array([w for w, n in Counter(capital.tolist()).items() if n > openings[w]], np.int32)
    return np.concatenate((names, vocabulary.word_term[capital]))


def band_keys(signatures: np.ndarray) -> np.ndarray:
    """(n, NUM_PERM) signatures -> (n, LSH_BANDS) int64 band keys, vectorized; the band number is mixed in
    so equal rows in different bands don't collide. Kept in memory only, never stored."""
    rows = NUM_PERM // LSH_BANDS
    sig = signatures.reshape(len(signatures), LSH_BANDS, rows).astype(np.uint64)
    key = np.broadcast_to(
        np.arange(LSH_BANDS, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15), sig.shape[:2]
    )
    key = key.copy()
    with np.errstate(over="ignore"):
        for r in range(rows):
            key = (key ^ sig[:, :, r]) * np.uint64(0x100000001B3)
            key ^= key >> np.uint64(29)
    return key.view(np.int64)
