"""Exact, uniform dinucleotide shuffle (Altschul & Erickson 1985; Kandel et al. 1996).

A numba kernel (measured speed: docs/experiments.md, "dinucleotide shuffle"); the first call in a fresh
environment also pays the numba compilation, cached on disk afterwards (``cache=True``).

Method. Write the sequence ``s_0 … s_{L-1}`` as a directed multigraph on its symbols with one *labelled*
edge ``s_i → s_{i+1}`` per adjacent pair (L-1 edges). Every sequence with the same dinucleotide counts and
the same first symbol is an Eulerian trail of this graph from ``s_0`` (it necessarily ends at ``s_{L-1}``).
Per shuffle:

1. draw a uniformly random spanning arborescence directed toward the last symbol ``t`` whose edges are the
   "last exit" edges of every other vertex. Wilson's algorithm (loop-erased random walk in which every step
   picks one of the current vertex's labelled out-edges uniformly) samples arborescences with probability
   proportional to the product of their edge weights, i.e. uniformly over *labelled* arborescences;
2. at each vertex put the last-exit edge last and permute the remaining out-edges uniformly (all of them
   at ``t``, which has no last-exit edge);
3. walk from ``s_0``, leaving each vertex by its next unused out-edge.

Why uniform: by the BEST theorem, (arborescence, orderings of the non-tree out-edges at each vertex) is in
bijection with the labelled Eulerian trails from ``s_0``, and every arborescence admits the same number of
orderings, ``deg(t)! · Π_{v≠t} (deg(v)-1)!``. So step 1-2 pick a labelled trail uniformly. A distinct
*sequence* corresponds to exactly ``Π_{u,v} m_uv!`` labelled trails (permute the labels of the ``m_uv``
parallel ``u → v`` edges), the same for every sequence, so each distinct sequence is equally likely.

The walk cannot get stuck when the arborescence is correct (every vertex's last-exit edge is used only after
all its other out-edges); the kernel asserts it anyway.

Symbols are arbitrary integer codes (:mod:`affdist_core.seq.alphabet`: A,C,G,T = 0..3, N = 4); ``N`` is just
another symbol, so its position pairs (e.g. ``AN``, ``NN``) are preserved like any other dinucleotide.
"""

from __future__ import annotations

import numba
import numpy as np

from affdist_core.common.checks import check_int
from affdist_core.common.rng import RandomState, resolve_rng
from affdist_core.seq.alphabet import N_CODE, one_hot, validate_onehot

__all__ = [
    "dinucleotide_shuffle",
    "dinucleotide_shuffle_codes",
    "dinucleotide_shuffle_one_hot",
    "shuffle_batch_one_hot",
]


@numba.njit(cache=True)
def _out_edges(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-degree (k,), CSR offsets (k+1,) and edge targets (L-1,) grouped by source symbol."""
    n_edges = codes.size - 1
    deg = np.zeros(k, dtype=np.int64)
    for i in range(n_edges):
        deg[codes[i]] += 1
    start = np.zeros(k + 1, dtype=np.int64)
    for v in range(k):
        start[v + 1] = start[v] + deg[v]
    fill = start[:k].copy()
    targets = np.empty(n_edges, dtype=np.uint8)
    for i in range(n_edges):
        targets[fill[codes[i]]] = codes[i + 1]
        fill[codes[i]] += 1
    return deg, start, targets


@numba.njit(cache=True)
def _wilson_last_exits(
    deg: np.ndarray, start: np.ndarray, targets: np.ndarray, root: int, gen: np.random.Generator
) -> np.ndarray:
    """Uniform labelled arborescence toward ``root``: for each vertex, the index into ``targets`` of its
    last-exit edge (-1 for the root and for symbols without out-edges)."""
    k = deg.size
    exit_edge = np.full(k, -1, dtype=np.int64)
    in_tree = np.zeros(k, dtype=np.bool_)
    in_tree[root] = True
    for v in range(k):
        if deg[v] == 0 or in_tree[v]:
            continue
        u = v
        while not in_tree[u]:  # random walk; overwriting exit_edge[u] erases loops
            assert deg[u] > 0, "non-root vertex without out-edges"
            exit_edge[u] = start[u] + gen.integers(0, deg[u])
            u = targets[exit_edge[u]]
        u = v
        while not in_tree[u]:  # retrace the loop-erased path into the tree
            in_tree[u] = True
            u = targets[exit_edge[u]]
    return exit_edge


@numba.njit(cache=True)
def _order_out_edges(
    deg: np.ndarray, start: np.ndarray, targets: np.ndarray, exit_edge: np.ndarray, gen: np.random.Generator
) -> None:
    """In place: move each vertex's last-exit edge to the end of its block, uniformly permute the rest."""
    for v in range(deg.size):
        lo = start[v]
        n_free = deg[v]
        if exit_edge[v] >= 0:
            hi = lo + deg[v] - 1
            targets[exit_edge[v]], targets[hi] = targets[hi], targets[exit_edge[v]]
            n_free -= 1
        for j in range(n_free - 1, 0, -1):  # Fisher-Yates on targets[lo : lo + n_free]
            r = gen.integers(0, j + 1)
            targets[lo + j], targets[lo + r] = targets[lo + r], targets[lo + j]


@numba.njit(cache=True)
def _walk(deg: np.ndarray, start: np.ndarray, targets: np.ndarray, first: int, last: int, out: np.ndarray) -> None:
    """Eulerian walk from ``first`` taking out-edges in block order; writes the L symbols into ``out``."""
    used = np.zeros(deg.size, dtype=np.int64)
    u = first
    out[0] = u
    for i in range(1, out.size):
        assert used[u] < deg[u], "Eulerian walk got stuck"
        nxt = targets[start[u] + used[u]]
        used[u] += 1
        u = nxt
        out[i] = u
    assert u == last, "Eulerian walk ended on the wrong symbol"


@numba.njit(cache=True)
def _shuffle_kernel(codes: np.ndarray, n_shuffles: int, gen: np.random.Generator) -> np.ndarray:
    """(L,) uint8 codes, L >= 3 → (n_shuffles, L) uint8 dinucleotide shuffles."""
    length = codes.size
    k = int(codes.max()) + 1
    deg, start, base_targets = _out_edges(codes, k)
    first = int(codes[0])
    last = int(codes[length - 1])
    out = np.empty((n_shuffles, length), dtype=np.uint8)
    targets = base_targets.copy()
    for s in range(n_shuffles):
        targets[:] = base_targets
        exit_edge = _wilson_last_exits(deg, start, targets, last, gen)
        _order_out_edges(deg, start, targets, exit_edge, gen)
        _walk(deg, start, targets, first, last, out[s])
    return out


def _check_n_shuffles(n_shuffles: int) -> int:
    return check_int("n_shuffles", n_shuffles, 1)


def _as_codes(codes: np.ndarray) -> np.ndarray:
    """Validate 1-D non-negative integer codes < 256 and return them as contiguous uint8."""
    arr = np.asarray(codes)
    if arr.ndim != 1:
        raise ValueError(f"codes: expected a 1-D array of integer codes, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"codes: expected integer codes, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ValueError(f"codes: values must lie in 0..255, got range {arr.min()}..{arr.max()}")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def dinucleotide_shuffle_codes(
    codes: np.ndarray, n_shuffles: int, random_state: RandomState = None
) -> np.ndarray:
    """Uniform dinucleotide shuffles of integer codes.

    Args:
        codes: (L,) integer codes in 0..255 (:func:`~affdist_core.seq.alphabet.encode` gives A,C,G,T = 0..3,
            N = 4).
        n_shuffles: number of shuffles, >= 1.
        random_state: seed, Generator (advanced in place) or None.

    Returns:
        (n_shuffles, L) uint8. Every row has exactly the adjacent-pair counts of ``codes`` and the same first
        and last symbol, and is drawn uniformly among all such sequences (independently per row, so rows may
        repeat). Sequences with L <= 2 admit a single ordering and are returned as copies.
    """
    n_shuffles = _check_n_shuffles(n_shuffles)
    arr = _as_codes(codes)
    rng = resolve_rng(random_state)
    if arr.size <= 2:
        return np.tile(arr, (n_shuffles, 1))
    return _shuffle_kernel(arr, n_shuffles, rng)


def dinucleotide_shuffle(seq: str, n_shuffles: int = 1, random_state: RandomState = None) -> list[str]:
    """Uniform dinucleotide shuffles of an ASCII string.

    Every character is its own symbol (case, ``N`` and IUPAC codes are kept exactly as given), so the
    counts of every adjacent character pair and the first and last character are preserved.

    Returns:
        ``n_shuffles`` strings of length ``len(seq)``.
    """
    try:
        raw = np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError as err:
        raise ValueError(f"seq: expected an ASCII string, got a non-ASCII character at {err.start}") from err
    symbols, codes = np.unique(raw, return_inverse=True)
    shuffled = symbols[dinucleotide_shuffle_codes(codes, n_shuffles, random_state)]
    return [row.tobytes().decode("ascii") for row in shuffled]


def _codes_from_one_hot(x: np.ndarray, what: str) -> np.ndarray:
    """(L, 4) one-hot with all-zero rows for N → (L,) uint8 codes (N = 4)."""
    arr = np.asarray(x)
    validate_onehot(arr, what, ndim=2)
    if not np.all((arr == 0) | (arr == 1)) or np.any(arr.sum(axis=1) > 1):
        raise ValueError(f"{what}: expected 0/1 entries with at most one 1 per row (all-zero row = N)")
    return np.where(arr.any(axis=1), arr.argmax(axis=1), N_CODE).astype(np.uint8)


def dinucleotide_shuffle_one_hot(x: np.ndarray, n_shuffles: int, random_state: RandomState = None) -> np.ndarray:
    """Uniform dinucleotide shuffles of one one-hot sequence.

    Args:
        x: (L, 4) one-hot, ACGT order; all-zero rows are N and are shuffled as a fifth symbol.
        n_shuffles: number of shuffles, >= 1.
        random_state: seed, Generator (advanced in place) or None.

    Returns:
        (n_shuffles, L, 4) float32.
    """
    codes = _codes_from_one_hot(x, "x")
    return one_hot(dinucleotide_shuffle_codes(codes, n_shuffles, random_state))


def shuffle_batch_one_hot(x: np.ndarray, n_shuffles: int, random_state: RandomState = None) -> np.ndarray:
    """Uniform dinucleotide shuffles of a batch of one-hot sequences.

    Args:
        x: (n, L, 4) one-hot, ACGT order, all-zero rows = N.
        n_shuffles: shuffles per sequence, >= 1.
        random_state: seed, Generator (advanced in place) or None; one stream is used for the whole batch.

    Returns:
        (n, n_shuffles, L, 4) float32 (n · n_shuffles · L · 16 bytes: mind memory for large batches).
    """
    n_shuffles = _check_n_shuffles(n_shuffles)
    arr = np.asarray(x)
    validate_onehot(arr, "x")
    rng = resolve_rng(random_state)
    out = np.empty((arr.shape[0], n_shuffles, arr.shape[1], 4), dtype=np.float32)
    for i in range(arr.shape[0]):
        out[i] = dinucleotide_shuffle_one_hot(arr[i], n_shuffles, rng)
    return out
