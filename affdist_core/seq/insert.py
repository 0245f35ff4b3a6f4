"""The insertion rule: where a query sequence goes in a model-input window (marginalization, typed
sequences on the SHAP page, variant scoring all use it).

A ``k``-bp query replaces positions ``[s, s + k)`` of an ``L``-bp window, ``s = (L - k) // 2`` (for odd
``L - k`` the extra base is on the right).
"""

from __future__ import annotations

import numpy as np

from affdist_core.seq.alphabet import validate_onehot


def centre_start(seq_len: int, length: int) -> int:
    """0-based start of a ``length``-bp insert centred in a ``seq_len``-bp window: ``(seq_len - length) // 2``."""
    if not 1 <= length <= seq_len:
        raise ValueError(f"length: expected 1..{seq_len} (the model input length), got {length}")
    return (seq_len - length) // 2


def insert_centre(backgrounds: np.ndarray, query_onehot: np.ndarray) -> np.ndarray:
    """Copies of ``backgrounds`` (N, L, 4) with ``query_onehot`` (k, 4) written over positions
    ``[s, s + k)``, ``s = centre_start(L, k)``. Returns (N, L, 4) float32 (the input is not modified)."""
    bg = validate_onehot(backgrounds, "backgrounds")
    q = np.asarray(query_onehot, dtype=np.float32)
    if q.ndim != 2 or q.shape[1] != 4 or not 1 <= q.shape[0] <= bg.shape[1]:
        raise ValueError(f"query_onehot: expected shape (k, 4) with 1 <= k <= {bg.shape[1]}, got {q.shape}")
    start = centre_start(bg.shape[1], q.shape[0])
    out = np.array(bg, dtype=np.float32, copy=True)
    out[:, start : start + q.shape[0]] = q
    return out
