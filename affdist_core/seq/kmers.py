"""2-bit packing of k-mers into integers: the one packer of the project (Weeder, STREME, genomic matches).

A k-mer of base codes ``c_0 … c_{k-1}`` (A=0 C=1 G=2 T=3, :data:`affdist_core.seq.alphabet.ALPHABET`) packs to
the int64 ``Σ_j c_j · 4**(k-1-j)``: 2 bits per base, first base most significant, so the packed words of one
length sort like the strings. Code ``N_CODE`` (4; N and every other character) has no 2-bit code: :func:`pack`
refuses it and :func:`pack_windows` skips every window that contains it. ``k`` is at most :data:`MAX_K` = 31
(62 bits of a signed int64). The reverse complement of a packed word is ``~word`` on its 2k bits, read
backwards (:func:`reverse_complement_words`).
"""

from __future__ import annotations

import numbers

import numba
import numpy as np

from affdist_core.seq.alphabet import decode, encode, validate_acgt

__all__ = [
    "MAX_K",
    "check_k",
    "pack",
    "pack_windows",
    "pack_word",
    "reverse_complement_word",
    "reverse_complement_words",
    "unpack",
    "unpack_word",
]

MAX_K = 31
"""Longest k-mer that packs into an int64 (2 bits per base, sign bit unused)."""


def check_k(k: int, key: str = "k") -> int:
    """``k`` as an int if it is an integer in ``1..MAX_K``; otherwise ValueError naming ``key``."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= MAX_K:
        raise ValueError(f"{key}: expected a k-mer length in 1..{MAX_K} (2 bits per base in an int64), got {k!r}")
    return int(k)


def pack(codes: np.ndarray) -> np.ndarray:
    """Packed words of k-mers given as codes.

    Args:
        codes: (..., k) integer codes 0..3 (A, C, G, T), k ≤ :data:`MAX_K`; a code > 3 (N) is an error.

    Returns:
        (...) int64 packed words.
    """
    arr = np.asarray(codes)
    if arr.ndim == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"codes: expected a (..., k) integer array of base codes, got {arr.dtype} with shape "
                         f"{arr.shape}")
    k = check_k(arr.shape[-1], "codes.shape[-1]")
    if arr.size and (arr.min() < 0 or arr.max() > 3):
        raise ValueError("codes: expected base codes 0..3 (A, C, G, T); k-mers containing N cannot be packed, "
                         "drop them first (pack_windows skips them)")
    words = np.zeros(arr.shape[:-1], dtype=np.int64)
    for j in range(k):
        words = (words << 2) | arr[..., j].astype(np.int64)
    return words


def pack_word(word: str) -> int:
    """Packed word of an A/C/G/T string (any case; ValueError naming ``word`` for other characters)."""
    codes = encode(validate_acgt(word, "word"))
    check_k(codes.size, "len(word)")
    return int(pack(codes))


def unpack(words: np.ndarray, k: int) -> np.ndarray:
    """Inverse of :func:`pack`: (...) packed words → (..., k) uint8 codes."""
    k = check_k(k)
    shifts = 2 * np.arange(k - 1, -1, -1, dtype=np.int64)
    return ((np.asarray(words, dtype=np.int64)[..., None] >> shifts) & 3).astype(np.uint8)


def unpack_word(word: int, k: int) -> str:
    """Inverse of :func:`pack_word` for a word of length ``k``."""
    return decode(unpack(np.int64(word), k))


@numba.njit(cache=True)
def _pack_windows(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = max(codes.size - k + 1, 0)
    words = np.empty(n, dtype=np.int64)
    starts = np.empty(n, dtype=np.int64)
    mask = (1 << (2 * k)) - 1
    word = 0
    run = 0
    j = 0
    for i in range(codes.size):
        c = codes[i]
        if c > 3:
            run = 0
            word = 0
            continue
        word = ((word << 2) | c) & mask
        run += 1
        if run >= k:
            words[j] = word
            starts[j] = i - k + 1
            j += 1
    return words[:j], starts[:j]


def pack_windows(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Packed words of every k-bp window of a code array, skipping the windows that contain N.

    Args:
        codes: (L,) uint8 base codes (0..3 = A, C, G, T; anything > 3 is N), e.g. from
            :func:`~affdist_core.seq.alphabet.encode`.
        k: window length, 1..:data:`MAX_K`.

    Returns:
        ``(words, starts)``: (n,) int64 packed words of the N-free windows and their (n,) int64 0-based starts,
        in position order (n ≤ L − k + 1).
    """
    k = check_k(k)
    arr = np.asarray(codes)
    if arr.ndim != 1:
        raise ValueError(f"codes: expected a 1-D array of base codes, got shape {arr.shape}")
    return _pack_windows(np.ascontiguousarray(arr, dtype=np.uint8), k)


@numba.njit(cache=True)
def reverse_complement_word(word: int, k: int) -> int:
    """Reverse complement of one packed k-mer (a numba function: callable from compiled kernels too)."""
    w = word ^ ((1 << (2 * k)) - 1)
    out = 0
    for _ in range(k):
        out = (out << 2) | (w & 3)
        w >>= 2
    return out


@numba.njit(cache=True)
def _rc_words(words: np.ndarray, k: int) -> np.ndarray:
    out = np.empty(words.size, dtype=np.int64)
    for i in range(words.size):
        out[i] = reverse_complement_word(words[i], k)
    return out


def reverse_complement_words(words: np.ndarray, k: int) -> np.ndarray:
    """Reverse complements of packed k-mers: int64 array of the shape of ``words``."""
    k = check_k(k)
    arr = np.asarray(words, dtype=np.int64)
    return _rc_words(np.ascontiguousarray(arr.ravel()), k).reshape(arr.shape)
