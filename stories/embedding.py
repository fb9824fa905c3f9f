"""Static text embedding for story grouping (a second kind of evidence beside the lexical vectors).

The model is a word table distilled from sentence-transformers all-MiniLM-L6-v2 (Apache-2.0; see
stories/data/LICENSE-all-MiniLM-L6-v2.txt) by tools/build_static_embedding.py: one int8 row and one
float32 scale per WordPiece token, frequency weighting baked in. A text's vector is the sum of its
words' rows, L2-normalised. Words outside the table are split greedily into WordPiece pieces (as
BERT's tokenizer does); a word that cannot be split is skipped.

Nothing is read at import: the table (~8 MB) is loaded on the first call, once per process.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from pathlib import Path

import numpy as np

from stories.tokens import normalize

DATA_PATH = Path(__file__).resolve().parent / "data" / "static_embedding.npz"

_EMPTY = np.zeros(0, dtype=np.float16)
_MAX_WORD = 100  # BERT's tokenizer gives longer words [UNK]
_CACHE_LIMIT = 1 << 18  # per-word id cache entries before it is cleared
# Same split as BERT's basic tokenizer for the text this sees: runs of letters and digits; punctuation
# and underscores separate words and are not embedded themselves.
_WORD_RE = re.compile(r"[^\W_]+")
_ASCII_WORD_RE = re.compile(r"[A-Za-z0-9]+")  # the same split on ASCII text


class _Model:
    __slots__ = ("cache", "ids", "scales", "subwords", "vectors", "written")

    def __init__(self, path: Path, *, subwords: bool = True) -> None:
        self.subwords = subwords  # split out-of-vocabulary words into WordPiece pieces (else skip them)
        with np.load(path) as data:
            version, dims = (int(v) for v in data["meta"])
            if version != 1:
                raise ValueError(f"{path}: unknown format version {version}")
            self.vectors: np.ndarray = data["vectors"]
            self.scales: np.ndarray = data["scales"]
            words = data["vocab"].tobytes().decode("utf-8").split("\n")
        if self.vectors.shape != (len(words), dims) or self.scales.shape != (len(words),):
            raise ValueError(f"{path}: table shapes do not match")
        self.ids: dict[str, int] = {w: i for i, w in enumerate(words)}
        self.cache: dict[str, tuple[int, ...]] = {}  # lowercased word -> row ids
        self.written = _WrittenIds(self)  # ASCII word as written -> row ids of it lowercased

    def word_ids(self, word: str) -> tuple[int, ...]:
        """Row ids for one lowercased word: itself, else its greedy WordPiece split, else nothing."""
        got = self.cache.get(word)
        if got is not None:
            return got
        i = self.ids.get(word)
        if i is not None:
            pieces: tuple[int, ...] = (i,)
        elif self.subwords:
            pieces = self._wordpiece(_strip_accents(word))
        else:
            pieces = ()
        if len(self.cache) >= _CACHE_LIMIT:
            self.cache.clear()
        self.cache[word] = pieces
        return pieces

    def _ascii_ids(self, text: str) -> list[int]:
        """Row ids of ASCII text's words. Lowercasing ASCII is per character, so words can be split as
        written and lowercased one distinct word at a time (cached), and the ids gathered without a Python
        loop per word: the same ids as lowercasing the whole text first."""
        written = self.written
        if len(written) >= _CACHE_LIMIT:
            written.clear()
        return list(itertools.chain.from_iterable(map(written.__getitem__, _ASCII_WORD_RE.findall(text))))

    def _wordpiece(self, word: str) -> tuple[int, ...]:
        if not word or len(word) > _MAX_WORD:
            return ()
        i = self.ids.get(word)
        if i is not None:
            return (i,)
        out = []
        start, n = 0, len(word)
        while start < n:
            end = n
            found = None
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.ids.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return ()  # BERT gives the whole word [UNK]
            out.append(found)
            start = end
        return tuple(out)

    def embed(self, text: str) -> np.ndarray:
        text = normalize(text)
        if text.isascii():
            ids = self._ascii_ids(text)
        else:
            ids = []
            cached, word_ids = self.cache.get, self.word_ids
            for word in _WORD_RE.findall(text.lower()):
                got = cached(word)
                ids += word_ids(word) if got is None else got
        if not ids:
            return _EMPTY
        return self.embed_rows(np.array(ids, np.intp))

    def embed_rows(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return _EMPTY
        v = self.scales[rows] @ self.vectors[rows]
        norm = float(np.sqrt(v @ v))
        if norm == 0.0:
            return _EMPTY
        return (v / norm).astype(np.float16)


class _WrittenIds(dict[str, tuple[int, ...]]):
    """ASCII word as written -> row ids of it lowercased; a dict, so `map(ids.__getitem__, words)` reads it
    at C speed, calling `__missing__` only for a word not seen before."""

    def __init__(self, model: _Model) -> None:
        super().__init__()
        self.model = model

    def __missing__(self, word: str) -> tuple[int, ...]:
        ids = self[word] = self.model.word_ids(word.lower())
        return ids


def _strip_accents(word: str) -> str:
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


_model: _Model | None = None
_missing = False
_lock = threading.Lock()


def _load() -> _Model | None:
    global _model, _missing
    with _lock:
        if _model is None and not _missing:
            if DATA_PATH.is_file():
                _model = _Model(DATA_PATH)
            else:
                _missing = True
    return _model


def vocabulary() -> list[str]:
    """The table's tokens in its order (WordPiece's: roughly most frequent first); empty without a model."""
    model = _model if _model is not None else _load()
    return list(model.ids) if model is not None else []


def available() -> bool:
    """Whether a model is installed (loading it on first use)."""
    return (_model if _model is not None else _load()) is not None


def ascii_ids(text: str) -> list[int]:
    """Row ids of the words of ASCII text in order (what `embed_text` sums); empty without a model."""
    model = _model if _model is not None else _load()
    return model._ascii_ids(text) if model is not None else []


def embed_rows(rows: np.ndarray) -> np.ndarray:
    """`embed_text` of a text whose words have these row ids (from `ascii_ids`), in order."""
    model = _model if _model is not None else _load()
    return model.embed_rows(rows) if model is not None else _EMPTY


def embed_text(text: str) -> np.ndarray:
    """Unit-length float16 embedding of `text`, or an empty array when no model is installed.

    Also empty when `text` has no word the table can embed (empty or punctuation-only text): an empty
    vector means "no embedding evidence".
    """
    model = _model if _model is not None else _load()
    if model is None:
        return _EMPTY
    return model.embed(text)
