"""Hamming balls of 2-bit packed words (:mod:`affdist_core.seq.kmers`), for the Weeder re-implementation.

The Hamming distance of packed words is ``popcount((x | x >> 1) & 0x5555…)`` with ``x = a ^ b``, and the
e-neighbourhood ``B(m)`` of a k-mer ``m`` is ``{m ^ p}`` for the precomputed XOR patterns ``p`` with at most e
non-zero 2-bit groups (:func:`mismatch_patterns`; 19 for (6, 1), 277 for (8, 2), 3,676 for (10, 3)). On a
frequency table ``f`` over the 4**k words, :func:`window_probability` is the exact probability that a window
lies in ``B(m) ∪ B(rc m)`` (palindromes are not counted twice).
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import combinations, product

import numba
import numpy as np

from affdist_core.baselines.weeder_background import MAX_LENGTH
from affdist_core.seq.kmers import reverse_complement_word

__all__ = [
    "MAX_NEIGHBOURHOOD",
    "check_length_mismatches",
    "hamming",
    "hamming_distance",
    "mismatch_patterns",
    "neighbourhood_size",
    "neighbourhood_sum",
    "window_probability",
]

MAX_NEIGHBOURHOOD = 50_000
"""Largest allowed Hamming-ball size Σ_{d<=e} C(L, d) 3**d (46,666 for (12, 4))."""


@numba.njit(cache=True)
def hamming(a: int, b: int) -> int:
    """Number of differing bases of two packed words: popcount of ((x | x >> 1) & 0x5555…), x = a ^ b."""
    x = a ^ b
    x = (x | (x >> 1)) & 0x5555555555555555
    n = 0
    while x:
        x &= x - 1
        n += 1
    return n


@numba.njit(cache=True)
def _hamming_many(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty(a.size, dtype=np.int64)
    for i in range(a.size):
        out[i] = hamming(a[i], b[i])
    return out


def hamming_distance(a, b) -> np.ndarray:
    """Element-wise Hamming distance (mismatching bases) of packed words of equal length; int64 array."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
    return _hamming_many(a.ravel().copy(), b.ravel().copy()).reshape(a.shape)


def neighbourhood_size(k: int, e: int) -> int:
    """Number of k-mers within Hamming distance e of a k-mer: Σ_{d<=e} C(k, d) 3**d."""
    return sum(math.comb(k, d) * 3**d for d in range(e + 1))


@lru_cache(maxsize=16)
def _patterns(k: int, e: int) -> np.ndarray:
    out = []
    for d in range(e + 1):
        for positions in combinations(range(k), d):
            shifts = [2 * (k - 1 - p) for p in positions]
            for values in product((1, 2, 3), repeat=d):
                out.append(sum(v << s for v, s in zip(values, shifts)))
    arr = np.array(sorted(out), dtype=np.int64)
    arr.setflags(write=False)
    return arr


def mismatch_patterns(k: int, e: int) -> np.ndarray:
    """XOR patterns of the Hamming ball: ``{m ^ p}`` are the k-mers within e mismatches of ``m``.

    Returns a sorted read-only (neighbourhood_size(k, e),) int64 array (pattern 0 = the word itself).
    """
    check_length_mismatches(k, e, "k, e")
    return _patterns(k, e)


@numba.njit(cache=True)
def _ball_sums(words: np.ndarray, patterns: np.ndarray, f: np.ndarray) -> np.ndarray:
    out = np.empty(words.size, dtype=np.float64)
    for i in range(words.size):
        s = 0.0
        for p in patterns:
            s += f[words[i] ^ p]
        out[i] = s
    return out


def neighbourhood_sum(f: np.ndarray, words, k: int, e: int) -> np.ndarray:
    """Σ of ``f`` over the words within e mismatches of each packed word (one strand): shape of ``words``."""
    f = np.asarray(f, dtype=np.float64)
    if f.shape != (4**k,):
        raise ValueError(f"f: expected shape ({4**k},) for k={k}, got {f.shape}")
    arr = np.asarray(words, dtype=np.int64)
    return _ball_sums(arr.ravel().copy(), mismatch_patterns(k, e), f).reshape(arr.shape)


@numba.njit(cache=True)
def window_probability(words: np.ndarray, k: int, e: int, patterns: np.ndarray, f: np.ndarray) -> np.ndarray:
    """P(a random window lies in B(m) ∪ B(rc m)) for each consensus m (exact union)."""
    out = np.empty(words.size, dtype=np.float64)
    for i in range(words.size):
        m = words[i]
        r = reverse_complement_word(m, k)
        fwd = 0.0
        rev = 0.0
        both = 0.0
        for p in patterns:
            w = m ^ p
            fw = f[w]
            fwd += fw
            rev += f[r ^ p]
            if hamming(w, r) <= e:
                both += fw
        out[i] = min(1.0, fwd + rev - both)
    return out


def check_length_mismatches(k: int, e: int, what: str) -> tuple[int, int]:
    """``(k, e)`` as ints when 1 <= k <= MAX_LENGTH, 0 <= e < k and the ball has <= MAX_NEIGHBOURHOOD words;
    otherwise ValueError naming ``what``."""
    ok_int = (lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)))
    if not (ok_int(k) and ok_int(e)):
        raise ValueError(f"{what}: expected integer (length, mismatches), got ({k!r}, {e!r})")
    if not 1 <= k <= MAX_LENGTH:
        raise ValueError(f"{what}: oligo length {k} outside 1..{MAX_LENGTH}; Weeder uses lengths 6, 8, 10")
    if not 0 <= e < k:
        raise ValueError(f"{what}: mismatches {e} for length {k} must satisfy 0 <= mismatches < length; "
                         "Weeder uses (6, 1), (8, 2), (10, 3)")
    size = neighbourhood_size(k, e)
    if size > MAX_NEIGHBOURHOOD:
        raise ValueError(f"{what}: ({k}, {e}) has {size} neighbours per oligo (> {MAX_NEIGHBOURHOOD}); "
                         "use fewer mismatches, e.g. Weeder's (6, 1), (8, 2), (10, 3)")
    return int(k), int(e)
