"""DNA sequences as strings, integer codes and one-hot arrays.

Conventions used across the package:

* Alphabet order is ``ACGT``; one-hot arrays have shape ``(L, 4)`` (or ``(n, L, 4)``), dtype float32.
* ``N`` (or any IUPAC ambiguity code) is encoded as an all-zero one-hot row (integer code 4), as BPNet does:
  the model sees "no base" there rather than a uniform guess.
* Reverse complement of a one-hot array reverses both axes (``x[::-1, ::-1]``), because ``ACGT`` reversed is
  ``TGCA``, the complement order.
"""

from __future__ import annotations

import numpy as np

ALPHABET = "ACGT"
N_CODE = 4
_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
_CODE_OF_BYTE = np.full(256, N_CODE, dtype=np.uint8)
for _i, _b in enumerate(ALPHABET):
    _CODE_OF_BYTE[ord(_b)] = _i
    _CODE_OF_BYTE[ord(_b.lower())] = _i
ONE_HOT_TABLE = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])
"""(5, 4) float32: row ``c`` is the one-hot row of integer code ``c`` (code 4 = N → all zeros). Index it with
codes (``ONE_HOT_TABLE[codes]``) to one-hot encode; the one table of the package."""


def encode(seq: str) -> np.ndarray:
    """Integer codes of ``seq``: shape (L,), uint8, A=0 C=1 G=2 T=3, anything else 4 (N). Case-insensitive."""
    return _CODE_OF_BYTE[np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)]


def decode(codes: np.ndarray) -> str:
    """Inverse of :func:`encode`: integer codes (L,) → upper-case string, code 4 → ``N``."""
    return "".join(np.array(list(ALPHABET + "N"))[np.asarray(codes, dtype=np.intp)])


def one_hot(seq: str | np.ndarray) -> np.ndarray:
    """One-hot encode a string or integer codes: returns (L, 4) float32, N rows all zero."""
    codes = encode(seq) if isinstance(seq, str) else np.asarray(seq)
    return ONE_HOT_TABLE[codes]


def validate_onehot(x, what: str, ndim: int = 3) -> np.ndarray:
    """``x`` as a float32 one-hot array of shape ``(n, L, 4)`` (``ndim=3``) or ``(L, 4)`` (``ndim=2``) with
    ``L >= 1``; raises ``ValueError`` naming ``what`` and the shape otherwise. Values are not checked (soft
    one-hot inputs, e.g. DeepSHAP references, are allowed)."""
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != ndim or arr.shape[-1] != 4 or arr.shape[-2] < 1:
        shape = "(n, seq_len, 4)" if ndim == 3 else "(seq_len, 4)"
        raise ValueError(f"{what}: expected a one-hot array of shape {shape}, got shape {np.shape(x)}")
    return arr


def one_hot_batch(seqs: list[str]) -> np.ndarray:
    """One-hot encode equal-length strings: returns (n, L, 4) float32."""
    lengths = {len(s) for s in seqs}
    if len(lengths) > 1:
        raise ValueError(f"seqs: all sequences must have the same length, got lengths {sorted(lengths)}")
    if not seqs:
        return np.zeros((0, 0, 4), dtype=np.float32)
    return ONE_HOT_TABLE[np.stack([encode(s) for s in seqs])]


def from_one_hot(x: np.ndarray) -> str:
    """(L, 4) one-hot → string; all-zero rows become ``N``."""
    x = np.asarray(x)
    codes = np.where(x.sum(axis=-1) > 0, x.argmax(axis=-1), N_CODE)
    return decode(codes)


def reverse_complement(seq: str) -> str:
    """Reverse complement of a DNA string (case kept, N stays N)."""
    return seq.translate(_COMPLEMENT)[::-1]


def reverse_complement_one_hot(x: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot arrays, shape (..., L, 4): reverses positions and the ACGT axis."""
    return np.asarray(x)[..., ::-1, ::-1]


def invalid_positions(seq: str) -> list[int]:
    """0-based positions of characters other than A, C, G, T (upper case)."""
    codes = encode(seq.upper())
    return np.flatnonzero(codes == N_CODE).tolist()


def validate_acgt(seq: str, what: str = "sequence") -> str:
    """Return ``seq`` upper-cased; raise ValueError naming ``what`` and the first bad positions otherwise."""
    if not isinstance(seq, str) or not seq:
        raise ValueError(f"{what}: expected a non-empty DNA string of A/C/G/T, got {seq!r}")
    upper = seq.upper()
    bad = invalid_positions(upper)
    if bad:
        shown = ", ".join(f"{p + 1}:{upper[p]!r}" for p in bad[:5])
        raise ValueError(
            f"{what}: only A, C, G, T are allowed; found {len(bad)} other character(s) at "
            f"(1-based position:char) {shown}. Remove or replace them."
        )
    return upper


def gc_fraction(seq: str | np.ndarray) -> float:
    """Fraction of G+C among A/C/G/T bases (N excluded); nan if there are none."""
    codes = encode(seq) if isinstance(seq, str) else np.asarray(seq)
    valid = codes < N_CODE
    n = int(valid.sum())
    return float(np.isin(codes[valid], (1, 2)).sum() / n) if n else float("nan")


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of integer codes along the last axis (N=4 stays 4): same shape, uint8."""
    codes = np.asarray(codes)
    return np.where(codes == N_CODE, N_CODE, 3 - codes.astype(np.int16)).astype(np.uint8)[..., ::-1].copy()
