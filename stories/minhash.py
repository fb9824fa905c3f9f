"""MinHash signatures and LSH band keys for near-duplicate copies.

Our own ~30 lines instead of datasketch's MinHash/MinHashLSH: band keys are persisted in the
database, so they must not change when a library changes its hashing scheme (datasketch 2.0
did), and the in-memory MinHashLSH (~8 KB per document) is not the index we keep anyway.
Multiply-shift hashing (a*x + b mod 2^64, top 32 bits, a odd) is a standard universal family
and vectorizes in numpy with plain uint64 wrap-around.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection

import numpy as np

_BLOCK = 2048  # shingles hashed at once (a 2 MB buffer per thread); long texts take several blocks
_HALF = np.uint64(32)
_SEED = 20241105  # fixed: signatures and band keys must be identical in every run


class MinHasher:
    def __init__(self, num_perm: int = 128, bands: int = 32) -> None:
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.num_perm = num_perm
        self.bands = bands
        self.rows = num_perm // bands
        rng = np.random.default_rng(_SEED)
        self._a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
        self._local = threading.local()

    def signature(self, shingle_hashes: Collection[int]) -> np.ndarray:
        """uint32 signature; all-ones for an empty set (matches nothing real)."""
        if not len(shingle_hashes):
            return np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint32)
        if isinstance(shingle_hashes, np.ndarray):
            x = shingle_hashes.astype(np.uint64, copy=False)
        else:
            x = np.fromiter(shingle_hashes, dtype=np.uint64, count=len(shingle_hashes))
        # (a*x + b) >> 32 minimised over x: the shift is monotone, so shifting the minima gives the same
        # values as minimising the shifted ones, at 1/n of the cost. The products go to a buffer kept per
        # thread (numpy drops the GIL inside ufuncs), a block of rows at a time: a fresh (n, num_perm) array
        # per article is mapped and page-faulted every time, which cost more than the arithmetic.
        buf = getattr(self._local, "buf", None)
        if buf is None:
            buf = self._local.buf = np.empty((_BLOCK, self.num_perm), np.uint64)
        low = None
        for start in range(0, len(x), _BLOCK):
            block = x[start : start + _BLOCK]
            h = buf[: len(block)]
            np.multiply(block[:, None], self._a, out=h)
            h += self._b
            m = h.min(axis=0)
            low = m if low is None else np.minimum(low, m, out=low)
        low >>= _HALF
        return low.astype(np.uint32)

    def band_keys(self, sig: np.ndarray) -> list[int]:
        """One signed 64-bit key per band (fits an SQLite INTEGER); the band number is hashed in
        so equal rows in different bands don't collide."""
        keys = []
        raw = sig.astype("<u4").tobytes()
        step = self.rows * 4
        for band in range(self.bands):
            h = hashlib.blake2b(raw[band * step : (band + 1) * step], digest_size=8, salt=band.to_bytes(16))
            keys.append(int.from_bytes(h.digest(), "little", signed=True))
        return keys

    @staticmethod
    def to_bytes(sig: np.ndarray) -> bytes:
        return sig.astype("<u4").tobytes()

    @staticmethod
    def from_bytes(data: bytes) -> np.ndarray:
        return np.frombuffer(data, dtype="<u4")
